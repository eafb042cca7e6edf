"""Money moves through the outbox (DESIGN.md §5).

A state change that moves money commits, in one database transaction, an outbox row
holding the exact entry text. After the commit the entry is appended to the books (which
fsync), and — once the money lock is released, so that nobody waits for it — the row is
marked done. A row left pending (a crash, or that last write lost) is marked by the next
money step inside its own transaction, or by `carebooks check`.

`settle` finishes what a crash left: a pending entry whose carebooks-id is already in the
books is only marked done; one that is not is appended; a torn piece of one at the end of
a month file (its writer died mid-append) is cut off first and the whole entry written
again (app/workflow/repair.py).

All money-moving work runs under `money_lock`, an exclusive lock on a file in the books
folder, so that the checks against the books and the append see the same state in
every worker process.
"""

from __future__ import annotations

from contextlib import contextmanager

from beancount.core import data
from beancount.parser import printer
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select, update

from app.db import session_scope
from app.fund import books, books_dir
from app.models import Outbox, utcnow
from app.workflow.errors import BooksRefused, BooksUnavailable, SavedNotInBooks
from app.workflow.repair import mend_torn_tails, parsed
from ledger import BooksInvalid, EntryRefused, LedgerError
from ledger.books import META_DIR
from ledger.files import locked


# Which field of a request a refusal of the books is about.
_FIELDS = {"cash-below-zero": "account", "account-not-open": "account", "currency": "account",
           "month-sealed": "date", "future-date": "date", "before-balance-assertion": "date",
           "exceeds-outstanding": "amount", "exceeds-donation": "amount"}


@contextmanager
def money_lock():
    """Hold the fund-wide lock for one money-moving operation."""
    path = books_dir() / META_DIR / "money.lock"
    with locked(path):
        yield


@contextmanager
def money_step():
    """One money-moving step: under the money lock, in one database transaction, settle
    what an earlier step or a crash left and let the caller do its work (committed when
    the block ends); then append the entries the caller enqueued to the books.

    If the books cannot be written before the step (a full disk, writes stopped after a
    failed fsync), nothing changes: BooksUnavailable. If they cannot be written after the
    commit, the change stands and its entry waits in the outbox: SavedNotInBooks, which
    says so, so that nobody does it twice.
    """
    with money_lock():
        with session_scope() as session:
            try:
                _settle_in(session)
            except LedgerError as exc:
                raise BooksUnavailable(f"{exc.message} — nothing was changed",
                                       code=exc.rule.replace("-", "_")) from exc
            mine = session.info[_ENQUEUED] = []
            yield session
        try:
            for entry in mine:
                books().post(entry)
        except LedgerError as exc:
            raise SavedNotInBooks(
                f"saved, but not yet in the books ({exc.message}). The entry waits in the "
                "outbox and is written as soon as the books can take it (`carebooks "
                "check`); do not do this again") from exc
    if mine:  # after the lock: the next step need not wait for it (nor do it, mostly)
        _mark_done([e.meta["carebooks-id"] for e in mine])


def _mark_done(ids: list[str]) -> None:
    """Mark these outbox rows done (their entries are in the books). Losing this write to
    a crash costs nothing: the next settle finds them in the books and marks them."""
    with session_scope() as session:
        session.exec(update(Outbox).where(Outbox.carebooks_id.in_(ids),
                                          Outbox.status == "pending")
                     .values(status="done", done_at=utcnow()))


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


_ENQUEUED = "carebooks.enqueued"


def enqueue(session: Session, entry: data.Transaction) -> Outbox:
    """Add the outbox row for `entry` to the caller's transaction (a money step appends
    the entry once the transaction is committed)."""
    row = Outbox(carebooks_id=entry.meta["carebooks-id"], entry_text=printer.format_entry(entry))
    session.add(row)
    session.info.setdefault(_ENQUEUED, []).append(entry)
    return row


def settle() -> int:
    """Append every pending outbox entry missing from the books (each present one is
    compared with its outbox text) and mark them all done; return how many were appended."""
    with session_scope() as session:
        return _settle_in(session, compare=True)


def _settle_in(session: Session, *, compare: bool = False) -> int:
    """Settle inside the caller's transaction. A pending row whose carebooks-id is in the
    books (the previous step's, usually) is marked done without reading it, unless
    `compare`; one that is not — a crash came between the commit and the append — is
    appended, after mending a torn piece of it at the end of its month file."""
    pending = session.exec(select(Outbox.id, Outbox.carebooks_id)
                           .where(Outbox.status == "pending").order_by(Outbox.id)).all()
    if not pending:
        return 0
    try:
        ids = books().state.ids
    except BooksInvalid as exc:
        if not mend_torn_tails(exc, _rows(session, [i for i, _ in pending])):
            raise
        ids = books().state.ids
    missing = [i for i, cid in pending if compare or cid not in ids]
    appended = 0
    for row in _rows(session, missing):
        appended += books().post(parsed(row)).created  # a no-op if it is there already
    session.exec(update(Outbox).where(Outbox.id.in_([i for i, _ in pending]))
                 .values(status="done", done_at=utcnow()))
    return appended


def _rows(session: Session, ids: list[int]) -> list[Outbox]:
    if not ids:
        return []
    return list(session.exec(select(Outbox).where(Outbox.id.in_(ids)).order_by(Outbox.id)))


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
