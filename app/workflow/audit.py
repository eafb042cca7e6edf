"""The audit log: who did what, when and why, hash-chained and never updated.

Details hold codes, amounts, statuses and rule names only — never a story, an answer,
an email address, a password or a token.
"""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar

from sqlalchemy import event
from sqlmodel import Session, select

from app.db import session_scope

from app.models import AuditEvent, utcnow

GENESIS = "0" * 64


def _digest(prev: str, at: str, actor_id: int | None, action: str, subject: str,
            detail: str) -> str:
    payload = json.dumps([prev, at, actor_id, action, subject, detail], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


_QUEUE = "carebooks.audit_queue"

# The API token a call is made with, when it holds the money scope (app.api sets it for the
# request and resets it after). Every event the step records names the token, so each use of
# the money scope is in the log without an event (and a turn of the chain's lock) of its own.
VIA_TOKEN: ContextVar[int | None] = ContextVar("carebooks_audit_via_token", default=None)


def record(session: Session, actor_id: int | None, action: str, subject: str = "",
           **detail) -> None:
    """Add one audit event to the caller's transaction.

    The event is chained and inserted just before the transaction commits: the chain's
    lock (one writer at a time) is then held for three statements, not for the rest of
    the caller's work — every audited action in every worker waits on that lock.
    """
    via = VIA_TOKEN.get()
    if via is not None:
        detail.setdefault("token", via)
    body = json.dumps(detail, sort_keys=True, default=str, separators=(",", ":"))
    queue = session.info.setdefault(_QUEUE, [])
    if not queue:
        event.listen(session, "before_commit", _write_queued, once=True)
    queue.append((actor_id, action, subject, body))


# A plain INSERT, not the ORM's unit of work: nothing reads the event back, and this runs
# in every audited transaction with the chain locked.
_INSERT = AuditEvent.__table__.insert()


def _write_queued(session: Session) -> None:
    queue = session.info.pop(_QUEUE, [])
    if not queue:
        return
    prev = _lock_chain(session) or GENESIS
    connection = session.connection()
    for actor_id, action, subject, body in queue:
        at = utcnow()
        digest = _digest(prev, at.isoformat(), actor_id, action, subject, body)
        connection.execute(_INSERT, {  # one after the other: the chain follows the ids
            "at": at, "actor_id": actor_id, "action": action, "subject": subject,
            "detail": body, "prev_hash": prev, "hash": digest})
        prev = digest


# One writer of the chain at a time. On PostgreSQL the lock and the read of the chain's
# head go in one round trip: two statements of one simple query, each with its own
# snapshot, so the head is read after the lock is granted. (A money step holds the fund's
# money lock meanwhile; each round trip there delays every money write.)
_LOCK_AND_HEAD = ("SELECT pg_advisory_xact_lock(7215001); "
                  "SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1")


def _lock_chain(session: Session) -> str | None:
    """Lock the chain for this transaction (SQLite: its BEGIN IMMEDIATE already has) and
    return the hash of its last event."""
    if session.get_bind().dialect.name == "postgresql":
        cursor = session.connection().connection.driver_connection.cursor()
        with cursor:
            cursor.execute(_LOCK_AND_HEAD)
            cursor.nextset()
            row = cursor.fetchone()
        return row[0] if row else None
    return session.exec(select(AuditEvent.hash).order_by(AuditEvent.id.desc())
                        .limit(1)).first()


def verify(session: Session) -> tuple[bool, str]:
    """Recompute the chain; return (ok, a sentence naming the first broken event)."""
    prev = GENESIS
    count = 0
    for event in session.exec(select(AuditEvent).order_by(AuditEvent.id)):
        want = _digest(prev, event.at.isoformat(), event.actor_id, event.action, event.subject,
                       event.detail)
        if event.prev_hash != prev or event.hash != want:
            return False, f"audit chain broken at event {event.id} ({event.action})"
        prev = event.hash
        count += 1
    return True, f"audit chain intact ({count} events)"


def recent(limit: int = 500) -> tuple[list[dict], str]:
    """The newest events (who by public handle, what, on what, when) and the chain's state."""
    from app.models import Person

    with session_scope() as session:
        ok, line = verify(session)
        rows = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)).all()
        handles = {p.id: p.handle for p in session.exec(select(Person))}
    return ([{"id": e.id, "at": e.at, "who": handles.get(e.actor_id), "action": e.action,
              "subject": e.subject, "detail": e.detail} for e in rows],
            line if ok else "BROKEN: " + line)


# The kinds of event an admin filters the log by, each a set of action prefixes.
KINDS: dict[str, tuple[str, ...]] = {
    "sign_in": ("auth.", "access."),
    "requests": ("request.",),
    "money": ("donation.", "transfer.", "cost.", "payments.", "import.", "fund."),
    "people": ("person.", "invitation.", "token."),
    "policy": ("policy.",),
    "books": ("month.", "report.", "custody.", "data.", "notice."),
}


def search(person_id: int | None = None, kind: str = "", since=None, until=None,
           page: int = 1, per_page: int = 50) -> dict:
    """One page of the log, newest first, narrowed to who acted, a kind of event (KINDS) and
    a range of days (UTC, both ends included); with the total, the chain's state and every
    handle (to name the people the events are about)."""
    import datetime as dt

    from sqlalchemy import or_
    from sqlmodel import func

    from app.models import Person

    query = select(AuditEvent)
    if person_id is not None:
        query = query.where(AuditEvent.actor_id == person_id)
    if kind in KINDS:
        query = query.where(or_(*(AuditEvent.action.startswith(p) for p in KINDS[kind])))
    if since is not None:
        query = query.where(AuditEvent.at >= dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC))
    if until is not None:
        query = query.where(AuditEvent.at < dt.datetime.combine(until + dt.timedelta(days=1),
                                                                dt.time(), tzinfo=dt.UTC))
    page = max(1, page)
    with session_scope() as session:
        ok, line = verify(session)
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = session.exec(query.order_by(AuditEvent.id.desc())
                            .offset((page - 1) * per_page).limit(per_page)).all()
        handles = {p.id: p.handle for p in session.exec(select(Person))}
    events = [{"id": e.id, "at": e.at, "actor_id": e.actor_id, "who": handles.get(e.actor_id),
               "action": e.action, "subject": e.subject, "detail": json.loads(e.detail or "{}"),
               "hash": e.hash} for e in rows]
    return {"events": events, "total": total, "page": page, "per_page": per_page,
            "pages": max(1, -(-total // per_page)), "ok": ok, "chain": line,
            "chained": int(line.rsplit("(", 1)[1].split()[0]) if ok else None,
            "handles": handles}
