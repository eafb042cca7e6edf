"""Signing in and out, and the browser sessions the server can end.

A session cookie holds a random token; only its SHA-256 is stored (table web_session).
Signing out deletes the row, so a copied cookie is dead too; `end_all` ends every session
of a person at once (password change, account disabled).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from sqlmodel import delete, select

from app.custody import factor
from app.db import session_scope
from app.models import Person, WebSession, utcnow
from app.workflow import audit
from app.workflow.errors import Unauthenticated
from app.workflow.passwords import dummy_hash, hash_password, hasher
IDLE_LIMIT = dt.timedelta(hours=12)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(email: str, password: str) -> tuple[str, Person]:
    """Password sign-in for someone who needs no second factor; a new session token."""
    person = check_password(email, password)
    return start_session(person.id), person


def person_for_session(token: str) -> tuple[Person, WebSession]:
    """The person a session token belongs to (Unauthenticated if ended or idle too long)."""
    now = utcnow()
    with session_scope() as session:
        row = session.exec(select(WebSession).where(
            WebSession.token_sha256 == _digest(token))).first()
        person = session.get(Person, row.person_id) if row else None
        if row is None or person is None or not person.active:
            raise Unauthenticated(_("please sign in"))
        if now - row.last_seen_at > IDLE_LIMIT:
            session.delete(row)
            raise Unauthenticated(_("your session ended; please sign in again"))
        if now - row.last_seen_at > dt.timedelta(minutes=1):
            row.last_seen_at = now
    return person, row


def sign_out(token: str) -> None:
    """End this session (the cookie, and any copy of it, stops working)."""
    with session_scope() as session:
        row = session.exec(select(WebSession).where(
            WebSession.token_sha256 == _digest(token))).first()
        if row is not None:
            audit.record(session, row.person_id, "auth.signed_out", f"person:{row.person_id}")
            session.delete(row)


def end_all(person_id: int) -> None:
    """End every session of a person."""
    with session_scope() as session:
        session.exec(delete(WebSession).where(WebSession.person_id == person_id))


# --- password check, second factor, recent sign-in ------------------------------------------

RECENT = dt.timedelta(minutes=15)
RECOVERY_CODES = 10


def check_password(login: str, password: str) -> Person:
    """The person whose email (or, for someone without email, handle) and password these
    are, or Unauthenticated (audited).

    For someone who needs a second factor this is only the first step. An email no
    database column can hold (a NUL, a lone surrogate) is an unknown email: PostgreSQL
    would refuse the lookup itself."""
    from app.workflow.inputs import has_surrogate

    wanted = (login or "").strip()
    by_email = "@" in wanted
    wanted = wanted.lower() if by_email else wanted
    storable = bool(wanted) and "\x00" not in wanted and not has_surrogate(wanted)
    with session_scope() as session:
        person = session.exec(select(Person).where(
            Person.email == wanted if by_email else Person.handle == wanted)).first() \
            if storable else None
        try:
            hasher().verify(person.password_hash if person and person.password_hash
                            else dummy_hash(), password or "")
            ok = person is not None and person.active and person.password_hash is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and hasher().check_needs_rehash(person.password_hash):
            person.password_hash = hasher().hash(password)
    if not ok:  # recorded in its own transaction: the refusal must not roll it back
        with session_scope() as session:
            audit.record(session, person.id if person else None, "auth.failed", "",
                         known_email=person is not None)
        if by_email or not wanted:
            raise Unauthenticated(_("the email or the password is not right"))
        raise Unauthenticated(_("the name or the passphrase is not right"))
    return person


def login_of(person: Person) -> str:
    """What `person` signs in with: their email, or their handle if they have none."""
    return person.email or person.handle


def start_session(person_id: int) -> str:
    """A new server-side session for a person who has passed every factor."""
    token = secrets.token_urlsafe(32)
    with session_scope() as session:
        session.add(WebSession(token_sha256=_digest(token), person_id=person_id))
        audit.record(session, person_id, "auth.signed_in", f"person:{person_id}")
    return token


def new_totp_secret() -> str:
    """A fresh base32 secret for an authenticator app."""
    import pyotp

    return pyotp.random_base32()


def totp_uri(secret: str, email: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads (typed or scanned)."""
    import pyotp

    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def _totp_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time-step `code` belongs to (now ±30 s), if it is newer than `last_step`."""
    import hmac
    import time

    import pyotp

    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // 30
    for step in (now - 1, now, now + 1):
        if (last_step is None or step > last_step) and \
                hmac.compare_digest(totp.at(step * 30), code):
            return step
    return None


def factor_ticket(person_id: int, password: str) -> str:
    """The password step passed: make the person's wrapping key from `password`, move a
    second-factor secret still under a fund key under it (the migration, locked or not),
    and hold the key for the code step. Returns the ticket for the visitor's cookie."""
    with session_scope() as session:   # Argon2 runs outside any write transaction
        person = session.get(Person, person_id)
        stored = (person.totp_wrapped, _pending_text(person))
    key = factor.key_for(password, *stored)
    with session_scope() as session:
        person = session.get(Person, person_id)
        _wrap_legacy(session, person, key)
        ticket, person.totp_hold = factor.hold(key, person.id)
    return ticket


