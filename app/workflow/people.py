"""People and their API tokens: add someone, give them a token, find who a token is."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from flask_babel import gettext as _
from sqlmodel import Session, select

from app.db import session_scope
from app.models import Person, Role
from app.workflow import audit
from app.workflow.errors import Conflict, InvalidInput, NotFound
from app.workflow.passwords import hash_password
from app.workflow.sessions import end_all

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}")


def _check_password(password: str) -> None:
    from app.workflow import passwords

    passwords.check(password)


HANDLE = re.compile(r"[A-Za-z0-9_.-]{2,30}")


def handle_rule() -> str:
    """What a handle may be, in the current language."""
    return _("handle: 2 to 30 letters, digits, dots, dashes or underscores")


def add_person(email: str | None, roles: list[str], *, password: str | None = None,
               handle: str | None = None, actor_id: int | None = None) -> Person:
    """Add a person with `roles`; the email must be new. Without an email the person is
    known by `handle` only (it is then required, and must be free): someone a request is
    filed for, who may later claim an account with a printed code (app/workflow/intake.py)."""
    email = (email or "").strip().lower() or None
    if email is None:
        if not handle or not HANDLE.fullmatch(handle):
            raise InvalidInput(handle_rule(), field="handle")
    elif not _EMAIL.fullmatch(email):
        raise InvalidInput(f"email: {email!r} is not an email address", field="email")
    bad = [r for r in roles if r not in Role.__members__]
    if bad or not roles:
        raise InvalidInput(f"role: {', '.join(bad) or 'none'}; use "
                           f"{', '.join(Role.__members__)}", field="role")
    if password is not None:
        _check_password(password)
    with session_scope() as session:
        if email and session.exec(select(Person).where(Person.email == email)).first():
            raise Conflict(f"email: {email} already has an account", field="email")
        if email is None:
            if session.exec(select(Person).where(Person.handle == handle)).first():
                raise Conflict(_("handle: %(handle)s is taken; choose another",
                                 handle=handle), field="handle")
            chosen = handle
        else:
            base = handle or email.split("@")[0][:20]
            taken = {p.handle for p in session.exec(select(Person).where(
                Person.handle.startswith(base)))}
            chosen, n = base, 1
            while chosen in taken:
                n += 1
                chosen = f"{base}{n}"
        person = Person(email=email, handle=chosen, roles=",".join(sorted(set(roles))),
                        password_hash=hash_password(password) if password else None)
        session.add(person)
        session.flush()
        audit.record(session, actor_id, "person.added", f"person:{person.id}",
                     roles=person.roles, email=email is not None)
    return person


def person_by_email(email: str) -> Person:
    """The person with `email`, or NotFound."""
    with session_scope() as session:
        person = session.exec(select(Person).where(Person.email == email.strip().lower())).first()
    if person is None:
        raise NotFound(f"no person with email {email}", field="email")
    return person


def create_token(email: str, scopes: list[str] | None = None, days: int | None = None) -> str:
    """A new API bearer token for `email` (app.workflow.tokens: scopes, expiry); only its
    SHA-256 is stored."""
    from app.workflow import tokens

    return tokens.create(person_by_email(email), scopes,
                         days=tokens.TOKEN_DAYS if days is None else days)


def person_for_token(token: str, session: Session | None = None) -> Person:
    """Who a live bearer token belongs to; Unauthenticated if it is unknown, revoked or
    expired. In the caller's `session` if given (the person comes back detached, loaded,
    whatever that transaction does next), else in one of its own."""
    from app.workflow import tokens

    if session is None:
        with session_scope() as own:
            return person_for_token(token, own)
    person, _tok = tokens.find(token, session)
    session.expunge(person)
    return person


INVITE_DAYS = 7
ROLES_RULE = "roles: choose member, treasurer, admin, auditor or intake"


def list_people(actor: Person, role: str = "", search: str = "") -> list[dict]:
    """Everyone with an account (admins only), by handle; narrowed to those holding `role`
    and to handles or emails containing `search` (any case). Each with whether the second
    factor is on and their last sign-in (from the audit log)."""
    from sqlmodel import func

    from app.models import AuditEvent

    _require_admin(actor)
    needle = search.strip().lstrip("@").casefold()
    with session_scope() as session:
        rows = session.exec(select(Person).order_by(Person.handle)).all()
        last = dict(session.exec(select(AuditEvent.actor_id, func.max(AuditEvent.at))
                                 .where(AuditEvent.action == "auth.signed_in")
                                 .group_by(AuditEvent.actor_id)).all())
    found = [{"id": p.id, "email": p.email, "handle": p.handle, "roles": p.roles.split(","),
              "active": p.active, "claimed": p.password_hash is not None,
              "second_factor": bool(p.totp_secret or p.totp_wrapped),
              "last_sign_in": last.get(p.id)} for p in rows]
    if role:
        found = [p for p in found if role in p["roles"]]
    if needle:
        found = [p for p in found if needle in p["handle"].casefold()
                 or needle in (p["email"] or "").casefold()]
    return found


def set_roles(actor: Person, person_id: int, roles: list[str], active: bool) -> str:
    """Change someone's roles or disable them (admins only; not their own admin role).
    Giving the treasurer or admin role waits for a second person when the fund has one
    (app.workflow.roles): "applied" or "pending"."""
    _require_admin(actor)
    bad = [r for r in roles if r not in Role.__members__]
    if bad or not roles:
        raise InvalidInput(ROLES_RULE, field="roles")
    if person_id == actor.id and (Role.admin not in roles or not active):
        raise InvalidInput("roles: you cannot remove your own admin role or disable yourself",
                           field="roles")
    from app.workflow import roles as power

    with session_scope() as session:
        person = session.get(Person, person_id)
        if person is None:
            raise NotFound("no such person")
        outcome = power.change(session, actor, person, roles, active)
    if not active:
        end_all(person_id)
    return outcome


def invite(actor: Person, email: str, roles: list[str]) -> str:
    """A one-time invitation token for `email` (admins only), valid for a week."""
    from app.models import Invitation, utcnow

    _require_admin(actor)
    email = (email or "").strip().lower()
    if not _EMAIL.fullmatch(email):
        raise InvalidInput(f"email: {email!r} is not an email address", field="email")
    if not roles or any(r not in Role.__members__ for r in roles):
        raise InvalidInput(ROLES_RULE, field="roles")
    token = secrets.token_urlsafe(32)
    with session_scope() as session:
        if session.exec(select(Person).where(Person.email == email)).first():
            raise Conflict(f"email: {email} already has an account", field="email")
        session.add(Invitation(token_sha256=hashlib.sha256(token.encode()).hexdigest(),
                               email=email, roles=",".join(sorted(set(roles))),
                               created_by=actor.id,
                               expires_at=utcnow() + dt.timedelta(days=INVITE_DAYS)))
        audit.record(session, actor.id, "invitation.created", "", roles=",".join(roles))
        from app.workflow.roles import announce
        announce(session, actor.id, "invitation", actor=actor.handle,
                 roles=",".join(sorted(set(roles))))
    return token


def invitation_for(token: str):
    """The open invitation behind `token`, or NotFound."""
    from app.models import Invitation, utcnow

    with session_scope() as session:
        inv = session.exec(select(Invitation).where(
            Invitation.token_sha256 == hashlib.sha256(token.encode()).hexdigest())).first()
    if inv is None or inv.used_at is not None or inv.expires_at < utcnow():
        raise NotFound(_("this invitation link is not valid any more; ask for a new one"))
    return inv


def open_invitation(token: str) -> str:
    """Trade the link's token for a new secret (kept in the visitor's session): the token
    in the link — and in any access log that saw it — works no more. NotFound if it is not
    an open invitation."""
    from app.models import Invitation

    inv = invitation_for(token)
    fresh = secrets.token_urlsafe(32)
    with session_scope() as session:
        row = session.get(Invitation, inv.id)
        if row.token_sha256 != inv.token_sha256:  # opened meanwhile by someone else
            raise NotFound(_("this invitation link is not valid any more; ask for a new one"))
        row.token_sha256 = hashlib.sha256(fresh.encode()).hexdigest()
        audit.record(session, None, "invitation.opened", f"invitation:{inv.id}")
    return fresh


def list_invitations(actor: Person) -> list[dict]:
    """The open invitations (admins only): whom, which roles, by whom, until when."""
    from app.models import Invitation, utcnow

    _require_admin(actor)
    with session_scope() as session:
        rows = session.exec(select(Invitation).where(Invitation.used_at == None)  # noqa: E711
                            .order_by(Invitation.id)).all()
        now = utcnow()
        out = []
        for inv in rows:
            expires = inv.expires_at if inv.expires_at.tzinfo else \
                inv.expires_at.replace(tzinfo=dt.UTC)
            if expires <= now:
                continue
            by = session.get(Person, inv.created_by)
            out.append({"id": inv.id, "email": inv.email, "roles": inv.roles.split(","),
                        "by": by.handle if by else "?", "expires_at": expires})
    return out


def revoke_invitation(actor: Person, invitation_id: int) -> None:
    """End an open invitation now (admins only); its link stops working."""
    from app.models import Invitation, utcnow

    _require_admin(actor)
    with session_scope() as session:
        inv = session.get(Invitation, invitation_id)
        if inv is None or inv.used_at is not None:
            raise NotFound(_("no such open invitation"))
        inv.expires_at = utcnow()
        audit.record(session, actor.id, "invitation.revoked", f"invitation:{inv.id}")


def accept_invitation(token: str, password: str, handle: str | None) -> Person:
    """Create the invited person's account with the password they chose; the link dies."""
    from app.models import Invitation, utcnow

    inv = invitation_for(token)
    _check_password(password)
    if handle is not None and not HANDLE.fullmatch(handle):
        raise InvalidInput(handle_rule(), field="handle")
    with session_scope() as session:
        row = session.get(Invitation, inv.id)
        if row.used_at is not None:
            raise NotFound("this invitation link is not valid any more; ask for a new one")
        row.used_at = utcnow()
    # the person starts as a member; the roles that give power go the way of any change of
    # roles (a second admin or treasurer confirms them when the fund has one)
    from app.workflow import roles as power

    wanted = inv.roles.split(",")
    person = add_person(inv.email, sorted(set(wanted) - power.GUARDED) or ["member"],
                        password=password, handle=handle, actor_id=inv.created_by)
    if power.GUARDED & set(wanted):
        with session_scope() as session:
            inviter = session.get(Person, inv.created_by)
            session.expunge(inviter)
            power.change(session, inviter, session.get(Person, person.id), wanted, True)
        with session_scope() as session:
            person = session.get(Person, person.id)
            session.expunge(person)
    return person


def _require_admin(actor: Person) -> None:
    from app.workflow.errors import Forbidden

    if not actor.has(Role.admin):
        raise Forbidden("only an admin may manage people")
