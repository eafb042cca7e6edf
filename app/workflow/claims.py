"""Who holds an Idempotency-Key while its request runs, and what happens when they die.

A POST sent with an `Idempotency-Key` first *claims* the key: a row with no answer yet,
owned by this process (its host, the kernel's boot id, its pid and start time, and a
nonce of the claim) and stamped with the time. The step then stores its answer in its
own transaction, but only while the claim is still its own: the UPDATE names the owner
(a fencing token) and the step rolls back if it matches no row. So, whatever moment a
process is killed at:

- its step committed: the answer committed with it, and a retry replays it;
- its step did not commit: the claim is left with a dead owner, and a retry takes it over
  (one conditional UPDATE, so only one retry wins) and runs the step afresh;
- it is alive and slow: a retry waits, then answers 409, as before;
- its owner cannot be judged (another host, no /proc): a claim older than `LEASE` is taken
  over, and any claim older than `HOLD_LIMIT`. Should its owner be alive after all, its
  commit finds the claim gone and rolls back: the step is never done twice.

A starting server deletes the claims of dead owners (`clear_abandoned`), so none
outlives a crash of the process that held it (docs/api.md, "Retrying").
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.db import session_scope
from app.models import IdempotencyKey, Person, utcnow
from app.workflow.errors import Conflict

# A gunicorn worker silent for 30 s is killed by its master (deploy/gunicorn.conf.py):
# no live request holds a key much longer. Past LEASE a claim whose owner cannot be seen
# is taken over; past HOLD_LIMIT any claim is (`carebooks serve` has no such timeout).
LEASE = dt.timedelta(seconds=60)
HOLD_LIMIT = dt.timedelta(minutes=10)

_TABLE = IdempotencyKey.__table__
_ANSWER = (update(_TABLE)
           .where(_TABLE.c.person_id == bindparam("person"), _TABLE.c.key == bindparam("the_key"),
                  _TABLE.c.owner == bindparam("me"))
           .values(status_code=bindparam("status"), response=bindparam("answer")))


class ClaimLost(Conflict):
    """Another retry took this key over (its owner was judged gone); this attempt's change
    is rolled back and the retry's stands."""

    code = "idempotency_in_progress"


# --- who this process is ------------------------------------------------------------

