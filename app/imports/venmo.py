"""Venmo's statement CSV (Statements > Download CSV), personal or business profile.

The file starts with a few preamble lines ("Account Statement - (@...)", "Account
Activity"); the header row holds ID, Datetime, Type, Status, Note, From, To,
Amount (total), Amount (fee) ... and rows with no ID carry the beginning and ending
balances. Amounts look like `+ $25.00` and `- $40.00`.
"""

from __future__ import annotations

from app.imports.base import Cell, CsvImporter
from app.imports.lines import (DONATION, OUTGOING, SKIP, TRANSFER, CellError,
                               StatementLine,
                               parse_date, parse_money)


class VenmoImporter(CsvImporter):
    """Venmo statement CSV."""

    fmt = "venmo"
    label = "Venmo statement CSV"
    default_account = "Assets:Fund:Venmo"
    required = ("ID", "Datetime", "Type", "Status", "From", "To", "Amount (total)")
    date_formats = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")

    def read_row(self, number: int, cell: Cell, header: list[str]) -> list[StatementLine]:
        ident = cell("ID")
        if not ident:
            return []  # the beginning and ending balance rows, and the disclaimer
        date = parse_date(cell("Datetime"), "Datetime", self.date_formats)
        total = parse_money(cell("Amount (total)"), "Amount (total)", currency=self.currency)
        fee = abs(parse_money(cell("Amount (fee)"), "Amount (fee)", currency=self.currency,
                              allow_empty=True))
        consent = self.consent(cell, header)
        type_, status = cell("Type").lower(), cell("Status").lower()
        if status not in ("complete", "completed", "issued"):
            kind, note = SKIP, f"status {cell('Status')[:20] or 'empty'}: only complete " \
                               "payments are imported"
        elif "transfer" in type_:
            kind, note = TRANSFER, ""
        elif "refund" in type_:
            kind, note = SKIP, ("a refund: refund the donation it belongs to on the "
                                "donations page (Venmo's export does not say which)")
        elif total > 0:
            kind, note = DONATION, ""   # the total is what the donor paid; the fee Venmo's
        elif total < 0:
            kind, note = (OUTGOING, "") if fee == 0 else (
                SKIP, "a payment sent with a fee: record the payment and its fee by hand")
        else:
            kind, note = SKIP, "no money moved"
        if kind == DONATION and fee >= total:
            raise CellError(f"Amount (fee): {fee} is not less than the payment {total}")
        return [StatementLine(
            row=number, source=self.fmt, source_id=ident, date=date, amount=total,
            fee=fee, currency=self.currency, reference=ident,
            name=(cell("From") or None) if consent and kind == DONATION else None,
            consent=consent and kind == DONATION, kind=kind, note=note,
            moved=status in ("complete", "completed", "issued") and total != 0)]
