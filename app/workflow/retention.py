"""How long personal text is kept, and `carebooks purge`.

A request's story, notes (questions, answers, reasons), its payments' references and
notes of how they went, and, for a request filed on a person's behalf, how to reach them
(`contact`) are kept until
`purge_after_days` (the fund's policy, default 180) after the request closed — paid,
denied, withdrawn or cancelled — and then replaced by a fixed placeholder. What stays is
pseudonymous and is what the books already hold: the code, amounts, category, dates,
status, approvals and payments. A donor's name goes the same number of days after the
donation's date. Replayed API answers (which quote what was sent) go after the same time.

The books are never touched. The audit log records how many values were removed, never
what they said.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import delete
from sqlmodel import select

from app.crypto import checkpoint_sqlite, harden_sqlite
from app.db import engine, session_scope
from app.models import (AidRequest, Donation, IdempotencyKey, Payment, Policy, RequestNote,
                        Status)
from app.workflow import audit
from app.workflow.errors import InvalidInput

CLOSED = (Status.paid, Status.denied, Status.withdrawn, Status.cancelled)
_PLACEHOLDER = re.compile(r"\[removed after \d+ days\]\Z")


def placeholder(days: int) -> str:
    """What a removed text reads as: a fixed sentence, the same for everyone."""
    return f"[removed after {days} days]"


def is_removed(value: str | None) -> bool:
    """True when `value` is a purge placeholder."""
    return bool(value) and _PLACEHOLDER.match(value) is not None


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def purge_on(req: AidRequest, policy: Policy) -> dt.date | None:
    """The day after which a closed request's story and notes are removed (None while it
    is open: the clock starts when it closes)."""
    if req.status not in CLOSED:
        return None
    return (_utc(req.updated_at) + dt.timedelta(days=policy.purge_after_days)).date()


def purge(days: int | None = None, *, now: dt.datetime | None = None) -> dict:
    """Remove the personal text of requests closed more than `days` days ago (default: the
    policy's `purge_after_days`); return the counts."""
    now = _utc(now or dt.datetime.now(dt.UTC))
    with session_scope() as session:
        harden_sqlite(session.connection())
        if days is None:
            from app.workflow.policy import current

            days = current(session).purge_after_days
        if days < 0:
            raise InvalidInput("--days: 0 or more", field="days")
        cutoff = now - dt.timedelta(days=days)
        text = placeholder(days)
        counts = {"requests": 0, "contacts": 0, "notes": 0, "donor_names": 0, "replays": 0}
        closed = session.exec(select(AidRequest).where(
            AidRequest.status.in_([s.value for s in CLOSED]))).all()
        for req in closed:
            if _utc(req.updated_at) >= cutoff:
                continue
            if not is_removed(req.story):
                req.story = text
                session.add(req)
                counts["requests"] += 1
            if req.contact is not None and not is_removed(req.contact):
                req.contact = text
                session.add(req)
                counts["contacts"] += 1
            for note in session.exec(select(RequestNote).where(
                    RequestNote.request_id == req.id)):
                if not is_removed(note.body):
                    note.body = text
                    session.add(note)
                    counts["notes"] += 1
            for pay in session.exec(select(Payment).where(Payment.request_id == req.id)):
                # a payment's reference and note are personal text too (counted as notes)
                for field in ("reference", "note"):
                    value = getattr(pay, field)
                    if value is not None and not is_removed(value):
                        setattr(pay, field, text)
                        session.add(pay)
                        counts["notes"] += 1
        for don in session.exec(select(Donation).where(Donation.donor_name.is_not(None),
                                                       Donation.date < cutoff.date())):
            if not is_removed(don.donor_name):
                don.donor_name = text
                session.add(don)
                counts["donor_names"] += 1
        counts["replays"] = session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)).rowcount or 0
        if any(counts.values()):
            session.flush()
            audit.record(session, None, "data.purged", "", days=days, **counts)
    checkpoint_sqlite(engine())
    return {"days": days, **counts}
