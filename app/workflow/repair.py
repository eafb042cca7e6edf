"""Put the books back together from the outbox after a crash or a damaged file.

The outbox keeps the exact text of every entry the app ever meant to write, so two kinds
of damage can be undone without guessing:

- a torn last entry (a writer died, or the power failed, in the middle of an append):
  the piece is cut off — only when it is the beginning of an outbox entry — and the whole
  entry is written again;
- an entry the outbox marked done that is no longer in the books (a month file cut back,
  a copy taken mid-write): written again.

`settle` mends a torn tail on its own when the torn entry is still pending (its writer
died mid-append; nothing else can explain the piece). Everything else waits for a person
to run `carebooks check --repair`.
"""

from __future__ import annotations

from collections.abc import Iterable

from beancount.parser import parser, printer
from sqlmodel import select

from app.db import session_scope
from app.fund import books, books_dir, forget_books
from app.models import Outbox
from ledger import BooksInvalid, LedgerError, TornTail, cut_torn_tail


def parsed(row: Outbox):
    """The one entry an outbox row holds."""
    entries, errors, _ = parser.parse_string(row.entry_text)
    if errors or len(entries) != 1:
        raise LedgerError(f"outbox row {row.id} ({row.carebooks_id}) does not parse")
    return entries[0]


def _payloads(rows: Iterable[Outbox]) -> list[bytes]:
    """The bytes an append of each row writes (the text as stored and as the books print
    it; they are the same unless Beancount's printer changed between versions)."""
    out = []
    for row in rows:
        out.append(("\n" + row.entry_text).encode())
        out.append(("\n" + printer.format_entry(parsed(row))).encode())
    return out


def mend_torn_tails(error: BooksInvalid, rows: Iterable[Outbox]) -> list[TornTail]:
    """Cut each torn last entry the load `error` names that begins one of `rows`' entries.

    The caller holds the money lock and writes the entries again (`settle`)."""
    payloads = _payloads(rows)

    def is_ours(piece: bytes) -> bool:
        return any(p.startswith(piece) and p != piece for p in payloads)

    root = books_dir().resolve()  # as the books name their files in errors
    files = set()
    for err in error.errors:
        path = root / (getattr(err, "filename", None) or "")
        if path.is_file() and path.is_relative_to(root):
            files.add(str(path.relative_to(root)))
    cut = [t for rel in sorted(files) if (t := cut_torn_tail(root, rel, is_ours))]
    if cut:
        forget_books()
    return cut


def missing_done() -> list[Outbox]:
    """Outbox rows marked done whose entry is not in the books."""
    ids = books().state.ids
    with session_scope() as session:
        done = session.exec(select(Outbox.id, Outbox.carebooks_id)
                            .where(Outbox.status == "done").order_by(Outbox.id)).all()
        gone = [i for i, cid in done if cid not in ids]
        return [session.get(Outbox, i) for i in gone] if gone else []


def restore_missing() -> list[str]:
    """Write again every done entry missing from the books; return their ids.

    The caller holds the money lock."""
    restored = []
    for row in missing_done():
        books().post(parsed(row))
        restored.append(row.carebooks_id)
    return restored


def all_rows(*, pending_only: bool = False) -> list[Outbox]:
    """The outbox rows whose entries a torn piece may begin: every row, or the pending."""
    query = select(Outbox).order_by(Outbox.id)
    if pending_only:
        query = query.where(Outbox.status == "pending")
    with session_scope() as session:
        return list(session.exec(query).all())
