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
    """Check the password; return a new session token and the person, or Unauthenticated."""
    from app.workflow import people

    with session_scope() as session:
        person = session.exec(select(Person).where(
            Person.email == email.strip().lower())).first()
        try:
            _hasher.verify(person.password_hash if person and person.password_hash else _DUMMY,
                           password)
            ok = person is not None and person.active and person.password_hash is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            audit.record(session, person.id if person else None, "auth.failed", "",
                         known_email=person is not None)
            raise Unauthenticated(_("the email or the password is not right"))
        if _hasher.check_needs_rehash(person.password_hash):
            person.password_hash = people.hash_password(password)
        token = secrets.token_urlsafe(32)
        session.add(WebSession(token_sha256=_digest(token), person_id=person.id))
        audit.record(session, person.id, "auth.signed_in", f"person:{person.id}")
    return token, person


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
