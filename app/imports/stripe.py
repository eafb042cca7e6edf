"""Stripe's payments export (Payments > Export, "unified payments" CSV).

Columns used: id, Created date (UTC) (or Created (UTC)), Amount, Amount Refunded,
Currency, Captured, Fee, Status, Card Name or Customer Description (the donor), and the
metadata column `consent_public_name (metadata)` set by the fund's donation form.
"""

from __future__ import annotations

from app.imports.base import Cell, CsvImporter
from app.imports.lines import (DONATION, SKIP, CellError, StatementLine, parse_date,
                               parse_money)


class StripeImporter(CsvImporter):
    """Stripe payments CSV."""

    fmt = "stripe"
    label = "Stripe payments CSV"
    default_account = "Assets:Fund:Bank"   # Stripe pays out to the bank
    required = ("id", "Amount", "Amount Refunded", "Currency", "Captured", "Fee", "Status")
    date_formats = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")

    def _header_index(self, rows):
        index = super()._header_index(rows)
        if index is None:
            return None
        names = {c.strip().lower() for c in rows[index]}
        return index if names & {"created date (utc)", "created (utc)"} else None

    def read_row(self, number: int, cell: Cell, header: list[str]) -> list[StatementLine]:
        ident = cell("id")
        if not ident:
            raise CellError("id: empty; every Stripe payment has one")
        created = "Created date (UTC)" if "created date (utc)" in header else "Created (UTC)"
        date = parse_date(cell(created), created, self.date_formats)
        currency = cell("Currency").upper() or self.currency
        amount = parse_money(cell("Amount"), "Amount", currency=self.currency)
        refunded = parse_money(cell("Amount Refunded"), "Amount Refunded",
                               currency=self.currency, allow_empty=True)
        fee = parse_money(cell("Fee"), "Fee", currency=self.currency, allow_empty=True)
        status, captured = cell("Status").lower(), cell("Captured").lower()
        common = dict(source=self.fmt, date=date, currency=currency, reference=ident)
        if status == "failed" or captured in ("false", "no"):
            return [StatementLine(row=number, source_id=ident, amount=amount,
                                  fee=fee, kind=SKIP, **common, moved=False,
                                  note="not captured: no money moved")]
        if amount <= 0 or fee < 0 or refunded < 0:
            raise CellError("Amount, Fee, Amount Refunded: Stripe writes them as positive "
                            "numbers")
        if fee >= amount:
            raise CellError(f"Fee: {fee} is not less than Amount {amount}")
        if refunded > amount:
            raise CellError(f"Amount Refunded: {refunded} is more than Amount {amount}")
        consent = self.consent(cell, header)
        name = (cell("Card Name") or cell("Customer Description") or None) if consent else None
        lines = [StatementLine(row=number, source_id=ident, amount=amount, fee=fee,
                               name=name, consent=consent, kind=DONATION, **common)]
        if refunded:
            lines.append(StatementLine(
                row=number, source_id=f"{ident}:refund", amount=-refunded,
                fee=amount - amount, kind=SKIP, **common,
                note="a refund: refund the donation it belongs to on the donations page"))
        return lines
