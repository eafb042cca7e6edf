"""Parsing what people send (JSON bodies, CLI options) into typed values, or InvalidInput
that names the field and the rule."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from flask_babel import gettext as _

from app.workflow.errors import InvalidInput
from ledger import EntryRefused, to_amount


_MONEY = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,6})?")  # ASCII digits; decimals checked after


def amount(raw, currency: str, field: str = "amount", *, allow_zero: bool = False) -> Decimal:
    """A money string like "450.00" (numbers are refused: money travels as strings)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise InvalidInput(_("%(field)s: required, an amount like 450.00", field=field),
                           field=field)
    if not isinstance(raw, str):
        raise InvalidInput(_('%(field)s: send money as a string like "450.00", not a number',
                             field=field), field=field)
    if not _MONEY.fullmatch(raw):
        raise InvalidInput(_('%(field)s: %(value)s is not an amount like "450.00" (digits, '
                             "an optional point and cents)", field=field, value=repr(raw[:40])),
                           field=field)
    value = Decimal(raw)
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput(_("%(field)s: must be more than zero", field=field)
                           if not allow_zero else
                           _("%(field)s: must be zero or more", field=field), field=field)
    try:
        return to_amount(value, currency, field=field, allow_zero=allow_zero)
    except EntryRefused:
        raise InvalidInput(_("%(field)s: %(value)s has more decimals than %(currency)s has, "
                             "or is too large", field=field, value=raw, currency=currency),
                           field=field) from None


def gather(**checks) -> dict:
    """Run every check (a function of no arguments) and return {name: value}; when any
    refuses, raise one InvalidInput naming the first field, with every refusal in
    `.errors`, so a form can show all its errors at once (docs/web.md)."""
    values, errors = {}, []
    for name, check in checks.items():
        try:
            values[name] = check()
        except InvalidInput as exc:
            errors.append(exc)
    if errors:
        first = InvalidInput(errors[0].message, field=errors[0].field)
        first.errors = errors
        raise first
    return values


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def date(raw, field: str, *, default: dt.date | None = None) -> dt.date:
    """A date written YYYY-MM-DD, and no other of ISO 8601's spellings."""
    if (raw is None or raw == "") and default is not None:
        return default
    if not isinstance(raw, str) or not raw:
        raise InvalidInput(_("%(field)s: required, a date like 2026-11-30", field=field),
                           field=field)
    try:
        if not _DATE.fullmatch(raw):  # fromisoformat also takes 20261201 and 2026-W49-1
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(_("%(field)s: %(value)s is not a date like 2026-11-30", field=field,
                             value=repr(raw[:40])), field=field) from None


def choice(raw, options: list[str] | tuple[str, ...] | dict, field: str) -> str:
    """One of `options`."""
    if not isinstance(raw, str) or raw not in options:
        raise InvalidInput(_("%(field)s: must be one of %(options)s", field=field,
                             options=", ".join(options)), field=field)
    return raw


_SURROGATE = re.compile("[\ud800-\udfff]")


def has_surrogate(raw: str) -> bool:
    """True when `raw` holds a lone surrogate: not a character, and no database (nor the
    encryption, nor UTF-8) can store it. JSON spells one `"\\ud800"`; a non-UTF-8 byte
    on the command line arrives as one."""
    return _SURROGATE.search(raw) is not None


def text(raw, field: str, *, max_len: int, required: bool = True) -> str:
    """Free text of at most `max_len` characters (no NUL, no lone surrogate); required
    unless said."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise InvalidInput(_("%(field)s: required", field=field), field=field)
        return ""
    if not isinstance(raw, str):
        raise InvalidInput(_("%(field)s: must be text", field=field), field=field)
    if "\x00" in raw:
        raise InvalidInput(_("%(field)s: must not contain NUL characters", field=field),
                           field=field)
    if has_surrogate(raw):
        raise InvalidInput(_("%(field)s: holds a lone surrogate, which is not a character",
                             field=field), field=field)
    raw = raw.strip()
    if len(raw) > max_len:
        raise InvalidInput(_("%(field)s: %(length)s characters; at most %(max)s", field=field,
                             length=len(raw), max=max_len), field=field)
    return raw


def boolean(raw, field: str, *, default: bool | None = None) -> bool:
    """true or false."""
    if raw is None and default is not None:
        return default
    if not isinstance(raw, bool):
        raise InvalidInput(_("%(field)s: must be true or false", field=field), field=field)
    return raw