def _pending_text(person: Person) -> str | None:
    pending = person.totp_pending
    return None if getattr(pending, "locked", False) else pending


def _readable_legacy(person: Person) -> str | None:
    """A secret still in `totp_secret` that this process can read (data key, or the
    custody key while unlocked); None when absent or sealed to a locked key."""
    secret = person.totp_secret
    return None if secret is None or getattr(secret, "locked", False) else secret


def _wrap_legacy(session, person: Person, key: factor.Key) -> None:
    secret = _readable_legacy(person)
    if secret is not None and person.totp_wrapped is None:
        person.totp_wrapped = factor.wrap(secret, key, person.id)
        person.totp_secret = None
        audit.record(session, person.id, "auth.second_factor_wrapped", f"person:{person.id}")


def _held(person: Person, ticket: str | None) -> factor.Key | None:
    return factor.release(person.totp_hold, ticket, person.id)


def setup_secret(person_id: int, ticket: str | None = None) -> str:
    """The secret offered to `person_id` at their first sign-in: made once and kept in
    their row (never in the cookie) until a right code turns it on; wrapped under the
    password's key held by `ticket` when there is one."""
    with session_scope() as session:
        person = session.get(Person, person_id)
        key = _held(person, ticket)
        pending = _pending_text(person)
        secret = None
        if factor.is_wrapped(pending):
            try:
                secret = factor.unwrap(pending, key, person.id, "person.totp_pending") \
                    if key else None
            except factor.FactorError:
                secret = None
        elif pending:
            secret = pending
        opened = secret is not None and factor.is_wrapped(pending)
        if secret is None:
            secret = new_totp_secret()
        if key is not None and not opened:
            person.totp_pending = factor.wrap(secret, key, person.id, "person.totp_pending")
        elif key is None and pending != secret:
            person.totp_pending = secret
        return secret
def keep_shown_once(token: str, codes: list[str]) -> None:
    """Hold the recovery codes in this session's row, encrypted, until they are shown."""
    import json

    with session_scope() as session:
        row = session.exec(select(WebSession).where(
            WebSession.token_sha256 == _digest(token))).first()
        if row is not None:
            row.shown_once = json.dumps(codes)


def take_shown_once(token: str) -> list[str] | None:
    """The recovery codes this session holds, removed as they are read (shown once)."""
    import json

    with session_scope() as session:
        row = session.exec(select(WebSession).where(
            WebSession.token_sha256 == _digest(token))).first()
        if row is None or not row.shown_once:
            return None
        codes, row.shown_once = json.loads(row.shown_once), None
    return codes


def confirm_totp(person_id: int, secret: str, code: str, *, ticket: str | None = None,
                 password: str | None = None) -> list[str]:
    """Turn on the second factor once the app shows a right code; return recovery codes
    (shown once; only their SHA-256 is kept). The secret is kept wrapped under the
    password's key (held by `ticket`, or made from `password`)."""
    import json

    step = _totp_step(secret, code, None)
    if step is None:
        raise Unauthenticated(_("that code is not right; check the time on your phone"))
    codes = [f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}"
             for _ in range(RECOVERY_CODES)]
    made = factor.derive(password) if password is not None else None
    with session_scope() as session:
        person = session.get(Person, person_id)
        key = made or _held(person, ticket)
        if key is None:
            raise Unauthenticated(_("please sign in again"))
        person.totp_wrapped, person.totp_secret = factor.wrap(secret, key, person.id), None
        person.totp_last_step, person.totp_pending, person.totp_hold = step, None, None
        person.recovery_codes = json.dumps([_digest(c) for c in codes])
        audit.record(session, person_id, "auth.second_factor_on", f"person:{person_id}")
    return codes


