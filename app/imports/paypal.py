"""PayPal's activity download ("Activity" > "Download", CSV of all transactions).

Columns used: Date (MM/DD/YYYY), Name, Type, Status, Currency, Gross, Fee (negative: what
PayPal kept), Transaction ID, Reference Txn ID, Balance Impact, and the fund's consent
column `consent_public_name` when the export carries it.
"""

from __future__ import annotations

from app.imports.base import Cell, CsvImporter
from app.imports.lines import (DONATION, OUTGOING, REFUND, SKIP, TRANSFER, CellError,
                               StatementLine, parse_date, parse_money)

TRANSFER_WORDS = ("withdrawal", "deposit", "transfer")   # to or from the fund's bank
NOT_MOVED_WORDS = ("currency conversion", "hold")


class PayPalImporter(CsvImporter):
    """PayPal activity CSV."""

    fmt = "paypal"
    label = "PayPal activity CSV"
    default_account = "Assets:Fund:PayPal"
    required = ("Date", "Name", "Type", "Status", "Currency", "Gross", "Fee",
                "Transaction ID")
    date_formats = ("%m/%d/%Y", "%Y-%m-%d")

    def read_row(self, number: int, cell: Cell, header: list[str]) -> list[StatementLine]:
        if cell("Balance Impact").lower() == "memo":
            return []  # authorizations and the like: no money moved
        kind_word = cell("Type")
        date = parse_date(cell("Date"), "Date", self.date_formats)
        gross = parse_money(cell("Gross"), "Gross", currency=self.currency)
        fee = -parse_money(cell("Fee"), "Fee", currency=self.currency, allow_empty=True)
        status = cell("Status")
        txn = cell("Transaction ID")
        if not txn:
            raise CellError("Transaction ID: empty; every PayPal row has one")
        consent = self.consent(cell, header)
        kind, note = _classify(kind_word, status, gross, fee)
        return [StatementLine(
            row=number, source=self.fmt, source_id=txn, date=date, amount=gross, fee=fee,
            currency=cell("Currency").upper() or self.currency, reference=txn,
            name=(cell("Name") or None) if consent and kind == DONATION else None,
            consent=consent and kind == DONATION, kind=kind, note=note,
            moved=status.lower() == "completed" and gross != 0,
            of=cell("Reference Txn ID") if kind == REFUND else "")]


def _classify(type_: str, status: str, gross, fee) -> tuple[str, str]:
    low = type_.lower()
    if status.lower() != "completed":
        return SKIP, f"status {status[:20] or 'empty'}: only completed payments are imported"
    if gross == 0:
        return SKIP, "no money moved"
    if any(w in low for w in NOT_MOVED_WORDS):
        return SKIP, "a currency conversion or hold: no money left the fund"
    if any(w in low for w in TRANSFER_WORDS):
        return TRANSFER, ""
    if "refund" in low or "reversal" in low or "chargeback" in low:
        if gross >= 0:
            return SKIP, "a refund received: record it by hand"
        return REFUND, ""
    if gross > 0:
        if fee < 0:
            raise CellError(f"Fee: PayPal gave back {-fee} on money received; "
                            "only a fee kept (negative Fee) is understood")
        if fee >= gross:
            raise CellError(f"Fee: {fee} is not less than Gross {gross}")
        return DONATION, ""
    if fee != 0:
        return SKIP, "a payment sent with a fee: record the payment and its fee by hand"
    return OUTGOING, ""
