"""People and their API tokens: add someone, give them a token, find who a token is."""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from sqlmodel import select

from app.db import session_scope
from app.models import ApiToken, Person, Role
from app.workflow import audit
from app.workflow.errors import Conflict, InvalidInput, NotFound, Unauthenticated

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}")
_hasher = PasswordHasher()
PASSWORD_MIN, PASSWORD_MAX = 12, 128


def _check_password(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(f"password: {PASSWORD_MIN} to {PASSWORD_MAX} characters",
                           field="password")


def add_person(email: str, roles: list[str], *, password: str | None = None,
               handle: str | None = None, actor_id: int | None = None) -> Person:
    """Add a person with `roles`; the email must be new."""
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise InvalidInput(f"email: {email!r} is not an email address", field="email")
    bad = [r for r in roles if r not in Role.__members__]
    if bad or not roles:
        raise InvalidInput(f"role: {', '.join(bad) or 'none'}; use member, treasurer or admin",
                           field="role")
    if password is not None:
        _check_password(password)
    with session_scope() as session:
        if session.exec(select(Person).where(Person.email == email)).first():
            raise Conflict(f"email: {email} already has an account", field="email")
        base = handle or email.split("@")[0][:20]
        taken = {p.handle for p in session.exec(select(Person).where(
            Person.handle.startswith(base)))}
        chosen, n = base, 1
        while chosen in taken:
            n += 1
            chosen = f"{base}{n}"
        person = Person(email=email, handle=chosen, roles=",".join(sorted(set(roles))),
                        password_hash=_hasher.hash(password) if password else None)
        session.add(person)
        session.flush()
        audit.record(session, actor_id, "person.added", f"person:{person.id}",
                     roles=person.roles)
    return person


def person_by_email(email: str) -> Person:
    """The person with `email`, or NotFound."""
    with session_scope() as session:
        person = session.exec(select(Person).where(Person.email == email.strip().lower())).first()
    if person is None:
        raise NotFound(f"no person with email {email}", field="email")
    return person


def create_token(email: str) -> str:
    """A new API bearer token for `email`; only its SHA-256 is stored."""
    person = person_by_email(email)
    token = "cbk_" + secrets.token_urlsafe(32)
    with session_scope() as session:
        session.add(ApiToken(person_id=person.id,
                             token_sha256=hashlib.sha256(token.encode()).hexdigest()))
        audit.record(session, person.id, "token.created", f"person:{person.id}")
    return token


def person_for_token(token: str) -> Person:
    """Who a bearer token belongs to; Unauthenticated if it is unknown or revoked."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    with session_scope() as session:
        row = session.exec(select(ApiToken).where(ApiToken.token_sha256 == digest,
                                                  ApiToken.revoked == False)).first()  # noqa: E712
        person = session.get(Person, row.person_id) if row else None
    if person is None or not person.active:
        raise Unauthenticated("the bearer token is not valid")
    return person
