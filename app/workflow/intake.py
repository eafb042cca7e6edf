"""People without email (issue 20, item 3): requests filed on their behalf, printed claim
codes, and passphrase recovery by codes.

A fund that takes requests by phone or at a table in a community centre meets people
with no email and no smartphone. Such a person exists with a handle only. An intake
volunteer (the `intake` role) or a treasurer files a request *for* them, saying how the
person wants to be reached (a phone call, in person, a trusted contact); those details
are encrypted like the story (`aid_request.contact`) and purged with it. An intake
volunteer sees only the requests they filed, and never the story once it is filed.

Later a treasurer can print a one-time **claim code** (never emailed): with it, the person
chooses a passphrase and signs in with their handle. They get ten recovery codes, shown
once (to print or copy), each of which resets a forgotten passphrase once: only their
SHA-256 is kept, as for the second factor's recovery codes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets

from flask_babel import gettext as _
from sqlmodel import select

from app.db import session_scope
from app.models import AidRequest, ClaimCode, Person, Role, iso, utcnow
from app.workflow import audit, inputs
from app.workflow.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

# How a person without email wants to be reached: one home for the choices.
REACH = ("phone", "in_person", "contact")
CONTACT_MAX = 300
CLAIM_DAYS = 30
RESET_CODES = 10
# A claim code is typed from paper: no 0/O, 1/I/L; 16 characters of 31 (about 79 bits).
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _normal(code: str) -> str:
    """A code as typed (spaces, dashes, lower case) in its stored spelling."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def may_file(actor: Person) -> bool:
    """Intake volunteers and treasurers file requests for others."""
    return actor.has(Role.intake) or actor.has(Role.treasurer)


def _require_filer(actor: Person) -> None:
    if not may_file(actor):
        raise Forbidden(_("only an intake volunteer or a treasurer may file a request for "
                          "someone else"))


def file_for(actor: Person, body: dict, *, today: dt.date | None = None) -> dict:
    """File a request on behalf of the person named by `body["handle"]`: an existing person
    without email, or a new one (created with that handle only). Return the request as the
    filer sees it: without the story."""
    from app.workflow import people, requests

    _require_filer(actor)
    handle = (body.get("handle") or "").strip()
    if not people.HANDLE.fullmatch(handle):
        raise InvalidInput(people.handle_rule(), field="handle")
    reach_by = inputs.choice(body.get("reach_by"), list(REACH), "reach_by")
    contact = (body.get("contact") or "").strip()
    if contact or reach_by != "in_person":  # a phone number or a contact is needed
        contact = inputs.text(contact, "contact", max_len=CONTACT_MAX)
    with session_scope() as session:
        person = session.exec(select(Person).where(Person.handle == handle)).first()
        if person is not None:
            session.expunge(person)
    if person is not None and (person.email is not None or not person.active):
        # someone with an email asks for themself; and a name is never a way in to
        # another person's account
        raise InvalidInput(_("handle: %(handle)s is taken by someone who signs in with an "
                             "email; choose another name", handle=handle), field="handle")
    # the request's own rules are checked before anyone is created
    requests.check_fields(body, today=today)
    if person is None:
        person = people.add_person(None, ["member"], handle=handle, actor_id=actor.id)
    made = requests.submit(actor, body, today=today,
                           behalf=(person, reach_by, contact or None))
    return filed_view(made)


def filed_view(item: dict) -> dict:
    """A request as its filer sees it: no story, no notes (issue 20: never a story after
    it is filed)."""
    keep = ("code", "status", "member", "amount", "category", "needed_by", "payout_method",
            "approved_amount", "paid_amount", "outstanding", "created_at", "updated_at",
            "filed_by", "reach_by", "contact")
    return {k: item.get(k) for k in keep}


def filed_by_me(actor: Person) -> list[dict]:
    """The requests `actor` filed for others, newest first, as the filer sees them."""
    from app.workflow import requests

    _require_filer(actor)
    with session_scope() as session:
        rows = session.exec(select(AidRequest).where(AidRequest.filed_by == actor.id)
                            .order_by(AidRequest.id.desc())).all()
        return [filed_view(requests.view(session, r, actor, approvals=[], notes=[],
                                         payments=[])) for r in rows]


def filed_one(actor: Person, code: str) -> dict:
    """One request `actor` filed, as the filer sees it; the same NotFound for any other."""
    from app.workflow import requests

    _require_filer(actor)
    with session_scope() as session:
        req = session.exec(select(AidRequest).where(AidRequest.code == code)).first()
        if req is None or req.filed_by != actor.id:
            raise NotFound(_("no request %(code)s", code=code))
        return filed_view(requests.view(session, req, actor, approvals=[], notes=[]))


# -- claim codes --------------------------------------------------------------------------