def _secret(person: Person, key: factor.Key | None) -> str | None:
    """The person's TOTP secret, readable with `key` (or still under a fund key)."""
    if person.totp_wrapped is not None:
        if key is None:
            return None
        try:
            return factor.unwrap(person.totp_wrapped, key, person.id)
        except factor.FactorError:
            return None
    return _readable_legacy(person)


def check_second_factor(person_id: int, code: str, ticket: str | None = None, *,
                        key: factor.Key | None = None) -> None:
    """Accept a code from the app (each code once) or an unused recovery code. The app's
    secret is opened with the password's key: `key`, or the one `ticket` holds."""
    import json

    sealed_away = False
    with session_scope() as session:
        person = session.get(Person, person_id)
        if person is None or not person.has_second_factor or not person.active:
            raise Unauthenticated(_("please sign in"))
        key = key or _held(person, ticket)
        secret = _secret(person, key)
        sealed_away = secret is None and person.totp_wrapped is None
        step = _totp_step(secret, code, person.totp_last_step) if secret else None
        if step is not None:
            person.totp_last_step, person.totp_hold = step, None
            if key is not None:
                _wrap_legacy(session, person, key)
            return
        digest = _digest((code or "").strip().lower())
        unused = json.loads(person.recovery_codes or "[]")
        if digest in unused:
            unused.remove(digest)
            person.recovery_codes, person.totp_hold = json.dumps(unused), None
            audit.record(session, person_id, "auth.recovery_code_used", f"person:{person_id}",
                         left=len(unused))
            return
        if secret is None and not sealed_away:  # the held key is gone: start again
            raise Unauthenticated(_("please sign in again"))
    with session_scope() as session:  # after the first transaction ended cleanly
        audit.record(session, person_id, "auth.second_factor_failed", f"person:{person_id}")
    if sealed_away:
        raise Unauthenticated(_("your authenticator's secret is sealed to the fund's key "
                                "until your first sign-in while it is unlocked: type one of "
                                "your recovery codes, or ask two treasurers to unlock"))
    raise Unauthenticated(_("that code is not right, or it was already used"))


def is_recent(token: str) -> bool:
    """True if this session's person proved who they are in the last 15 minutes."""
    _person, row = person_for_session(token)
    return utcnow() - row.authenticated_at <= RECENT


def confirm_again(token: str, password: str, code: str | None) -> None:
    """Prove it is still you (password, and the code for treasurers and admins)."""
    person, _row = person_for_session(token)
    check_password(login_of(person), password)
    if person.needs_second_factor:
        key = factor.key_for(password, person.totp_wrapped)
        check_second_factor(person.id, code or "", key=key)
    with session_scope() as session:
        row = session.exec(select(WebSession).where(
            WebSession.token_sha256 == _digest(token))).first()
        row.authenticated_at = utcnow()


def change_password(person_id: int, current: str, new: str) -> None:
    """Change a password; every session and API token of that person ends, this one
    included."""
    from app.workflow.tokens import revoke_all

    with session_scope() as session:
        person = session.get(Person, person_id)
    check_password(login_of(person), current)
    digest = hash_password(new)
    # the second factor follows the password: opened with the old key, wrapped under the
    # new (both made before the write transaction: Argon2 takes a while)
    old_key = factor.key_for(current, person.totp_wrapped) if person.totp_wrapped else None
    new_key = factor.derive(new)
    with session_scope() as session:
        person = session.get(Person, person_id)
        person.password_hash = digest
        secret = _secret(person, old_key)
        if secret is not None:
            person.totp_wrapped = factor.wrap(secret, new_key, person.id)
            person.totp_secret = None
        person.totp_pending, person.totp_hold = None, None
        audit.record(session, person_id, "auth.password_changed", f"person:{person_id}")
        revoke_all(session, person_id, "password change")
    end_all(person_id)