def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of a process, None if there is none."""
    text = _read(f"/proc/{pid}/stat")
    if not text:
        return None
    fields = text[text.rfind(")") + 2:].split()  # the name in parentheses may hold spaces
    return fields[0], fields[19]


_BOOT_ID = _read("/proc/sys/kernel/random/boot_id").strip()
_HOST = socket.gethostname()[:60]
_me: tuple[int, str] | None = None  # (pid, "host/boot/pid/start"), made again after a fork


def _process() -> str:
    """This process, as an owner is written (a forked worker gets its own)."""
    global _me
    pid = os.getpid()
    if _me is None or _me[0] != pid:
        stat = _proc_stat(pid)
        _me = pid, f"{_HOST}/{_BOOT_ID}/{pid}/{stat[1] if stat else ''}"
    return _me[1]


def new_owner() -> str:
    """A fencing token for one claim: this process and a nonce."""
    return f"{_process()}/{secrets.token_hex(4)}"


def owner_alive(owner: str | None) -> bool | None:
    """Whether the process that wrote `owner` still runs: None when this host cannot tell
    (another host, another kernel's namespace, no /proc, or a claim from before owners)."""
    parts = (owner or "").split("/")
    if len(parts) != 5 or not _BOOT_ID or parts[0] != _HOST:
        return None
    _, boot, pid, start, _ = parts
    if boot != _BOOT_ID:
        return False  # the machine restarted since
    stat = _proc_stat(int(pid)) if pid.isdigit() else None
    if stat is None:
        return False
    state, started = stat
    if not start:
        return None  # a process runs with that pid; without its start time, maybe another
    return started == start and state not in ("Z", "X")  # a zombie is dead, not reaped


def abandoned(row: IdempotencyKey, now: dt.datetime) -> bool:
    """A claim nobody will finish: its owner is gone, or it is older than its lease."""
    age = now - _aware(row.claimed_at or row.created_at)
    alive = owner_alive(row.owner)
    return alive is False or age > HOLD_LIMIT or (alive is None and age > LEASE)


def _aware(stamp: dt.datetime) -> dt.datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


# --- claiming, answering, letting go ------------------------------------------------

@dataclass(frozen=True)
class Claim:
    """The outcome of one attempt to claim: ours (`owner`; `taken_over` from a request
    that died unanswered), or the row someone holds."""

    owner: str | None
    held: IdempotencyKey | None
    taken_over: bool = False


_INSERT = _TABLE.insert()


def claim(who: Callable[[Session], Person], key: str, *, method: str, path: str,
          digest: str) -> tuple[Person, Claim]:
    """Who asks (`who`, read in the same transaction) and the outcome: the key inserted as
    in progress and ours; if it exists, taken over when its claim is abandoned; else the
    row (answered, or held by a live request)."""
    owner, now = new_owner(), utcnow()
    person = None
    try:
        with session_scope() as session:
            person = who(session)
            session.connection().execute(_INSERT, {
                "person_id": person.id, "key": key, "method": method, "path": path,
                "body_sha256": digest, "status_code": None, "response": None,
                "created_at": now, "owner": owner, "claimed_at": now})
        return person, Claim(owner, None)
    except IntegrityError:
        pass
    return person, _existing(person.id, key, digest, owner, now)


def _existing(person_id: int, key: str, digest: str, owner: str, now: dt.datetime) -> Claim:
    with session_scope() as session:
        row = session.exec(select(IdempotencyKey).where(
            IdempotencyKey.person_id == person_id, IdempotencyKey.key == key)).first()
        if row is None:  # released between the two statements: try again
            return Claim(None, None)
        if (row.status_code is None and row.body_sha256 == digest
                and abandoned(row, now) and _take_over(session, row, owner, now)):
            return Claim(owner, None, taken_over=True)
        session.expunge(row)
        return Claim(None, row)


def _take_over(session: Session, row: IdempotencyKey, owner: str, now: dt.datetime) -> bool:
    """Make an abandoned claim ours, if no other retry did first."""
    done = session.connection().execute(
        update(_TABLE).where(_TABLE.c.id == row.id, _TABLE.c.status_code.is_(None),
                             _owner_is(row.owner))
        .values(owner=owner, claimed_at=now))
    return done.rowcount == 1


def _owner_is(owner: str | None):
    return _TABLE.c.owner.is_(None) if owner is None else _TABLE.c.owner == owner


def store_answer(session: Session, person_id: int, key: str, owner: str, status: int,
                 text: str) -> None:
    """Keep the answer, in `session`'s transaction, while the claim is ours; ClaimLost (and
    so a rollback of the step) if a retry took it over."""
    done = session.connection().execute(_ANSWER, {"person": person_id, "the_key": key,
                                                  "me": owner, "status": status,
                                                  "answer": text})
    if done.rowcount != 1:
        raise ClaimLost("a retry with this Idempotency-Key took it over; its answer stands")


def release(person_id: int, key: str, owner: str) -> None:
    """Forget our claim of a key whose request failed before answering (a retry runs
    afresh)."""
    with session_scope() as session:
        session.connection().execute(delete(_TABLE).where(
            _TABLE.c.person_id == person_id, _TABLE.c.key == key, _TABLE.c.owner == owner,
            _TABLE.c.status_code.is_(None)))


def clear_abandoned(now: dt.datetime | None = None) -> int:
    """Delete every unanswered claim whose owner is gone or whose lease ran out (what a
    starting server does, and `check`); the number deleted."""
    now = now or utcnow()
    with session_scope() as session:
        rows = session.exec(select(IdempotencyKey).where(
            IdempotencyKey.status_code.is_(None))).all()
        gone = 0
        for row in rows:
            if abandoned(row, now):  # unless a retry took it over meanwhile
                gone += session.connection().execute(delete(_TABLE).where(
                    _TABLE.c.id == row.id, _TABLE.c.status_code.is_(None),
                    _owner_is(row.owner))).rowcount
    return gone


def keep_answer(person_id: int, key: str, owner: str, status: int, text: str) -> None:
    """Store a request's answer in a transaction of its own (the step did not store it);
    a retry that took the key over meanwhile keeps its own answer."""
    try:
        with session_scope() as session:
            store_answer(session, person_id, key, owner, status, text)
    except ClaimLost:
        pass  # a retry took the key over: its answer is the one kept
