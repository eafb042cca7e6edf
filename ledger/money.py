"""Money as the books hold it: `Decimal` amounts quantized to a currency's minor unit.

Every amount that reaches the books passes through `to_amount`, which refuses floats,
non-positive values and more decimals than the currency has, with an error that names
the field and the rule.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from beancount.core.number import D, ZERO

from ledger.errors import InvalidAmount

__all__ = ["D", "ZERO", "minor_unit", "quantum", "to_amount", "fmt"]

# ISO 4217 minor units for the currencies a fund is likely to keep; everything else has 2.
MAX_AMOUNT = Decimal(10) ** 12  # what NUMERIC(14, 2) holds; far beyond any fund

_MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "PYG": 0, "UGX": 0,
                "XAF": 0, "XOF": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3, "JOD": 3}


def minor_unit(currency: str) -> int:
    """Number of decimals the currency is counted in (USD 2, JPY 0, KWD 3)."""
    return _MINOR_UNITS.get(currency, 2)


def quantum(currency: str) -> Decimal:
    """The smallest amount of `currency`, as a Decimal exponent (0.01 for USD)."""
    return Decimal(1).scaleb(-minor_unit(currency))


def to_amount(value: Decimal | str, currency: str, *, field: str = "amount",
              allow_zero: bool = False) -> Decimal:
    """Check `value` is a positive amount in `currency`'s minor unit and quantize it."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        if isinstance(value, float):
            raise InvalidAmount(field, f"{field}: must be a Decimal or a string, not a float")
        value = Decimal(value)
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidAmount(field, f"{field}: {value!r} is not a number") from None
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidAmount(field, f"{field}: {value!r} is not a finite number")
    if value.copy_abs() >= MAX_AMOUNT:
        raise InvalidAmount(field, f"{field}: {value} is too large; at most "
                            f"{MAX_AMOUNT - 1:,} {currency}")
    places = minor_unit(currency)
    if value.as_tuple().exponent < -places and value != value.quantize(quantum(currency)):
        raise InvalidAmount(
            field, f"{field}: {value} has more than {places} decimals, the minor unit of {currency}")
    if value < 0 or (value == 0 and not allow_zero):
        rule = "zero or more" if allow_zero else "more than zero"
        raise InvalidAmount(field, f"{field}: must be {rule}, got {value} {currency}")
    return value.quantize(quantum(currency))


def fmt(value: Decimal, currency: str) -> str:
    """Format an amount for a message: `1,234.50 USD`."""
    return f"{value.quantize(quantum(currency)):,} {currency}"
