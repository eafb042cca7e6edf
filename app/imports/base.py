"""The shared shape of a CSV importer: a `beangulp.Importer` that finds its header row,
reads each data row into a `StatementLine` (or a `RowError`), and extracts donation
entries with `ledger.entries` — so each format works in Carebooks and from beangulp's own
command line (`python -m app.imports extract FILE`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import beangulp
from beancount.core import data
from beangulp.exceptions import Error as BeangulpError

from app.imports.lines import (DONATION, MAX_BYTES, CellError, FormatRefused, Parsed,
                               RowError, StatementLine, decode, line_key, parse_consent)
from ledger import EntryRefused
from ledger import entries as E

CONSENT_COLUMN = "consent_public_name"
Cell = Callable[[str], str]


def _norm(header: str) -> str:
    return " ".join(header.strip().lower().split())


class CsvImporter(beangulp.Importer):
    """One export format. Subclasses name their columns and read one row."""

    fmt = ""                 # paypal | venmo | stripe | bank
    label = ""               # what the format is called in messages
    pays_by = "bank"         # the payout method (ledger.PAYOUT_METHODS) of a payment out of it
    default_account = "Assets:Fund:Bank"
    required: tuple[str, ...] = ()   # columns the header must have

    def __init__(self, account: str | None = None, *, category: str = "individual",
                 currency: str = "USD"):
        self.cash_account = account or self.default_account
        self.category = category
        self.currency = currency

    # --- beangulp's interface --------------------------------------------------------

    @property
    def name(self) -> str:
        """The name beangulp's `identify` prints."""
        return f"carebooks.{self.fmt}"

    def identify(self, filepath: str) -> bool:
        """True if the file is a CSV with this format's columns."""
        path = Path(filepath)
        if path.suffix.lower() != ".csv" or path.stat().st_size > MAX_BYTES:
            return False
        try:
            rows = self._rows(decode(path.read_bytes()))
        except (FormatRefused, csv.Error):
            return False
        return self._header_index(rows) is not None

    def account(self, filepath: str) -> data.Account:
        """The cash account the file's money moves through."""
        return self.cash_account

    def date(self, filepath: str) -> dt.date | None:
        """The statement's last date (for beangulp's archive)."""
        parsed = self.parse(Path(filepath).read_bytes())
        return max((line.date for line in parsed.lines), default=None)

    def filename(self, filepath: str) -> str | None:
        """A tidy archival name: `paypal.csv`."""
        return f"{self.fmt}.csv"

    def extract(self, filepath: str, existing: data.Entries) -> data.Entries:
        """Donation entries for the file's incoming payments (codes continue from
        `existing`); refuses the whole file if any row cannot be read."""
        parsed = self.parse(Path(filepath).read_bytes())
        problems = [f"row {e.row}: {e.reason}" for e in parsed.errors]
        entries, codes = [], _CodeSeries(existing)
        for line in parsed.lines:
            if line.kind != DONATION:
                continue
            try:
                entries.append(donation_entry(line, codes.next(line.date.year),
                                              self.cash_account, self.category))
            except EntryRefused as exc:
                problems.append(f"row {line.row}: {exc.message}")
        if problems:
            raise BeangulpError(f"{self.label}: nothing extracted", *problems)
        return entries

    # --- reading ---------------------------------------------------------------------

    def parse(self, raw: bytes) -> Parsed:
        """Every data row of the file as a StatementLine or a RowError."""
        try:
            rows = self._rows(decode(raw))
        except csv.Error as exc:
            raise FormatRefused(f"file: not a readable CSV ({exc})") from None
        start = self._header_index(rows)
        if start is None:
            raise FormatRefused(self._refusal(rows))
        header = [_norm(h) for h in rows[start]]
        index = {}
        for i, name in enumerate(header):
            index.setdefault(name, i)
        parsed = Parsed()
        seen: Counter = Counter()
        for number, row in enumerate(rows[start + 1:], start=start + 2):
            if not any(cell.strip() for cell in row):
                continue

            def cell(name: str, _row=row) -> str:
                i = index.get(_norm(name))
                return _row[i].strip() if i is not None and i < len(_row) else ""

            try:
                lines = self.read_row(number, cell, header)
            except CellError as exc:
                parsed.errors.append(RowError(number, exc.message))
                continue
            for line in lines:
                if line.currency != self.currency:
                    parsed.errors.append(RowError(number, f"Currency: {line.currency[:8]!r}; "
                                                  f"this fund keeps its books in "
                                                  f"{self.currency}"))
                    break
                ident = (line.date, line.amount, line.reference)
                key = line_key(line.source_id, line.date, line.amount, line.reference,
                               seen[ident])
                seen[ident] += 1
                parsed.lines.append(replace(line, key=key))
        return parsed

    def read_row(self, number: int, cell: Cell, header: list[str]) -> list[StatementLine]:
        """The lines one data row holds ([] for a row that is not a movement)."""
        raise NotImplementedError

    def consent(self, cell: Cell, header: list[str]) -> bool:
        """The donor's consent to be named, from the consent column (no column: no)."""
        for name in (CONSENT_COLUMN, f"{CONSENT_COLUMN} (metadata)", "public name consent"):
            if _norm(name) in header:
                return parse_consent(cell(name), name)
        return False

    @staticmethod
    def _rows(text: str) -> list[list[str]]:
        return list(csv.reader(io.StringIO(text)))

    def _header_index(self, rows: list[list[str]]) -> int | None:
        want = {_norm(c) for c in self.required}
        for i, row in enumerate(rows[:20]):  # preambles are a few lines at most
            if want <= {_norm(c) for c in row}:
                return i
        return None

    def _refusal(self, rows: list[list[str]]) -> str:
        first = next((r for r in rows if any(c.strip() for c in r)), [])
        shown = ", ".join(repr(c.strip()[:30]) for c in first[:6] if c.strip())
        return (f"this is not a {self.label}: it needs the columns "
                f"{', '.join(repr(c) for c in self.required)}; its first row has {shown or 'nothing'}")


def donation_entry(line: StatementLine, code: str, account: str,
                   category: str) -> data.Transaction:
    """The books' entry for an incoming line: gross to the donation category, the fee to
    Expenses:Operations:Fees, the rest to `account`; the name only with consent."""
    return E.donation(code, line.date, category, account, line.amount, line.currency,
                      fee=line.fee or None, donor_name=line.name if line.consent else None)


class _CodeSeries:
    """Donation codes for beangulp's extract: continuing after the highest in `existing`
    (inside Carebooks the database's counter assigns them instead)."""

    def __init__(self, existing: data.Entries | None):
        self.last: dict[int, int] = {}
        for entry in existing or ():
            for link in getattr(entry, "links", None) or ():
                match = re.fullmatch(r"D-(\d{4})-(\d{4,6})", link)
                if match:
                    year, n = int(match.group(1)), int(match.group(2))
                    self.last[year] = max(self.last.get(year, 0), n)

    def next(self, year: int) -> str:
        self.last[year] = self.last.get(year, 0) + 1
        return f"D-{year}-{self.last[year]:04d}"
