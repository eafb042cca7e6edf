"""Reconciling a month before it is sealed: the statement's lines for one cash account
against the book entries that touched that account in the month, side by side — pairs
that agree, statement lines with no entry, entries with no statement line.

Nothing is written and nothing from the file is kept: the file is read, compared, and
forgotten.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from beancount.core import data
from flask_babel import gettext as _

from app.fund import books
from app.imports import FormatRefused, StatementLine
from app.models import Person
from app.workflow.errors import InvalidInput
from app.workflow.imports import imported_codes, importer_for
from ledger import Month, month_of
from ledger import entries as E

WINDOW = dt.timedelta(days=3)  # a bank may book a payment a few days after the books do


def reconcile(actor: Person, raw: bytes, fmt: str, month: str, *, mapping: str | None = None,
              account: str | None = None) -> dict:
    """Compare a statement file with the books for `month` and one cash account."""
    if Month.parse(month) is None:
        raise InvalidInput(_("month: %(value)s is not a month like 2026-11",
                             value=repr(str(month)[:20])), field="month")
    if not isinstance(raw, bytes | bytearray):
        raise InvalidInput(_("file: required, a CSV file"), field="file")
    imp = importer_for(fmt, mapping, account, "individual")
    try:
        parsed = imp.parse(bytes(raw))
    except FormatRefused as exc:
        raise InvalidInput(exc.message, field="file") from None
    lines = [ln for ln in parsed.lines if ln.moved and month_of(ln.date) == month]
    outside = sum(1 for ln in parsed.lines if ln.moved and month_of(ln.date) != month)
    entries = [_entry(e, imp.cash_account) for e in books().entries_of(month)
               if isinstance(e, data.Transaction)]
    entries = [e for e in entries if e["delta"] != 0]
    known = imported_codes(imp.fmt, [ln.key for ln in lines])
    pairs, lonely = [], []
    free = list(entries)
    for line in lines:  # first: lines an import wrote, found by their entry's id
        cid = known.get(line.key)
        match = next((e for e in free if cid and e["id"] == cid and e["delta"] == line.net),
                     None)
        if match:
            free.remove(match)
            pairs.append((line, match))
        else:
            lonely.append(line)
    unmatched = []
    for line in lonely:  # then: the same amount within a few days, the nearest first
        near = sorted((abs(e["date"] - line.date), i) for i, e in enumerate(free)
                      if e["delta"] == line.net and abs(e["date"] - line.date) <= WINDOW)
        if near:
            pairs.append((line, free.pop(near[0][1])))
        else:
            unmatched.append(line)
    pairs.sort(key=lambda p: (p[0].date, p[0].row))
    statement = sum((ln.net for ln in lines), Decimal("0.00"))
    in_books = sum((e["delta"] for e in entries), Decimal("0.00"))
    return {
        "month": month, "account": imp.cash_account, "format": imp.fmt,
        "currency": books().currency,
        "pairs": [{"line": _line(ln), "entry": _show(e)} for ln, e in pairs],
        "lines_only": [_line(ln) for ln in unmatched],
        "entries_only": [_show(e) for e in free],
        "errors": [{"row": e.row, "reason": e.reason} for e in parsed.errors],
        "outside_month": outside,
        "totals": {"statement": str(statement), "books": str(in_books),
                   "difference": str(statement - in_books)},
        "reconciled": not unmatched and not free and not parsed.errors,
    }


def _entry(entry: data.Transaction, account: str) -> dict:
    delta = sum((p.units.number for p in entry.postings if p.account == account),
                Decimal("0.00"))
    links = sorted(entry.links or ())
    return {"date": entry.date, "delta": delta, "id": E.carebooks_id(entry) or "",
            "code": links[0] if links else "", "what": f"{entry.payee or ''} {entry.narration}"}


def _show(e: dict) -> dict:
    return {"date": e["date"].isoformat(), "amount": str(e["delta"]), "code": e["code"],
            "what": e["what"].strip()}


def _line(ln: StatementLine) -> dict:
    return {"row": ln.row, "date": ln.date.isoformat(), "amount": str(ln.net),
            "reference": (ln.source_id or ln.reference)[:40]}
