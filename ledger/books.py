"""A fund's books on disk: create them, post entries, seal months, verify the seal chain.

`Books` keeps a `BooksState` in memory. Writers take an exclusive flock on the books'
lock file, catch up with anything another process appended, validate the entry against
the state, append it with one `write` and an `fsync`, and update the state. Readers take
a shared lock and catch up the same way. A change this process cannot explain as an
append (an editor rewrote a file, a month was sealed elsewhere) triggers a cold load:
the snapshot of the sealed months plus a parse of the open ones, or Beancount's full
loader when the snapshot does not match.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from beancount import loader
from beancount.core import data
from beancount.parser import parser, printer

from ledger.accounts import FundSettings
from ledger.entries import ID_KEY, without_salt
from ledger.errors import (BooksExist, BooksInvalid, DuplicateId, InvalidReference, LedgerError,
                           MonthNotOver, SealOutOfOrder, SourceError, StartRefused,
                           StatementMismatch,
                           WriteFailed, WritesDisabled)
from ledger import merkle
from ledger.files import FileIO, FileSig, FsyncFailed, atomic_write, fsync_dir, locked
from ledger.load import (Fallback, checked_apply, full_load, no_gc, parse_chunk,
                         read_snapshot, write_snapshot)
from ledger.money import fmt, quantum, to_amount
from ledger.seal import (Verification, first_day_after, next_month, seal_entries,
                         verify_chain)
from ledger.state import GENESIS, ZERO, BooksState, Seal, month_file, month_of
from ledger.validate import check_entry, round_trip

MAIN = "main.beancount"
ACCOUNTS = "accounts.beancount"
SEALS = "seals.beancount"
META_DIR = ".carebooks"
LOCK = "lock"                 # in META_DIR: the flock every reader and writer takes
STOPPED = "writes-stopped"    # in META_DIR: present while writes are stopped, holds why
RESUMED = "writes-resumed"    # in META_DIR: when writes were last resumed (ns since epoch)
SEALED_CHECK_SECONDS = 1.0
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_OPEN_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2}) open (\S+)", re.MULTILINE)
_HEADER = "; Carebooks books: {what}. The app only appends; see docs/ledger-format.md.\n"


@dataclass(frozen=True)
class Posted:
    """The outcome of `Books.post`: where the entry stands and whether this call wrote it."""

    id: str
    created: bool
    filename: str
    lineno: int
    entry: data.Transaction


def init_books(books_dir: Path | str, settings: FundSettings, start: dt.date,
               *, fileio: FileIO | None = None, **options) -> Books:
    """Create a fund's books in `books_dir` (which must not hold books yet) and open them."""
    root = Path(books_dir)
    fio = fileio or FileIO()
    if (root / MAIN).exists():
        raise BooksExist(f"books already exist in {root}")
    root.mkdir(parents=True, exist_ok=True)
    (root / META_DIR).mkdir(exist_ok=True)
    lines = [_HEADER.format(what=f"accounts of {settings.name}")]
    for account, description in settings.accounts():
        lines.append(f"{start.isoformat()} open {account} {settings.currency}\n"
                     f'  description: "{description}"\n')
    atomic_write(root / ACCOUNTS, "\n".join(lines).encode(), fio)
    atomic_write(root / SEALS, _HEADER.format(what="month seals").encode(), fio)
    main = (_HEADER.format(what=settings.name)
            + f'option "title" "{settings.name}"\n'
            + f'option "operating_currency" "{settings.currency}"\n\n'
            + f'include "{ACCOUNTS}"\ninclude "{SEALS}"\n')
    atomic_write(root / MAIN, main.encode(), fio)  # written last: its presence means "complete"
    return Books.open(root, fileio=fio, **options)


