"""Any bank's CSV, read through a saved column mapping: which column holds the date, the
amount, the description and the reference (and, optionally, the bank's own transaction
id, the payer's name and the consent column), how dates are written and whether the
decimal mark is a point or a comma. Money in is a donation; money out is offered as a
payment of an approved request.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields

from app.imports.base import Cell, CsvImporter
from app.imports.lines import (DONATION, OUTGOING, SKIP, StatementLine, parse_consent,
                               parse_date, parse_money)


class MappingInvalid(ValueError):
    """A mapping breaks a rule; the message names the field."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Mapping:
    """Where a bank's CSV keeps each thing (column names as its header writes them)."""

    date: str
    amount: str
    description: str = ""
    reference: str = ""
    id: str = ""
    name: str = ""
    consent: str = ""
    date_format: str = "%Y-%m-%d"
    decimal: str = "."

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, str):
                raise MappingInvalid(f"{f.name}: must be text")
            if len(value) > 80 or any(ord(c) < 32 for c in value):
                raise MappingInvalid(f"{f.name}: at most 80 characters, no control characters")
        if not self.date.strip() or not self.amount.strip():
            raise MappingInvalid("date and amount: both columns must be named")
        if self.decimal not in (".", ","):
            raise MappingInvalid(f"decimal: {self.decimal!r} must be '.' or ','")
        if not re.fullmatch(r"[%a-zA-Z0-9 /.\-:T]+", self.date_format) or \
                not {"%Y", "%m", "%d"} <= set(re.findall(r"%[a-zA-Z]", self.date_format)) \
                and not {"%y", "%m", "%d"} <= set(re.findall(r"%[a-zA-Z]", self.date_format)):
            raise MappingInvalid(f"date_format: {self.date_format!r} must hold %Y (or %y), "
                                 "%m and %d, like %d/%m/%Y")

    def to_json(self) -> str:
        """The mapping as stored."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, raw: dict) -> Mapping:
        """A mapping from a dict (a stored one, or a JSON file), checked."""
        if not isinstance(raw, dict):
            raise MappingInvalid("mapping: must be an object of column names")
        known = {f.name for f in fields(cls)}
        extra = sorted(set(raw) - known)
        if extra:
            raise MappingInvalid(f"mapping: unknown field(s) {', '.join(extra)}; known: "
                                 f"{', '.join(sorted(known))}")
        missing = [k for k in ("date", "amount") if k not in raw]
        if missing:
            raise MappingInvalid(f"{missing[0]}: required, the name of its column")
        return cls(**raw)


class BankImporter(CsvImporter):
    """A bank CSV, read through a `Mapping`."""

    fmt = "bank"
    label = "bank CSV"
    default_account = "Assets:Fund:Bank"

    def __init__(self, mapping: Mapping, account: str | None = None, **kwargs):
        super().__init__(account, **kwargs)
        self.mapping = mapping
        self.required = tuple(c for c in (mapping.date, mapping.amount, mapping.description,
                                          mapping.reference, mapping.id, mapping.name,
                                          mapping.consent) if c)

    def read_row(self, number: int, cell: Cell, header: list[str]) -> list[StatementLine]:
        m = self.mapping
        date = parse_date(cell(m.date), m.date, (m.date_format,))
        amount = parse_money(cell(m.amount), m.amount, decimal=m.decimal,
                             currency=self.currency)
        consent = parse_consent(cell(m.consent), m.consent) if m.consent else False
        kind = DONATION if amount > 0 else OUTGOING if amount < 0 else SKIP
        return [StatementLine(
            row=number, source=self.fmt, source_id=(cell(m.id) or None) if m.id else None,
            date=date, amount=amount, fee=amount - amount, currency=self.currency,
            reference=cell(m.reference) if m.reference else "",
            name=(cell(m.name) or None) if consent and m.name and kind == DONATION else None,
            consent=consent and kind == DONATION,
            description=cell(m.description) if m.description else "", kind=kind,
            note="no money moved" if kind == SKIP else "", moved=kind != SKIP)]
