"""Money moves through the outbox (docs/design.md §5).

A state change that moves money commits, in one database transaction, an outbox row
holding the exact entry text. After the commit the entry is appended to the books (which
fsync). The next money step, under the money lock, marks every row an earlier step left
pending done in one statement, and appends, inside its own transaction, the entry of any
such row that never reached the books (a crash between the commit and the append). A
starting server and `carebooks check` do the same, comparing each row with the books.

`settle` finishes what a crash left: a pending entry whose carebooks-id is already in the
books is only marked done; one that is not is appended; a torn piece of one at the end of
a month file (its writer died mid-append) is cut off first and the whole entry written
again (app/workflow/repair.py).

The checks against the books, the commit and the append run under `money_lock`, an
exclusive lock on a file in the books folder, so that they see the same state in every
worker process; a step locks and writes its own rows before it (`money_step`).
"""
from __future__ import annotations

from contextlib import ExitStack, contextmanager
from contextvars import ContextVar

from beancount.core import data
from beancount.parser import printer
from sqlalchemy import bindparam
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select, update

from app.db import engine, session_scope
from app.fund import books, books_dir
from app.models import Outbox, utcnow
from app.workflow.errors import BooksRefused, BooksUnavailable, SavedNotInBooks
from app.workflow.repair import mend_torn_tails, parsed
from ledger import META_DIR, BooksInvalid, BooksState, EntryRefused, LedgerError, locked


# Which field of a request a refusal of the books is about.
_FIELDS = {"cash-below-zero": "account", "account-not-open": "account", "currency": "account",
           "month-sealed": "date", "future-date": "date", "before-balance-assertion": "date",
           "exceeds-outstanding": "amount", "exceeds-donation": "amount"}


# Set while this thread holds the money lock: the books' checks of an entry are only
# meaningful then (`check_entry` insists).
_HOLDING: ContextVar[bool] = ContextVar("carebooks_money_lock", default=False)


@contextmanager
def money_lock():
    """Hold the fund-wide lock for one money-moving operation."""
    path = books_dir() / META_DIR / "money.lock"
    with locked(path):
        token = _HOLDING.set(True)
        try:
            yield
        finally:
            _HOLDING.reset(token)


_ENQUEUED = "carebooks.enqueued"
_HELD = "carebooks.money_lock"


@contextmanager
def money_step():
    """One money-moving step in one database transaction: the caller reads and locks its
    rows and writes its changes (enqueueing each entry for the books), then calls
    `books_turn`, which takes the money lock and settles what an earlier step or a crash
    left, and checks what it wrote against the books. The transaction commits when the
    block ends, still under the lock, and the enqueued entries are appended to the books.

    The money lock is taken as late as that because every money write of the host waits
    its turn for it (docs/performance.md, "HTTP under gunicorn"): under it go one query
    (the settle), the books' checks, the audit chain and the commit, not the step's own
    round trips. Two rules keep this free of deadlock: every row lock a step needs is
    taken before `books_turn` (nothing waits for a row while holding the money lock; the
    settle's UPDATE takes only outbox rows whose steps have committed and never write
    them again), and
    on SQLite, whose BEGIN IMMEDIATE takes the database's one write lock, the money lock
    is taken first, at the start of the step, as everything else that holds both does.

    If the books cannot be written before the commit (a full disk, writes stopped after
    a failed fsync), nothing changes: BooksUnavailable. If they cannot be written after
    it, the change stands and its entry waits in the outbox: SavedNotInBooks, which says
    so, so that nobody does it twice.
    """
    with Session(engine(), expire_on_commit=False) as session, ExitStack() as held:
        mine = session.info[_ENQUEUED] = []
        session.info[_HELD] = held
        if session.get_bind().dialect.name != "postgresql":
            books_turn(session)
        try:
            yield session
            if mine and not _HOLDING.get():
                raise RuntimeError("a money step enqueued entries without books_turn()")
            session.commit()
        except BaseException:
            session.rollback()
            raise
        try:
            for entry in mine:
                books().post(entry)
        except LedgerError as exc:
            from app.workflow import notify
            notify.write_failed()  # the treasurers are told (app/workflow/notify.py)
            raise SavedNotInBooks(
                f"saved, but not yet in the books ({exc.message}). The entry waits in the "
                "outbox and is written as soon as the books can take it (`carebooks "
                "check`); do not do this again") from exc
    # The step's rows stay pending: the next step's settle marks them done (module doc).