class Books:
    """One fund's books: the files, the lock, and the state kept in memory."""

    def __init__(self, books_dir: Path | str, *, fileio: FileIO | None = None,
                 snapshots: bool = True, clock=dt.date.today):
        self.dir = Path(books_dir).resolve()
        self.main = self.dir / MAIN
        self._io = fileio or FileIO()
        self._snapshots = snapshots
        self._clock = clock  # what "today" is; entries may not be dated after it
        self._mutex = threading.RLock()
        meta = self.dir / META_DIR
        self._lock_path = meta / LOCK
        self._snapshot_path = meta / "snapshot.json"
        self._state: BooksState | None = None
        self._error: BooksInvalid | None = None
        self._sigs: dict[str, FileSig] = {}
        self._includes: list[str] = []
        self._options: dict = {}
        self._main_key = ""
        self._hot: list[str] = []
        self._sealed_checked = 0.0
        self._verified: tuple | None = None  # (file signatures, Verification)
        self._poisoned: str | None = None
        self._poisoned_at = 0
        self._stopped_path = meta / STOPPED
        self._resumed_path = meta / RESUMED
        self.load_mode: str | None = None  # "snapshot" or "full": how the last cold load went

    @classmethod
    def open(cls, books_dir: Path | str, **kwargs) -> Books:
        """Open existing books and load them (raises BooksInvalid on Beancount errors)."""
        books = cls(books_dir, **kwargs)
        if not books.main.exists():
            raise LedgerError(f"no books in {books.dir}: {MAIN} is missing")
        books._lock_path.parent.mkdir(exist_ok=True)
        with books._mutex, locked(books._lock_path, shared=True):
            books._cold_load()
        books._require_state()
        return books

    # --- reading ----------------------------------------------------------------------

    @property
    def state(self) -> BooksState:
        """The current state, caught up with any change on disk.

        When no file changed (the stats say so), the state is returned without taking the
        lock: a read is then a few `stat` calls, and readers never hold up a writer in
        another process waiting for its exclusive lock. Any change — even an append still
        being written — goes the locked way and waits for the writer.
        """
        state = self._state
        if state is not None and self._unchanged():
            return state
        with self._mutex, locked(self._lock_path, shared=True):
            self._refresh_locked()
            return self._require_state()

    def _unchanged(self) -> bool:
        """True if the files that may change stat as this process last saw them (and the
        sealed ones were checked less than SEALED_CHECK_SECONDS ago)."""
        if time.monotonic() - self._sealed_checked >= SEALED_CHECK_SECONDS:
            return False
        return self._changed(list(self._hot)) == []

    @property
    def title(self) -> str:
        """The fund's name, from `option "title"` in main.beancount."""
        with self._mutex:
            return str(self._options.get("title") or "Carebooks")

    @property
    def currency(self) -> str:
        """The fund's operating currency."""
        return self.state.currency

    def includes(self) -> list[str]:
        """The files `main.beancount` includes, relative to the books folder."""
        with self._mutex:
            return list(self._includes)

    def entry(self, carebooks_id: str) -> data.Directive | None:
        """The entry carrying `carebooks_id`, read back from its file, or None."""
        where = self.state.ids.get(carebooks_id)
        return self._read_entry_at(*where) if where else None

    def entries_of(self, month: str) -> list[data.Directive]:
        """The entries of one month, parsed from its file (sorted; [] for a month with none).

        A month's entries stand only in its own file (`verify` reports any that do not),
        so this reads one small file, never the whole books.
        """
        if not isinstance(month, str) or not _MONTH.fullmatch(month):
            raise InvalidReference("month", f"month: {month!r} is not YYYY-MM")
        with self._mutex, locked(self._lock_path, shared=True):
            self._refresh_locked()
            self._require_state()
            rel = month_file(month)
            if rel not in self._includes:
                return []
            content = (self.dir / rel).read_bytes()
        try:
            entries = parse_chunk(content, rel, 1, self._options)
        except Fallback:
            entries, _, _ = loader.load_string(content.decode(), filename=rel)
        return sorted(entries, key=data.entry_sortkey)

    def receipt(self, carebooks_id: str) -> dict | None:
        """A receipt for one entry (docs/verify.md), or None when it has none.

        Only an entry of a month sealed with a Merkle root has one: months sealed before
        roots existed, open months and entries without a salt (typed by hand) do not.
        """
        with self._mutex, locked(self._lock_path, shared=True):
            self._refresh_locked()
            state = self._require_state()
            where = state.ids.get(carebooks_id)
            if where is None:
                return None
            month = Path(where[0]).name.removesuffix(".beancount")
            seal = next((s for s in state.seals if s.month == month), None)
            if seal is None or not seal.merkle_root or where[0] != month_file(month):
                return None
            content = (self.dir / where[0]).read_bytes()
        found = merkle.path(content, carebooks_id)
        if found is None:
            return None
        leaf, index, steps = found
        if not merkle.check(leaf.text, leaf.salt, steps, seal.merkle_root):
            return None   # the file no longer matches its seal: `check` says so
        return {"receipt": "carebooks-merkle-1", "fund": self.title, "month": month,
                "entry": leaf.text, "salt": leaf.salt, "index": index, "path": steps,
                "root": seal.merkle_root, "seal_hash": seal.seal_hash}

    def verify(self, *, fresh: bool = False) -> Verification:
        """Recompute the seal chain from the files; name the first month that changed.

        Hashing every sealed file costs a read of the whole books, so the answer is kept
        while no file's inode, size or modification time has changed; `fresh` (what
        `carebooks check` uses) always re-reads the bytes.
        """
        with self._mutex, locked(self._lock_path, shared=True):
            self._refresh_locked(full=True)
            state = self._require_state()
            key = (tuple((rel, sig.ino, sig.size, sig.mtime_ns)
                         for rel, sig in sorted(self._sigs.items())),
                   len(state.seals), len(state.misplaced))
            if not fresh and self._verified is not None and self._verified[0] == key:
                return self._verified[1]
            result = verify_chain(self.dir, state.seals)
            sealed = state.sealed_through
            stray = [(f, n, m) for f, n, m in state.misplaced if sealed and m <= sealed]
            if result.ok and stray:
                f, n, m = min(stray, key=lambda x: x[2])
                result = Verification(False, sealed, m, [
                    f"{f}:{n} holds an entry dated in {m}, which is sealed; a sealed month's "
                    f"entries may only stand in {month_file(m)}"])
            self._verified = (key, result)
            return result

    def reload(self) -> None:
        """Forget what is in memory and load the books again (writes stay stopped)."""
        with self._mutex, locked(self._lock_path, shared=True):
            self._cold_load()
        self._require_state()

    def stopped(self) -> str | None:
        """Why writes are stopped (in this process or, through the marker file, in any
        process using these books), or None when they are not."""
        if self._poisoned and not self._resumed_since(self._poisoned_at):
            return self._poisoned
        try:
            return self._stopped_path.read_text(errors="replace").strip() or "unknown cause"
        except FileNotFoundError:
            return None

    def resume(self) -> None:
        """Lift a stop after an fsync failure, for every process; call it only once the
        books have been checked against what should be in them.

        The books are read again from disk and every file is fsynced again: if the device
        still fails, writes stay stopped (WriteFailed). Processes that saw the failure
        reload their books from disk before their next write.
        """
        with self._mutex, locked(self._lock_path):
            self._cold_load()
            self._require_state()
            try:
                for rel in [MAIN, *self._includes]:
                    fd = os.open(self.dir / rel, os.O_RDONLY)
                    try:
                        self._io.fsync(fd)
                    finally:
                        os.close(fd)
                for folder in {(self.dir / rel).parent for rel in self._includes} | {self.dir}:
                    fsync_dir(folder, self._io)
                atomic_write(self._resumed_path, str(time.time_ns()).encode(), self._io)
                self._stopped_path.unlink(missing_ok=True)
                fsync_dir(self._stopped_path.parent, self._io)
            except OSError as exc:
                raise WriteFailed(f"fsync still fails: {exc.strerror or exc}; writes stay "
                                  "stopped (see docs/operations.md)") from exc
            self._poisoned = None

    def stop(self, reason: str) -> None:
        """Stop writes in every process using these books until `resume`."""
        with self._mutex:
            self._poison(reason)

    def _poison(self, reason: str) -> None:
        """Stop writes here and, through the marker file, in every other process."""
        self._poisoned, self._poisoned_at = reason, time.time_ns()
        try:
            with open(self._stopped_path, "w", encoding="utf-8") as f:
                f.write(reason + "\n")
        except OSError:
            pass  # this process still refuses; the others learn from their own fsyncs

    def _resumed_since(self, when: int) -> bool:
        try:
            return int(self._resumed_path.read_text() or 0) > when
        except (FileNotFoundError, ValueError):
            return False

    # --- writing ----------------------------------------------------------------------

    def check(self, entry: data.Transaction) -> None:
        """Raise the refusal `post` would raise for `entry` now, without writing anything."""
        with self._mutex, locked(self._lock_path, shared=True):
            self._refresh_locked()
            state = self._require_state()
            if entry.meta.get(ID_KEY) in state.ids:
                return
            self._check_writable()
            check_entry(state, entry, self._clock())
            round_trip(entry)

    def post(self, entry: data.Transaction) -> Posted:
        """Validate and append one entry; a second post of the same carebooks-id is a no-op."""
        cid = entry.meta.get(ID_KEY) if entry.meta else None
        if not cid:
            raise InvalidReference("id", f"every entry needs a {ID_KEY}")
        with self._mutex, locked(self._lock_path):
            self._refresh_locked()
            state = self._require_state()
            if cid in state.ids:
                where = state.ids[cid]
                existing = self._read_entry_at(*where)
                if existing is None or printer.format_entry(
                        without_salt(existing)) != printer.format_entry(without_salt(entry)):
                    raise DuplicateId(f"duplicate id: {cid} is already in the books at "
                                      f"{where[0]}:{where[1]}, with different content")
                return Posted(cid, False, where[0], where[1], existing)
            self._check_writable()
            check_entry(state, entry, self._clock())
            text = round_trip(entry)
            rel = self._ensure_month(month_of(entry.date))
            lineno = self._sigs[rel].lines + 2
            self._append(rel, ("\n" + text).encode())
            meta = dict(entry.meta, filename=rel, lineno=lineno)
            written = entry._replace(meta=meta)
            state.apply(written)
            return Posted(cid, True, rel, lineno, written)

    def seal(self, month: str, statements: dict[str, Decimal], *,
             today: dt.date | None = None) -> Seal:
        """Close `month`: assert each cash account's statement balance and chain its hash."""
        today = today or dt.date.today()
        if not isinstance(month, str) or not _MONTH.fullmatch(month):
            raise InvalidReference("month", f"month: {month!r} is not YYYY-MM")
        with self._mutex, locked(self._lock_path):
            self._refresh_locked()
            state = self._require_state()
            self._check_writable()
            expected = self._next_to_seal(state)
            if month != expected:
                done = state.sealed_through
                raise SealOutOfOrder(
                    f"seal order: months are sealed oldest first; the next is {expected}"
                    + (f" (sealed through {done})" if done else ""))
            if first_day_after(month) > today:
                raise MonthNotOver(f"month not over: {month} ends on "
                                   f"{first_day_after(month) - dt.timedelta(days=1)}; "
                                   f"seal it from {first_day_after(month)}")
            asserted = self._statement_balances(state, month, statements)
            rel = self._ensure_month(month)
            prev = state.last_seal.seal_hash if state.last_seal else GENESIS
            content = (self.dir / rel).read_bytes()
            if hashlib.sha256(content).hexdigest() != self._sigs[rel].sha256:
                raise WriteFailed(f"seal: {rel} changed while it was being sealed; try again")
            entries, seal = seal_entries(month, self._sigs[rel].sha256, prev, asserted,
                                         state.currency, merkle_root=merkle.root(content))
            text = "".join("\n" + printer.format_entry(e) for e in entries)
            parsed, errors, _ = parser.parse_string(text)
            if errors or len(parsed) != len(entries):
                raise WriteFailed("seal: the seal entries did not parse back cleanly")
            seals_before = self._sigs[SEALS].sha256
            first_line = self._sigs[SEALS].lines + 2
            self._append(SEALS, text.encode())
            for entry in parser.parse_string(text, report_filename=SEALS)[0]:
                entry.meta["lineno"] += first_line - 2
                state.apply(entry)
            self._snapshot_after_seal(month, seals_before, text)
            self._classify()
            return seal

    def move_start(self, start: dt.date) -> list[str]:
        """Move the day the books began to the earlier `start`, while no month is sealed:
        every account opened after `start` is opened on `start` instead (the only rewrite
        of a books file the app makes, of `accounts.beancount`, before anything is sealed).
        Return the accounts whose open date moved."""
        if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
            raise InvalidReference("start", f"start: {start!r} is not a calendar date")
        with self._mutex, locked(self._lock_path):
            self._refresh_locked()
            state = self._require_state()
            self._check_writable()
            if state.seals:
                raise StartRefused(f"start: the books are sealed through "
                                   f"{state.sealed_through}; a fund's start can move only "
                                   "while no month is sealed")
            first = min(state.opens.values()) if state.opens else start
            if start > first:
                raise StartRefused(f"start: {start} is after the books' start {first}; a "
                                   "start can only move earlier")
            path = self.dir / ACCOUNTS
            text = path.read_text(encoding="utf-8")
            moved: list[str] = []

            def earlier(m: re.Match) -> str:
                if dt.date.fromisoformat(m.group(1)) <= start:
                    return m.group(0)
                moved.append(m.group(2))
                return f"{start.isoformat()} open {m.group(2)}"

            new = _OPEN_LINE.sub(earlier, text)
            if moved:
                atomic_write(path, new.encode("utf-8"), self._io)
                self._cold_load()
                self._require_state()
            return moved

    # --- internals: loading -----------------------------------------------------------

    def _require_state(self) -> BooksState:
        if self._state is None:
            raise self._error or LedgerError("the books are not loaded")
        return self._state

    def _check_writable(self) -> None:
        if self._poisoned and self._resumed_since(self._poisoned_at):
            self._poisoned = None  # another process checked the books and lifted the stop
            self._cold_load()
            self._require_state()
        reason = self.stopped()
        if reason:
            raise WritesDisabled(f"writes stopped: {reason}; nothing is written until "
                                 "`carebooks check` passes (docs/operations.md)")

    def _read_main(self) -> tuple[bytes, list[str], dict]:
        content = self.main.read_bytes()
        _, _, options = parser.parse_file(io.BytesIO(content), report_filename=MAIN)
        includes = [inc for inc in options["include"]]
        return content, includes, options

    @staticmethod
    def _options_key(content: bytes, options: dict) -> str:
        """What of main.beancount a snapshot depends on: everything but its include lines."""
        kept = b"\n".join(line for line in content.splitlines()
                          if not line.startswith(b"include "))
        return hashlib.sha256(kept).hexdigest()

    def _cold_load(self) -> None:
        """Load from scratch: snapshot + open months when possible, else the full loader."""
        self._state, self._error = None, None
        try:
            content, includes, options = self._read_main()
            self._includes, self._options = includes, options
            self._main_key = self._options_key(content, options)
            sigs = {MAIN: FileSig.of(self.main, content)}
            contents: dict[str, bytes] = {}
            for rel in includes:
                path = self.dir / rel
                if not path.is_file():
                    contents[rel] = b""
                    continue
                contents[rel] = path.read_bytes()
                sigs[rel] = FileSig.of(path, contents[rel])
            self._sigs = sigs
            self._check_line_ends(contents)
            try:
                self._state = self._fast_load(content, includes, options, contents)
                self.load_mode = "snapshot"
            except Fallback:
                self._state = self._full_load(content, options)
                self.load_mode = "full"
            self._classify()
        except BooksInvalid as exc:
            self._error = exc
        except OSError as exc:
            self._error = BooksInvalid([])
            self._error.message = f"the books could not be read: {exc}"
            self._error.args = (self._error.message,)

    def _check_line_ends(self, contents: dict[str, bytes]) -> None:
        """A month file the app appends to always ends with a newline; one that does not
        was cut in the middle of a write (Beancount would read the cut line as complete)."""
        cut = [SourceError(str(self.dir / rel), c.count(b"\n") + 1,
                           "the file ends in the middle of a line: a write was cut short; "
                           "`carebooks check --repair` restores the entry from the outbox")
               for rel, c in contents.items()
               if c and not c.endswith(b"\n") and _MONTH.fullmatch(Path(rel).stem)]
        if cut:
            raise BooksInvalid(cut)

    def _fast_load(self, content: bytes, includes: list[str], options: dict,
                   contents: dict[str, bytes]) -> BooksState:
        if not self._snapshots or options["plugin"]:
            raise Fallback("plugins or snapshots off")
        if any(not self._plain_include(rel) or rel not in self._sigs for rel in includes):
            raise Fallback("an include the fast path cannot follow")
        snap = read_snapshot(self._snapshot_path)
        if not snap or snap["options"] != self._options_key(content, options):
            raise Fallback("no snapshot for these options")
        for rel, sha in snap["files"].items():
            if rel not in self._sigs or self._sigs[rel].sha256 != sha:
                raise Fallback(f"{rel} changed since the snapshot")
        with no_gc():
            state = BooksState.from_json(snap["state"])
            entries = []
            for rel in includes:
                if rel not in snap["files"]:
                    entries.extend(parse_chunk(contents[rel], rel, 1, options))
            checked_apply(state, entries)
        return state

    def _full_load(self, content: bytes, options: dict) -> BooksState:
        state, entries = full_load(self.main)
        if self._snapshots and not options["plugin"]:
            if verify_chain(self.dir, state.seals).ok:
                sealed = self._sealed_files(state.seals[-1].month if state.seals else None)
                part = BooksState(state.currency)
                for entry in entries:
                    if entry.meta and entry.meta.get("filename") in sealed:
                        part.apply(entry)
                self._store_snapshot(sealed, part, content, options)
        return state

    def _sealed_files(self, through: str | None) -> set[str]:
        files = {ACCOUNTS, SEALS}
        for rel in self._includes:
            month = Path(rel).stem
            if through and _MONTH.fullmatch(month) and rel == self._month_rel(month) \
                    and month <= through:
                files.add(rel)
        return files

    def _store_snapshot(self, files: set[str], state: BooksState, content: bytes,
                        options: dict) -> None:
        hashes = {rel: self._sigs[rel].sha256 for rel in files if rel in self._sigs}
        try:
            write_snapshot(self._snapshot_path, hashes, self._options_key(content, options),
                           state, self._io)
        except OSError:
            pass  # the snapshot is only a cache; the next cold load does a full load

    def _snapshot_after_seal(self, month: str, seals_before: str, seal_text: str) -> None:
        """Extend the snapshot by the month just sealed (or rebuild it with a full load)."""
        if not self._snapshots:
            return
        snap = read_snapshot(self._snapshot_path)
        content, _, options = self._read_main()
        files = self._sealed_files(month)
        valid = snap is not None and snap["options"] == self._options_key(content, options)
        if valid:
            for rel, sha in snap["files"].items():
                now = seals_before if rel == SEALS else self._sigs.get(rel) and self._sigs[rel].sha256
                valid = valid and now == sha
        if not valid:
            self._full_load(content, options)
            return
        state = BooksState.from_json(snap["state"])
        added = [rel for rel in files if rel not in snap["files"] and rel != SEALS]
        entries = []
        for rel in added:
            entries.extend(parse_chunk((self.dir / rel).read_bytes(), rel, 1, options))
        entries.extend(parser.parse_string(seal_text, report_filename=SEALS)[0])
        for entry in sorted(entries, key=data.entry_sortkey):
            state.apply(entry)
        self._store_snapshot(files, state, content, options)

    @staticmethod
    def _plain_include(rel: str) -> bool:
        return not (os.path.isabs(rel) or ".." in Path(rel).parts or any(c in rel for c in "*?["))

    @staticmethod
    def _month_rel(month: str) -> str:
        return f"{month[:4]}/{month}.beancount"

    def _refresh_locked(self, *, full: bool = False) -> None:
        """Catch up with changes on disk (caller holds the lock).

        The files that may change (main, accounts, seals, open months) are checked on
        every call. Sealed month files may not change at all — an edit there breaks its
        seal — so they are checked at most every `SEALED_CHECK_SECONDS`, and always when
        `full` (verify, reload). That keeps the cost of a post flat as years of months
        accumulate.
        """
        if self._state is None and self._error is None:
            self._cold_load()
            return
        now = time.monotonic()
        if full or now - self._sealed_checked >= SEALED_CHECK_SECONDS:
            names = self._sigs.keys()
            self._sealed_checked = now
        else:
            names = self._hot
        changed = self._changed(names)
        if changed == []:
            return
        if self._state is None or changed is None:
            self._cold_load()
            return
        try:
            self._catch_up(changed)
        except Fallback:
            self._cold_load()

    def _changed(self, names) -> list[str] | None:
        """Which of `names` stat differently from what this process knows; None if one is
        gone (or no longer tracked: another thread reloaded meanwhile)."""
        changed = []
        sigs, stat = self._sigs, os.stat
        for rel in names:
            try:
                sig = sigs[rel]
                st = stat(sig.path)
            except (FileNotFoundError, KeyError):
                return None
            if st.st_mtime_ns != sig.mtime_ns or st.st_size != sig.size or st.st_ino != sig.ino:
                changed.append(rel)
        return changed

    def _classify(self) -> None:
        """Split the tracked files into sealed months and the ones that may change."""
        state = self._state
        sealed = self._sealed_files(state.sealed_through if state else None) - {ACCOUNTS, SEALS}
        self._hot = [rel for rel in self._sigs if rel not in sealed]

    def _catch_up(self, changed: list[str]) -> None:
        """Apply what other writers appended; raise Fallback for anything else."""
        if SEALS in changed or ACCOUNTS in changed:
            raise Fallback("seals or accounts changed")
        new_includes: list[str] = []
        if MAIN in changed:
            content, includes, options = self._read_main()
            if (options["plugin"] != self._options["plugin"]
                    or self._options_key(content, options) != self._main_key
                    or not set(self._includes) <= set(includes)):
                raise Fallback("main.beancount changed")
            new_includes = [rel for rel in includes if rel not in self._includes]
            if any(not self._plain_include(rel) for rel in new_includes):
                raise Fallback("new include the fast path cannot follow")
        tails = []
        for rel in changed:
            if rel == MAIN:
                continue
            path = self.dir / rel
            content = path.read_bytes()
            sig = self._sigs[rel]
            if (os.stat(path).st_ino != sig.ino or len(content) < sig.size
                    or hashlib.sha256(content[:sig.size]).hexdigest() != sig.sha256):
                raise Fallback(f"{rel} was rewritten")
            tails.append((rel, content[sig.size:], sig.lines + 1, content))
        for rel in new_includes:
            try:
                content = (self.dir / rel).read_bytes()
            except OSError:
                raise Fallback(f"{rel} cannot be read") from None
            tails.append((rel, content, 1, content))
        if any(content and not content.endswith(b"\n") for _, _, _, content in tails):
            raise Fallback("a file ends in the middle of a line")
        entries = []
        for rel, tail, first_line, _ in tails:
            entries.extend(parse_chunk(tail, rel, first_line, self._options))
        checked_apply(self._state, entries)  # on Fallback the caller reloads from scratch
        for rel, _, _, content in tails:
            self._sigs[rel] = FileSig.of(self.dir / rel, content)
        if MAIN in changed:
            content, includes, options = self._read_main()
            self._sigs[MAIN] = FileSig.of(self.main, content)
            self._includes, self._options = includes, options
        self._classify()

    # --- internals: writing -----------------------------------------------------------

    def _append(self, rel: str, payload: bytes) -> None:
        """Append `payload` to a books file with one write and an fsync."""
        sig = self._sigs[rel]
        fd = os.open(self.dir / rel, os.O_WRONLY | os.O_APPEND)
        try:
            before = os.fstat(fd).st_size
            try:
                self._io.write(fd, payload)
            except OSError as exc:
                try:
                    os.ftruncate(fd, before)
                    self._io.fsync(fd)
                except OSError as again:
                    self._poison(f"{rel} could not be put back after a failed write ({again})")
                raise WriteFailed(f"write failed: {rel}: {exc.strerror or exc}; "
                                  "the books are as they were") from exc
            try:
                self._io.fsync(fd)
            except OSError as exc:
                self._poison(f"fsync of {rel} failed ({exc.strerror or exc})")
                raise WriteFailed(f"fsync failed: {rel}: {exc.strerror or exc}; the entry may "
                                  "or may not be on disk; writes are stopped until the books "
                                  "are checked") from exc
            sig.appended(payload, os.fstat(fd))
        finally:
            os.close(fd)

    def _ensure_month(self, month: str) -> str:
        """The month's file, created and included in main.beancount if it is new."""
        rel = self._month_rel(month)
        if rel in self._includes:
            return rel
        self._check_writable()
        path = self.dir / rel
        try:
            if not path.parent.exists():
                path.parent.mkdir()
                fsync_dir(self.dir, self._io)
            header = _HEADER.format(what=f"month {month}").encode()
            leftover = path.exists() and path.read_bytes() != header
            if not path.exists():
                atomic_write(path, header, self._io)
            content = self.main.read_bytes()
            if not content.endswith(b"\n"):
                content += b"\n"
            content += f'include "{rel}"\n'.encode()
            atomic_write(self.main, content, self._io)
        except FsyncFailed as exc:
            self._poison(f"fsync failed while starting {rel} ({exc.strerror})")
            raise WriteFailed(f"fsync failed: starting {rel}: {exc.strerror}; writes are "
                              "stopped until the books are checked") from exc
        except OSError as exc:
            raise WriteFailed(f"write failed: starting {rel}: {exc.strerror or exc}; "
                              "the books are as they were") from exc
        self._sigs[MAIN] = FileSig.of(self.main, content)
        self._sigs[rel] = FileSig.of(path, path.read_bytes())
        self._includes.append(rel)
        self._hot.append(rel)
        if leftover:  # a file from an interrupted start of this month: load it properly
            self._cold_load()
            self._require_state()
        return rel

    def _read_entry_at(self, rel: str, lineno: int) -> data.Directive | None:
        """Parse the entry that starts at `rel:lineno` (entries are separated by blank lines)."""
        lines = (self.dir / rel).read_text(encoding="utf-8").splitlines(keepends=True)
        chunk = []
        for line in lines[lineno - 1:]:
            if not line.strip() and chunk:
                break
            chunk.append(line)
        entries, _, _ = parser.parse_string("".join(chunk), report_filename=rel)
        for entry in entries:
            entry.meta["lineno"] += lineno - 1
            return entry
        return None

    # --- internals: sealing -----------------------------------------------------------

    def _next_to_seal(self, state: BooksState) -> str:
        if state.sealed_through:
            return next_month(state.sealed_through)
        if not state.opens:
            raise SealOutOfOrder("seal order: the books have no accounts yet")
        return month_of(min(state.opens.values()))

    def _statement_balances(self, state: BooksState, month: str,
                            statements: dict[str, Decimal]) -> dict[str, Decimal]:
        """The balance to assert per cash account; raise on a missing or mismatched one."""
        end = first_day_after(month)
        cur = state.currency
        cash = [a for a in state.cash_accounts() if state.opens[a] < end]
        for account in statements:
            if account not in cash:
                raise InvalidReference("balances", f"balances: {account} is not a cash account "
                                       f"open in {month} ({', '.join(cash)})")
        asserted, diffs, missing = {}, {}, []
        for account in cash:
            book = state.balance_at_end_of(account, month)
            active = month in state.monthly.get(account, {})
            if account in statements:
                given = to_amount(statements[account], cur, field=f"balances.{account}",
                                  allow_zero=True)
            elif active or book != ZERO:
                missing.append(account)
                continue
            else:
                given = ZERO.quantize(quantum(cur))
            asserted[account] = given
            if given != book:
                diffs[account] = (given, book)
        if missing:
            raise InvalidReference("balances", "balances: a statement balance is needed for "
                                   + ", ".join(missing) + f" (activity or money in {month})")
        if diffs:
            lines = [f"{a}: statement {fmt(g, cur)}, books {fmt(b, cur)}, "
                     f"difference {fmt(g - b, cur)}" for a, (g, b) in diffs.items()]
            raise StatementMismatch("statement mismatch: " + "; ".join(lines), diffs)
        return asserted
