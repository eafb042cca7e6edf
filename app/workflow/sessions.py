"""Signing in and out, and the browser sessions the server can end.

A session cookie holds a random token; only its SHA-256 is stored (table web_session).
Signing out deletes the row, so a copied cookie is dead too; `end_all` ends every session
of a person at once (password change, account disabled).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from sqlmodel import delete, select

from app.db import session_scope
from app.models import Person, WebSession, utcnow
from app.workflow import audit
from app.workflow.errors import Unauthenticated

_hasher = PasswordHasher()
# Verifying against this keeps a wrong email as slow as a wrong password.
_DUMMY = _hasher.hash("carebooks-dummy-password")
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
            _hasher.verify(person.password_hash if person and person.password_hash else _DUMMY,
                           password or "")
            ok = person is not None and person.active and person.password_hash is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and _hasher.check_needs_rehash(person.password_hash):
            person.password_hash = _hasher.hash(password)
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


def setup_secret(person_id: int) -> str:
    """The secret offered to `person_id` at their first sign-in: made once and kept in
    their row, encrypted, until a right code turns it on (never in the cookie)."""
    with session_scope() as session:
        person = session.get(Person, person_id)
        if not person.totp_pending:
            person.totp_pending = new_totp_secret()
        return person.totp_pending


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


def confirm_totp(person_id: int, secret: str, code: str) -> list[str]:
    """Turn on the second factor once the app shows a right code; return recovery codes
    (shown once; only their SHA-256 is kept)."""
    import json

    step = _totp_step(secret, code, None)
    if step is None:
        raise Unauthenticated(_("that code is not right; check the time on your phone"))
    codes = [f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}"
             for _ in range(RECOVERY_CODES)]
    with session_scope() as session:
        person = session.get(Person, person_id)
        person.totp_secret, person.totp_last_step = secret, step
        person.totp_pending = None
        person.recovery_codes = json.dumps([_digest(c) for c in codes])
        audit.record(session, person_id, "auth.second_factor_on", f"person:{person_id}")
    return codes


def check_second_factor(person_id: int, code: str) -> None:
    """Accept a code from the app (each code once) or an unused recovery code."""
    import json

    with session_scope() as session:
        person = session.get(Person, person_id)
        if person is None or not person.totp_secret or not person.active:
            raise Unauthenticated(_("please sign in"))
        step = _totp_step(person.totp_secret, code, person.totp_last_step)
        if step is not None:
            person.totp_last_step = step
            return
        digest = _digest((code or "").strip().lower())
        unused = json.loads(person.recovery_codes or "[]")
        if digest in unused:
            unused.remove(digest)
            person.recovery_codes = json.dumps(unused)
            audit.record(session, person_id, "auth.recovery_code_used", f"person:{person_id}",
                         left=len(unused))
            return
    with session_scope() as session:  # after the first transaction ended cleanly
        audit.record(session, person_id, "auth.second_factor_failed", f"person:{person_id}")
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
        check_second_factor(person.id, code or "")
    with session_scope() as session:
        row = session.exec(select(WebSession).where(
            WebSession.token_sha256 == _digest(token))).first()
        row.authenticated_at = utcnow()


def change_password(person_id: int, current: str, new: str) -> None:
    """Change a password; every session and API token of that person ends, this one
    included."""
    from app.workflow import people
    from app.workflow.tokens import revoke_all

    with session_scope() as session:
        person = session.get(Person, person_id)
    check_password(login_of(person), current)
    digest = people.hash_password(new)
    with session_scope() as session:
        session.get(Person, person_id).password_hash = digest
        audit.record(session, person_id, "auth.password_changed", f"person:{person_id}")
        revoke_all(session, person_id, "password change")
    end_all(person_id)
