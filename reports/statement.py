"""A donor's year-end statement: the donations one named donor made to the fund in a
year, and their total, for the donor's records or taxes — in the donor's language, on the
fund's paper, with the same fonts and formats as the monthly report (`render`).

It is made only for a donor who gave their name and agreed to be named; the app decides
that (app/workflow/exports.py). This module only lays out what it is given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from reports.render import PAPERS, Formats, _environment, html_to_pdf

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class StatementLine:
    """One donation: its code, date, kind, amount and what of it was refunded."""

    code: str
    date: dt.date
    category: str
    amount: Decimal
    refunded: Decimal = ZERO

    @property
    def kept(self) -> Decimal:
        """What the fund kept of it (the amount less any refund)."""
        return self.amount - self.refunded


@dataclass(frozen=True)
class DonorStatement:
    """What a statement shows."""

    fund: str
    donor: str
    year: int
    currency: str
    lines: list[StatementLine]
    issued: dt.date

    @property
    def total(self) -> Decimal:
        """The year's donations less refunds."""
        return sum((line.kept for line in self.lines), ZERO)

    @property
    def refunded(self) -> Decimal:
        return sum((line.refunded for line in self.lines), ZERO)


def render_statement_html(statement: DonorStatement, *, lang: str = "en",
                          paper: str = "a4") -> str:
    """The statement as one HTML document."""
    if paper not in PAPERS:
        raise ValueError(f"paper: {paper!r} is not one of {', '.join(PAPERS)}")
    env = _environment(lang)
    return env.get_template("statement.html.j2").render(
        s=statement, fmt=Formats(lang, statement.currency), lang=lang,
        page_size=PAPERS[paper])


def render_statement_pdf(statement: DonorStatement, *, lang: str = "en",
                         paper: str = "a4") -> bytes:
    """The statement as a tagged PDF with its fonts embedded."""
    return html_to_pdf(render_statement_html(statement, lang=lang, paper=paper))
