"""API bearer tokens: made with scopes and an expiry, listed, revoked (issue 16, item 3).

A token is shown once; only its SHA-256 is kept. Its scopes say what it may do:
`read` (GET), `request` (a member's own requests: ask, answer, withdraw) and `money`
(everything a treasurer does through the API). The money scope is given only to a
treasurer who has a second factor, and only when asked for. A token expires after
`TOKEN_DAYS` unless told otherwise, and every token of a person ends when their password
changes, their roles change or they are disabled. Creation, every use of the money scope
and every revocation go to the audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask_babel import gettext as _
from sqlalchemy import bindparam
from sqlmodel import Session, select

from app.db import session_scope
from app.models import ApiToken, Person, Role, utcnow
from app.workflow import audit
from app.workflow.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

SCOPES = ("read", "request", "money")
TOKEN_DAYS = 90
MAX_DAYS = 366


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def may_hold(person: Person) -> tuple[str, ...]:
    """The scopes `person` may be given now."""
    allowed = ["read", "request"]
    if person.has(Role.treasurer) and person.has_second_factor:
        allowed.append("money")
    return tuple(allowed)


def create(person: Person, scopes: list[str] | tuple[str, ...] | None = None, *,
           days: int = TOKEN_DAYS, actor_id: int | None = None) -> str:
    """A new token for `person` with `scopes` (default: all they may hold), valid `days`."""
    allowed = may_hold(person)
    chosen = tuple(scopes) if scopes is not None else allowed
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown or not chosen:
        raise InvalidInput(_("scope: choose among %(scopes)s", scopes=", ".join(SCOPES)),
                           field="scope")
    if "money" in chosen and "money" not in allowed:
        raise Forbidden(_("scope: money is only for a treasurer with a second factor "
                          "(sign in once to set up the authenticator app)"))
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(_("days: a whole number from 1 to %(max)s", max=MAX_DAYS),
                           field="days")
    token = "cbk_" + secrets.token_urlsafe(32)
    ordered = ",".join(s for s in SCOPES if s in chosen)
    with session_scope() as session:
        now = utcnow()
        row = ApiToken(person_id=person.id, token_sha256=_digest(token), scopes=ordered,
                       created_at=now, expires_at=now + dt.timedelta(days=days))
        session.add(row)
        session.flush()
        audit.record(session, actor_id or person.id, "token.created", f"person:{person.id}",
                     token=row.id, scopes=ordered, days=days)
        if "money" in chosen:  # admins and treasurers are told (docs/notifications.md)
            from app.workflow import notify

            notify.money_token_created(session, person.id)
    return token


_BY_TOKEN = (select(Person, ApiToken).join(ApiToken, ApiToken.person_id == Person.id)
             .where(ApiToken.token_sha256 == bindparam("digest"),
                    ApiToken.revoked == False))  # noqa: E712


def find(token: str, session: Session) -> tuple[Person, ApiToken]:
    """The person a live token belongs to and the token's row; Unauthenticated if it is
    unknown, revoked or expired, or its person is disabled."""
    row = session.exec(_BY_TOKEN, params={"digest": _digest(token)}).first()
    if row is None:
        raise Unauthenticated("the bearer token is not valid")
    person, tok = row
    expires = tok.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.UTC)
    if not person.active or expires is None or expires <= utcnow():
        raise Unauthenticated("the bearer token is not valid (revoked or expired: make a "
                              "new one)")
    return person, tok


def require_scope(session: Session, person: Person, tok: ApiToken, scope: str) -> None:
    """Forbidden unless `tok` holds `scope`. (A use of the money scope is audited by the
    step's own events, which name the token: app.api, audit.VIA_TOKEN.)"""
    if scope not in tok.scopes.split(","):
        holder = {"money": "a treasurer's token with the money scope",
                  "request": "a token with the request scope"}.get(scope, "a read scope")
        raise Forbidden(f"this token's scopes are {tok.scopes}; this needs {holder}")


def _row(t: ApiToken, person: Person) -> dict:
    return {"id": t.id, "person": person.handle, "email": person.email, "scopes": t.scopes,
            "created_at": t.created_at, "expires_at": t.expires_at, "revoked": t.revoked,
            "revoked_why": t.revoked_why, "expired": t.expires_at is None
            or _aware(t.expires_at) <= utcnow()}


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def list_tokens(actor: Person | None, *, everyone: bool = False) -> list[dict]:
    """Tokens, newest first: the actor's own, or everyone's for an admin (or the CLI,
    actor None)."""
    if everyone and actor is not None and not actor.has(Role.admin):
        raise Forbidden(_("only an admin may see everyone's tokens"))
    with session_scope() as session:
        query = select(ApiToken, Person).join(Person, Person.id == ApiToken.person_id)
        if actor is not None and not everyone:
            query = query.where(ApiToken.person_id == actor.id)
        rows = session.exec(query.order_by(ApiToken.id.desc())).all()
        return [_row(t, p) for t, p in rows]


def revoke(actor: Person | None, token_id: int) -> None:
    """Revoke one token: your own, or anyone's for an admin (or the CLI, actor None)."""
    with session_scope() as session:
        tok = session.get(ApiToken, token_id)
        if tok is None or (actor is not None and tok.person_id != actor.id
                           and not actor.has(Role.admin)):
            raise NotFound(_("no such token"))
        if not tok.revoked:
            tok.revoked, tok.revoked_at, tok.revoked_why = True, utcnow(), "revoked"
            audit.record(session, actor.id if actor else None, "token.revoked",
                         f"person:{tok.person_id}", token=tok.id, why="revoked")


def revoke_all(session: Session, person_id: int, why: str) -> int:
    """End every live token of `person_id` inside the caller's transaction."""
    rows = session.exec(select(ApiToken).where(ApiToken.person_id == person_id,
                                               ApiToken.revoked == False)).all()  # noqa: E712
    for tok in rows:
        tok.revoked, tok.revoked_at, tok.revoked_why = True, utcnow(), why[:32]
    if rows:
        audit.record(session, None, "token.revoked", f"person:{person_id}",
                     tokens=len(rows), why=why)
    return len(rows)


def expired_live(session: Session) -> list[ApiToken]:
    """Tokens not revoked whose expiry has passed (or that have none): `carebooks check`
    lists them."""
    now = utcnow()
    rows = session.exec(select(ApiToken).where(ApiToken.revoked == False)).all()  # noqa: E712
    return [t for t in rows if t.expires_at is None or _aware(t.expires_at) <= now]