def new_claim_code(actor: Person | None, handle: str) -> dict:
    """A printed one-time code that gives the person `handle` (who has no email) an
    account, or a new passphrase; any earlier open code of theirs stops working.
    Treasurers only (`actor` None: the operator's command line). Return the code, the
    handle and until when it works."""
    if actor is not None and not actor.has(Role.treasurer):
        raise Forbidden(_("only a treasurer may print a code to claim an account"))
    code = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    now = utcnow()
    with session_scope() as session:
        person = session.exec(select(Person).where(Person.handle == (handle or "").strip())
                              ).first()
        if person is None or not person.active:
            raise NotFound(_("no person %(handle)s", handle=handle), field="handle")
        if person.email is not None:
            raise InvalidInput(_("handle: %(handle)s signs in with an email; claim codes are "
                                 "for people without one", handle=person.handle),
                               field="handle")
        for old in session.exec(select(ClaimCode).where(ClaimCode.person_id == person.id,
                                                        ClaimCode.used_at == None)):  # noqa: E711
            old.expires_at = min(_aware(old.expires_at), now)
        expires = now + dt.timedelta(days=CLAIM_DAYS)
        session.add(ClaimCode(person_id=person.id, code_sha256=_digest(code),
                              created_by=actor.id if actor else None, expires_at=expires))
        audit.record(session, actor.id if actor else None, "person.claim_code",
                     f"person:{person.id}", reset=person.password_hash is not None)
        handle = person.handle
    return {"code": "-".join(code[i:i + 4] for i in range(0, 16, 4)), "handle": handle,
            "expires_at": expires}


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _new_reset_codes() -> tuple[list[str], str]:
    codes = [f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}"
             for _ in range(RESET_CODES)]
    return codes, json.dumps([_digest(c) for c in codes])


def _forget_factor(person: Person) -> None:
    """A passphrase set without the old one (a claim code, a recovery code) cannot open a
    second factor wrapped under the old one (app/custody/factor.py): the factor is
    dropped, and set up again at the next sign-in if the person's roles need one."""
    person.totp_secret = person.totp_pending = None
    person.totp_wrapped = person.totp_hold = None
    person.totp_last_step, person.recovery_codes = None, None


def claim(code: str, passphrase: str) -> tuple[Person, list[str]]:
    """Trade a claim code for an account: the passphrase is set, the code dies, every
    earlier session ends; return the person and ten recovery codes (shown once)."""
    from app.workflow import people
    from app.workflow.sessions import end_all
    from app.workflow.tokens import revoke_all

    digest = _digest(_normal(code))
    with session_scope() as session:
        row = session.exec(select(ClaimCode).where(ClaimCode.code_sha256 == digest)).first()
        if row is None or row.used_at is not None or _aware(row.expires_at) <= utcnow():
            raise NotFound(_("code: this code is not right, or it was already used or has "
                             "expired; ask a treasurer for a new one"), field="code")
    password_hash = people.hash_password(passphrase)  # checked before the code is spent
    codes, hashed = _new_reset_codes()
    with session_scope() as session:
        row = session.get(ClaimCode, row.id, with_for_update=True)
        if row.used_at is not None:
            raise NotFound(_("code: this code is not right, or it was already used or has "
                             "expired; ask a treasurer for a new one"), field="code")
        row.used_at = utcnow()
        person = session.get(Person, row.person_id)
        person.password_hash, person.reset_codes = password_hash, hashed
        _forget_factor(person)
        audit.record(session, person.id, "person.claimed", f"person:{person.id}")
        revoke_all(session, person.id, "password change")
        session.flush()
        session.expunge(person)
    end_all(person.id)
    return person, codes


def reset_passphrase(handle: str, code: str, passphrase: str) -> Person:
    """A forgotten passphrase: the person's handle and one unused recovery code set a new
    one; the code is spent and every session ends. Unauthenticated (audited) otherwise."""
    from app.workflow import people
    from app.workflow.sessions import end_all

    password_hash = people.hash_password(passphrase)
    digest = _digest((code or "").strip().lower())
    with session_scope() as session:
        person = session.exec(select(Person).where(
            Person.handle == (handle or "").strip(), Person.email == None)).first()  # noqa: E711
        unused = json.loads(person.reset_codes or "[]") if person and person.active else []
        if digest in unused:
            unused.remove(digest)
            person.reset_codes, person.password_hash = json.dumps(unused), password_hash
            _forget_factor(person)
            audit.record(session, person.id, "auth.passphrase_reset", f"person:{person.id}",
                         left=len(unused))
            session.flush()
            session.expunge(person)
        else:
            person = None
    if person is None:
        with session_scope() as session:
            audit.record(session, None, "auth.failed", "", reset=True)
        raise Unauthenticated(_("the name or the recovery code is not right, or the code "
                                "was already used"))
    end_all(person.id)
    return person


def claim_sheet(info: dict) -> dict:
    """What the printed sheet shows: the code, the name to sign in with, where, until when."""
    from app.workflow.notify import base_url

    return {**info, "url": base_url() + "/claim", "expires": iso(info["expires_at"])}
