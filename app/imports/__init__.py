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

# The one list of formats: the import and reconcile forms, the CLI's --format and the
# matching of payments (each class's `pays_by`) are built from it (docs/architecture.md).
FORMATS: dict[str, type[CsvImporter]] = {"paypal": PayPalImporter, "venmo": VenmoImporter,
                                         "stripe": StripeImporter, "bank": BankImporter}

__all__ = ["BankImporter", "CONSENT_COLUMN", "CsvImporter", "DONATION", "FORMATS",
           "FormatRefused", "Mapping", "MappingInvalid", "OUTGOING", "Parsed", "REFUND",
           "PayPalImporter", "RowError", "SKIP", "StatementLine", "StripeImporter", "TRANSFER",
           "VenmoImporter", "donation_entry", "importer"]


def importer(fmt: str, *, mapping: Mapping | None = None, account: str | None = None,
             category: str = "individual", currency: str = "USD") -> CsvImporter:
    """The importer for `fmt` (a bank needs its mapping)."""
    cls = FORMATS.get(fmt) if isinstance(fmt, str) else None
    if cls is None:
        raise MappingInvalid(f"format: {fmt!r} must be one of {', '.join(FORMATS)}")
    if issubclass(cls, BankImporter):
        if mapping is None:
            raise MappingInvalid("mapping: a bank CSV needs a saved column mapping")
        return cls(mapping, account, category=category, currency=currency)
    return cls(account, category=category, currency=currency)
