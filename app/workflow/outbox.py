"""Money moves through the outbox (DESIGN.md §5).

A state change that moves money commits, in one database transaction, an outbox row
holding the exact entry text. The entry is then appended to the books (which fsync), and
the row is marked done. `settle` finishes rows a crash left pending: an entry whose
carebooks-id is already in the books is only marked done; one that is not is appended; a
torn piece of one at the end of a month file (its writer died mid-append) is cut off
first and the whole entry written again (app/workflow/repair.py).

All money-moving work runs under `money_lock`, an exclusive lock on a file in the books
folder, so that the checks against the books and the append see the same state in
every worker process.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from beancount.core import data
from flask import current_app
from beancount.parser import printer
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from app.db import session_scope
from app.fund import books
from app.models import Outbox, utcnow
from app.workflow.errors import BooksRefused, BooksUnavailable, SavedNotInBooks
from app.workflow.repair import mend_torn_tails, parsed
from ledger import BooksInvalid, EntryRefused, LedgerError
from ledger.files import locked


# Which field of a request a refusal of the books is about.
_FIELDS = {"cash-below-zero": "account", "account-not-open": "account", "currency": "account",
           "month-sealed": "date", "future-date": "date", "before-balance-assertion": "date",
           "exceeds-outstanding": "amount", "exceeds-donation": "amount"}


@contextmanager
def money_lock():
    """Hold the fund-wide lock for one money-moving operation."""
    path = Path(current_app.config["BOOKS_DIR"]) / ".carebooks" / "money.lock"
    with locked(path):
        yield


@contextmanager
def money_step():
    """One money-moving step: under the money lock, settle what a crash left, give the
    caller a database session (committed when the block ends), then append its outbox
    entries to the books.

    If the books cannot be written before the step (a full disk, writes stopped after a
    failed fsync), nothing changes: BooksUnavailable. If they cannot be written after the
    commit, the change stands and its entry waits in the outbox: SavedNotInBooks, which
    says so, so that nobody does it twice.
    """
    with money_lock():
        try:
            settle()
        except LedgerError as exc:
            raise BooksUnavailable(f"{exc.message} — nothing was changed",
                                   code=exc.rule.replace("-", "_")) from exc
        with session_scope() as session:
            yield session
        try:
            settle()
        except LedgerError as exc:
            raise SavedNotInBooks(
                f"saved, but not yet in the books ({exc.message}). The entry waits in the "
                "outbox and is written as soon as the books can take it (`carebooks "
                "check`); do not do this again") from exc


def check_entry(entry: data.Transaction) -> None:
    """Raise BooksRefused if the books would refuse `entry`, BooksUnavailable if they
    cannot be written now (nothing is written either way)."""
    try:
        books().check(entry)
    except EntryRefused as exc:
        raise BooksRefused(exc.message, code=exc.rule.replace("-", "_"),
                           field=getattr(exc, "field", None) or _FIELDS.get(exc.rule)) from exc
    except LedgerError as exc:
        raise BooksUnavailable(f"{exc.message} — nothing was changed",
                               code=exc.rule.replace("-", "_")) from exc


def enqueue(session: Session, entry: data.Transaction) -> Outbox:
    """Add the outbox row for `entry` to the caller's transaction."""
    row = Outbox(carebooks_id=entry.meta["carebooks-id"], entry_text=printer.format_entry(entry))
    session.add(row)
    return row


def settle() -> int:
    """Append every pending outbox entry to the books; return how many were pending."""
    with session_scope() as session:
        pending = session.exec(select(Outbox).where(Outbox.status == "pending")
                               .order_by(Outbox.id)).all()
    if not pending:
        return 0
    try:
        books().state
    except BooksInvalid as exc:
        if not mend_torn_tails(exc, pending):
            raise
    for row in pending:
        books().post(parsed(row))  # a no-op when the id is already in the books
        with session_scope() as session:
            fresh = session.get(Outbox, row.id)
            fresh.status, fresh.done_at = "done", utcnow()
    return len(pending)


def recover_on_start() -> str:
    """What a starting server does first (DESIGN.md §5): settle what a crash left pending,
    mending a torn last entry of a pending one. Never raises: a problem it cannot mend is
    returned (and logged by the caller); reads go on and writes refuse until `check`."""
    try:
        with money_lock():
            n = settle()
    except LedgerError as exc:
        return f"recovery: {exc.message}; run `carebooks check` (docs/operations.md)"
    except (SQLAlchemyError, OSError) as exc:  # not set up yet: `carebooks init`, `db upgrade`
        return f"recovery: not possible yet ({type(exc).__name__}); is the fund initialised?"
    return f"recovery: {n} pending entr{'y' if n == 1 else 'ies'} settled" if n else ""
