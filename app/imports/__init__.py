"""Importers for the exports funds already use: PayPal, Venmo, Stripe and any bank CSV
through a saved column mapping. Each is a `beangulp.Importer` (usable from beangulp's
command line: `python -m app.imports identify|extract FILE`) and parses a file into
`StatementLine`s and `RowError`s without touching the books or the database.
"""

from __future__ import annotations

from app.imports.bank import BankImporter, Mapping, MappingInvalid
from app.imports.base import CONSENT_COLUMN, CsvImporter, donation_entry
from app.imports.lines import (DONATION, OUTGOING, REFUND, SKIP, TRANSFER, FormatRefused,
                               Parsed, RowError, StatementLine)
from app.imports.paypal import PayPalImporter
from app.imports.stripe import StripeImporter
from app.imports.venmo import VenmoImporter

FORMATS = ("paypal", "venmo", "stripe", "bank")
_CLASSES = {"paypal": PayPalImporter, "venmo": VenmoImporter, "stripe": StripeImporter}

__all__ = ["BankImporter", "CONSENT_COLUMN", "CsvImporter", "DONATION", "FORMATS",
           "FormatRefused", "Mapping", "MappingInvalid", "OUTGOING", "Parsed", "REFUND",
           "PayPalImporter", "RowError", "SKIP", "StatementLine", "StripeImporter", "TRANSFER",
           "VenmoImporter", "donation_entry", "importer"]


def importer(fmt: str, *, mapping: Mapping | None = None, account: str | None = None,
             category: str = "individual", currency: str = "USD") -> CsvImporter:
    """The importer for `fmt` (a bank needs its mapping)."""
    if fmt == "bank":
        if mapping is None:
            raise MappingInvalid("mapping: a bank CSV needs a saved column mapping")
        return BankImporter(mapping, account, category=category, currency=currency)
    if fmt not in _CLASSES:
        raise MappingInvalid(f"format: {fmt!r} must be one of {', '.join(FORMATS)}")
    return _CLASSES[fmt](account, category=category, currency=currency)
