"""Loading the books: Beancount's full loader, and the fast path that reuses a snapshot
of everything already sealed and parses only the open months.

The fast path accepts only what it can check exactly (transactions, open/close, balance
assertions, and directives that move no money); anything else, and any doubt, falls
back to `beancount.loader`, whose errors are the ones reported. So the fast path never
gives balances that differ from a full load: it either agrees or steps aside.
"""

from __future__ import annotations

import gc
import hashlib
import io
import json
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from beancount import loader
from beancount.core import data
from beancount.parser import booking, parser

from ledger.entries import ID_KEY
from ledger.errors import BooksInvalid, SourceError
from ledger.files import FileIO, atomic_write
from ledger.months import month_of
from ledger.state import ZERO, BooksState, seal_of

# Beancount's pickle cache ignores new files matching a glob and is written next to the
# books; the app never wants it (see docs/ledger-format.md).
loader.initialize(use_cache=False)

SNAPSHOT_VERSION = 2
_HARMLESS = (data.Commodity, data.Price, data.Event, data.Query, data.Note)


class Fallback(Exception):
    """The fast path cannot vouch for this; use the full loader."""


@contextmanager
def no_gc():
    """Pause the cyclic garbage collector while building many small objects (~30% faster)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def source_errors(errors: list) -> list[SourceError]:
    """Beancount's error objects as plain (file, line, message) values."""
    out = []
    for err in errors:
        src = getattr(err, "source", None) or {}
        out.append(SourceError(src.get("filename"), src.get("lineno"), str(err.message)))
    return out


def full_load(main: Path) -> tuple[BooksState, list]:
    """Load with `beancount.loader`; return the state and the entries (filenames relative).

    Raises BooksInvalid with Beancount's own messages when it reports any error.
    """
    with no_gc():
        entries, errors, options = loader.load_file(str(main))
    errors = source_errors(errors) + torn_entries(entries)
    if errors:
        raise BooksInvalid(errors)
    currency = (options.get("operating_currency") or ["USD"])[0]
    root = str(main.parent.resolve()) + "/"
    state = BooksState(currency)
    with no_gc():
        for entry in entries:
            filename = entry.meta.get("filename", "") if entry.meta else ""
            if filename.startswith(root):
                entry.meta["filename"] = filename[len(root):]
            state.apply(entry)
    return state, entries


def torn_entries(entries: list) -> list[SourceError]:
    """Transactions with fewer than two postings: a write cut short (a torn tail).

    Beancount accepts a transaction with no postings, so a month file cut right after an
    entry's first line or its metadata would load cleanly with that entry's money
    missing. Every entry the app writes has at least two postings; one with fewer is
    reported, never counted.
    """
    out = []
    for entry in entries:
        if isinstance(entry, data.Transaction) and len(entry.postings) < 2:
            meta = entry.meta or {}
            what = f"entry {meta[ID_KEY]}" if ID_KEY in meta else f"the entry of {entry.date}"
            out.append(SourceError(meta.get("filename"), meta.get("lineno"),
                                   f"{what} has {len(entry.postings)} posting(s): the file "
                                   "was cut in the middle of a write; `carebooks check "
                                   "--repair` restores it from the outbox"))
    return out


def parse_chunk(content: bytes, rel: str, first_line: int, options: dict) -> list:
    """Parse and book a piece of one file; raise Fallback on anything but clean entries."""
    entries, errors, opts = parser.parse_file(io.BytesIO(content), report_filename=rel,
                                              report_firstline=first_line)
    if errors or opts["include"] or opts["plugin"]:
        raise Fallback(f"{rel}: needs the full loader")
    booked, errors = booking.book(entries, options)
    if errors:
        raise Fallback(f"{rel}: booking errors")
    return booked


def checked_apply(state: BooksState, entries: list) -> None:
    """Apply entries in Beancount's order, checking what a full load would check."""
    sealed = state.sealed_through
    entries.sort(key=data.entry_sortkey)
    cur = state.currency
    for entry in entries:
        if sealed is not None and month_of(entry.date) <= sealed and not isinstance(
                entry, (data.Open, data.Close, *_HARMLESS)):
            raise Fallback("entry dated inside a sealed month")
        if isinstance(entry, data.Transaction):
            if len(entry.postings) < 2:
                raise Fallback("a transaction with fewer than two postings")
            total = ZERO
            for p in entry.postings:
                if p.units.currency != cur or not state.is_open(p.account, entry.date):
                    raise Fallback("posting needs a full check")
                allowed = state.open_currencies.get(p.account)
                if allowed and p.units.currency not in allowed:
                    raise Fallback("currency constraint")
                if p.cost is not None or p.price is not None:
                    raise Fallback("costs and prices need a full check")
                total += p.units.number
            if total != ZERO:
                raise Fallback("unbalanced transaction")
        elif isinstance(entry, data.Balance):
            if entry.amount.currency != cur or entry.account not in state.opens:
                raise Fallback("balance needs a full check")
            if state.balance(entry.account) != entry.amount.number or any(
                    a.startswith(entry.account + ":") for a in state.opens):
                raise Fallback("balance assertion needs a full check")
        elif isinstance(entry, data.Open):
            if entry.account in state.opens:
                raise Fallback("account opened twice")
        elif isinstance(entry, data.Close):
            if entry.account not in state.opens or entry.account in state.closes:
                raise Fallback("close of an account that is not open")
        elif isinstance(entry, data.Custom):
            if seal_of(entry) is not None or entry.type == "carebooks-seal":
                raise Fallback("a seal outside seals.beancount")
        elif isinstance(entry, data.Note):
            if not state.is_open(entry.account, entry.date):
                raise Fallback("note on an account that is not open")
        elif not isinstance(entry, _HARMLESS):
            raise Fallback(f"{type(entry).__name__} needs the full loader")
        state.apply(entry)


# --- the snapshot of the sealed part -----------------------------------------------------


def read_snapshot(path: Path) -> dict | None:
    """The snapshot written by `write_snapshot`, or None if absent, damaged or of another
    version. Its first line holds the SHA-256 of the rest, so a changed byte is noticed."""
    try:
        raw = path.read_bytes()
        head, _, body = raw.partition(b"\n")
        header = json.loads(head)
        if header.get("version") != SNAPSHOT_VERSION:
            return None
        if hashlib.sha256(body).hexdigest() != header.get("sha256"):
            return None
        return json.loads(body)
    except (OSError, ValueError, AttributeError):
        return None


def write_snapshot(path: Path, files: dict[str, str], options_key: str,
                   state: BooksState, fileio: FileIO) -> None:
    """Store the state of the sealed files, keyed by each file's SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"files": files, "options": options_key, "state": state.to_json()},
                      separators=(",", ":")).encode()
    header = json.dumps({"version": SNAPSHOT_VERSION,
                         "sha256": hashlib.sha256(body).hexdigest()}).encode()
    atomic_write(path, header + b"\n" + body, fileio)


def balances_from_entries(entries: list, currency: str) -> dict[str, Decimal]:
    """Balance per account in `currency` from a list of entries (for tests and bench)."""
    out: dict[str, Decimal] = {}
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for p in entry.postings:
                if p.units.currency == currency:
                    out[p.account] = out.get(p.account, ZERO) + p.units.number
    return out
