"""Parsing what people send (JSON bodies, CLI options) into typed values, or InvalidInput
that names the field and the rule."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from app.workflow.errors import InvalidInput
from ledger import EntryRefused
from ledger.money import to_amount


_MONEY = re.compile(r"-?\d{1,15}(\.\d{1,6})?")  # the currency's own decimals are checked after


def amount(raw, currency: str, field: str = "amount", *, allow_zero: bool = False) -> Decimal:
    """A money string like "450.00" (numbers are refused: money travels as strings)."""
    if raw is None:
        raise InvalidInput(f"{field}: required, an amount as a string like \"450.00\"",
                           field=field)
    if not isinstance(raw, str):
        raise InvalidInput(f"{field}: send money as a string like \"450.00\", not a number",
                           field=field)
    if not _MONEY.fullmatch(raw):
        raise InvalidInput(f"{field}: {raw[:40]!r} is not an amount like \"450.00\" (digits, "
                           "an optional point and cents)", field=field)
    try:
        return to_amount(raw, currency, field=field, allow_zero=allow_zero)
    except EntryRefused as exc:
        raise InvalidInput(exc.message, field=field) from None


def date(raw, field: str, *, default: dt.date | None = None) -> dt.date:
    """An ISO date string (YYYY-MM-DD)."""
    if raw is None and default is not None:
        return default
    if not isinstance(raw, str):
        raise InvalidInput(f"{field}: required, a date like 2026-11-30", field=field)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{field}: {raw!r} is not a date like 2026-11-30", field=field) from None


def choice(raw, options: list[str] | tuple[str, ...] | dict, field: str) -> str:
    """One of `options`."""
    if not isinstance(raw, str) or raw not in options:
        raise InvalidInput(f"{field}: must be one of {', '.join(options)}", field=field)
    return raw


def text(raw, field: str, *, max_len: int, required: bool = True) -> str:
    """Free text of at most `max_len` characters (no NUL); required unless said."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise InvalidInput(f"{field}: required", field=field)
        return ""
    if not isinstance(raw, str):
        raise InvalidInput(f"{field}: must be text", field=field)
    if "\x00" in raw:
        raise InvalidInput(f"{field}: must not contain NUL characters", field=field)
    raw = raw.strip()
    if len(raw) > max_len:
        raise InvalidInput(f"{field}: {len(raw)} characters; at most {max_len}", field=field)
    return raw


def boolean(raw, field: str, *, default: bool | None = None) -> bool:
    """true or false."""
    if raw is None and default is not None:
        return default
    if not isinstance(raw, bool):
        raise InvalidInput(f"{field}: must be true or false", field=field)
    return raw
