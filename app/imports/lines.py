"""What every importer produces: statement lines, row errors, and the cell parsers
(money, dates, consent) that turn a CSV cell into a typed value or a message naming the
column and the rule.

Pure Python (no Flask, no database): the same code serves Carebooks' own import and
beangulp's command line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ledger.money import minor_unit

# What a kind of line becomes: a donation, a payment offered as a match, a transfer
# between the fund's own accounts, a refund of a donation in the same source, or nothing.
DONATION, OUTGOING, SKIP = "donation", "outgoing", "skip"
TRANSFER, REFUND = "transfer", "refund"
MAX_BYTES = 1024 * 1024  # a year of a small fund's PayPal activity is far below this


class FormatRefused(Exception):
    """The file is not what its format says (wrong columns, not text, empty)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class CellError(Exception):
    """One cell breaks its rule; the importer turns it into a RowError."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RowError:
    """A row that could not be read: its number as a spreadsheet shows it, and why."""

    row: int
    reason: str


@dataclass(frozen=True)
class StatementLine:
    """One movement of money on a statement, typed.

    `amount` is the gross, positive for money in and negative for money out; `fee` is what
    the processor kept (zero or more). `name` is set only when the file says the donor
    consented to be named; otherwise the parser drops it and it is never kept.
    """

    row: int
    source: str
    source_id: str | None
    date: dt.date
    amount: Decimal
    fee: Decimal
    currency: str
    reference: str = ""
    name: str | None = None
    consent: bool = False
    description: str = ""
    kind: str = DONATION
    note: str = ""                  # why a SKIP line is not imported
    key: str = ""                   # the dedup key, set by the importer
    moved: bool = True              # False for pending, failed or authorisation-only rows
    of: str = ""                    # a refund's: the source's id of the payment refunded

    @property
    def net(self) -> Decimal:
        """What the line does to the account's balance (gross less the fee)."""
        return self.amount - self.fee


@dataclass
class Parsed:
    """A whole file read: its lines and the rows that could not be read."""

    lines: list[StatementLine] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def decode(data: bytes) -> str:
    """The file's text (UTF-8, with or without a byte-order mark), or FormatRefused."""
    if len(data) > MAX_BYTES:
        raise FormatRefused(f"file: {len(data):,} bytes; at most {MAX_BYTES:,} "
                            "(export a shorter period)")
    if not data.strip():
        raise FormatRefused("file: empty")
    if b"\x00" in data:
        raise FormatRefused("file: holds NUL bytes, so it is not a CSV text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatRefused(f"file: not UTF-8 text (byte {exc.start}); export the CSV "
                            "as UTF-8") from None


_SIGNS = "+-−"
_SYMBOLS = "$€£¥"


def parse_money(raw: str, column: str, *, decimal: str = ".", currency: str = "USD",
                allow_empty: bool = False) -> Decimal:
    """A signed amount as exports write it: `1,234.56`, `$1,234.56`, `- $20.00`, `(20.00)`,
    `+ $25.00`, or `1.234,56` when `decimal` is `,`."""
    text = "".join((raw or "").split())
    if not text:
        if allow_empty:
            return Decimal(0).quantize(Decimal(1).scaleb(-minor_unit(currency)))
        raise CellError(f"{column}: empty; an amount like 1,234.56 is needed")
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    signs = 0
    while text and (text[0] in _SIGNS or text[0] in _SYMBOLS):
        if text[0] in _SIGNS:
            signs += 1
            negative = negative or text[0] in "-−"
        text = text[1:]
    if text[-3:].upper() == currency.upper():
        text = text[:-3]
    thousands = "," if decimal == "." else "."
    grouped = rf"\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+(?:{re.escape(decimal)}\d+)?"
    plain = rf"\d+(?:{re.escape(decimal)}\d+)?"
    if signs > 1 or not re.fullmatch(f"{grouped}|{plain}", text):
        example = "1,234.56" if decimal == "." else "1.234,56"
        raise CellError(f"{column}: {raw.strip()[:30]!r} is not an amount like {example} "
                        f"(decimal {'point' if decimal == '.' else 'comma'}, an optional sign "
                        "and currency symbol)")
    number = text.replace(thousands, "").replace(decimal, ".")
    try:
        value = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise CellError(f"{column}: {raw!r} is not a number") from None
    places = minor_unit(currency)
    if -value.as_tuple().exponent > places and value != value.quantize(Decimal(1).scaleb(-places)):
        raise CellError(f"{column}: {raw.strip()!r} has more than {places} decimals, the "
                        f"minor unit of {currency}")
    if value >= Decimal(10) ** 12:
        raise CellError(f"{column}: {raw.strip()!r} is too large")
    value = value.quantize(Decimal(1).scaleb(-places))
    return -value if negative else value


def parse_date(raw: str, column: str, formats: tuple[str, ...]) -> dt.date:
    """A date (or date and time: the date part is kept) in one of `formats`."""
    text = (raw or "").strip()
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    shown = " or ".join(f.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
                        .replace("%H", "hh").replace("%M", "mm").replace("%S", "ss")
                        for f in formats[:2])
    raise CellError(f"{column}: {text[:30]!r} is not a date like {shown}")


_YES = {"yes", "y", "true", "1", "si", "sí", "x"}
_NO = {"no", "n", "false", "0", ""}


def parse_consent(raw: str | None, column: str) -> bool:
    """The consent column: yes/no (also true/false, 1/0, sí); empty means no."""
    text = (raw or "").strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise CellError(f"{column}: {raw.strip()[:20]!r} is not yes or no")


def line_key(source_id: str | None, date: dt.date, amount: Decimal, reference: str,
             occurrence: int) -> str:
    """The dedup key: the source's own id, else a hash of date, amount, reference and how
    many identical lines came before in the same file (nothing readable is kept)."""
    if source_id:
        return source_id
    digest = hashlib.sha256(f"{date}|{amount}|{reference}|{occurrence}".encode()).hexdigest()
    return "h:" + digest[:40]