def books_turn(session: Session) -> BooksState:
    """Inside a money step, once its rows are locked and written: send them, take the
    money lock (held until the step's entries are in the books), settle what earlier
    steps left, and return the books' state to check against. A second call only
    returns the state."""
    held: ExitStack = session.info[_HELD]
    if not session.info.get(_TURN):
        session.flush()  # the step's own statements go before the lock, not under it
        held.enter_context(money_lock())
        session.info[_TURN] = True
        try:
            _settle_in(session)
        except LedgerError as exc:
            raise BooksUnavailable(f"{exc.message} — nothing was changed",
                                   code=exc.code) from exc
    return books().state


_TURN = "carebooks.books_turn"


def check_entry(entry: data.Transaction) -> None:
    """Raise BooksRefused if the books would refuse `entry`, BooksUnavailable if they
    cannot be written now (nothing is written either way). Only under the money lock
    (`books_turn`): without it another step could change the books in between."""
    if not _HOLDING.get():
        raise RuntimeError("check_entry outside the money lock")
    try:
        books().check(entry)
    except EntryRefused as exc:
        raise BooksRefused(exc.message, code=exc.code,
                           field=getattr(exc, "field", None) or _FIELDS.get(exc.rule)) from exc
    except LedgerError as exc:
        raise BooksUnavailable(f"{exc.message} — nothing was changed",
                               code=exc.code) from exc


_INSERT = Outbox.__table__.insert()


def enqueue(session: Session, entry: data.Transaction) -> None:
    """Add the outbox row for `entry` to the caller's transaction (a money step appends
    the entry once the transaction is committed). A plain INSERT, sent at once: no step
    reads the row back."""
    session.connection().execute(_INSERT, {
        "carebooks_id": entry.meta["carebooks-id"], "entry_text": printer.format_entry(entry),
        "status": "pending", "created_at": utcnow(), "done_at": None})
    session.info.setdefault(_ENQUEUED, []).append(entry)


def settle() -> int:
    """Append every pending outbox entry missing from the books (each present one is
    compared with its outbox text) and mark them all done; return how many were appended."""
    with session_scope() as session:
        return _settle_in(session, compare=True)


def _settle_in(session: Session, *, compare: bool = False) -> int:
    """Settle inside the caller's transaction, under the money lock: mark every pending
    row done and append each one whose carebooks-id is not in the books — a crash came
    between the commit and the append — after mending a torn piece of it at the end of
    its month file. If an append fails, the transaction rolls back and the rows stay
    pending.

    Almost always the only pending row is the previous step's, in the books: a money step
    marks it with one statement (UPDATE ... RETURNING), its own rows excepted (they are
    not committed yet). `settle` (`compare`) first compares every row's text with the
    books, as `carebooks check` and a starting server do.
    """
    if compare:
        pending = list(session.exec(select(Outbox.id, Outbox.carebooks_id)
                                    .where(Outbox.status == "pending").order_by(Outbox.id)))
    else:
        own = [e.meta["carebooks-id"] for e in session.info.get(_ENQUEUED, ())]
        pending = sorted(session.connection().execute(_TAKE, {"own": own, "at": utcnow()}))
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
    if compare:
        session.exec(update(Outbox).where(Outbox.id.in_([i for i, _ in pending]))
                     .values(status="done", done_at=utcnow()))
    return appended


# Every pending row but the step's own, marked done; which they were.
_TAKE = (update(Outbox.__table__)
         .where(Outbox.status == "pending",
                Outbox.carebooks_id.not_in(bindparam("own", expanding=True)))
         .values(status="done", done_at=bindparam("at"))
         .returning(Outbox.id, Outbox.carebooks_id))


def _rows(session: Session, ids: list[int]) -> list[Outbox]:
    if not ids:
        return []
    return list(session.exec(select(Outbox).where(Outbox.id.in_(ids)).order_by(Outbox.id)))


def recover_on_start() -> str:
    """What a starting server does first (docs/design.md §5): settle what a crash left pending,
    mending a torn last entry of a pending one. Never raises: a problem it cannot mend is
    returned (and logged by the caller); reads go on and writes refuse until `check`."""
    from app.workflow import claims

    try:
        with money_lock():
            n = settle()
        freed = claims.clear_abandoned()  # keys held by requests that died with a process
    except LedgerError as exc:
        return f"recovery: {exc.message}; run `carebooks check` (docs/operations.md)"
    except (SQLAlchemyError, OSError) as exc:  # not set up yet: `carebooks init`, `db upgrade`
        return f"recovery: not possible yet ({type(exc).__name__}); is the fund initialised?"
    said = [f"{n} pending entr{'y' if n == 1 else 'ies'} settled"] if n else []
    said += [f"{freed} idempotency key{'' if freed == 1 else 's'} of dead requests freed"] \
        if freed else []
    return f"recovery: {'; '.join(said)}" if said else ""
