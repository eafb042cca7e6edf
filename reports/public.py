"""Every figure the public sees, from one engine: the page, the API and the PDF read it.

Two kinds of figure leave the fund (docs/privacy.md, "What the community sees"):

- **Live**: what the fund can still promise, as a coarse *band* ("1,000–2,000"), taken
  at the end of the previous day, so it changes at most once a day and one approval
  moves it by at most one band. Nothing else is live: no cash, no outstanding, no aid.
- **Published**: exact figures of a sealed month whose report is published. Aid goes
  through `reports.privacy.protect`; the month-end cash is shown only when
  `Disclosure` allows it, because opening cash + donations − fees − aid = closing cash
  would give a hidden month's aid away; what is approved and unpaid at a month's end
  (and so what was available) never, exactly: it may be one person's remainder.

Signed-in treasurers and admins see everything (`full_month`); the public and members see
`public_month`. A new public figure is added here once, and every reader shows it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Iterable

from ledger import accounts as acc
from reports.figures import TrendPoint, balances_chain, trend

if TYPE_CHECKING:
    from ledger.state import BooksState
    from reports.periods import Period, Publication
    from reports.figures import AidCell, AidTable, MonthFigures

ZERO = Decimal(0)
CENTS = Decimal("0.01")
STEPS = (1, 2, 5)   # band edges: unit × 0, 1, 2, 5, 10, 20, 50, 100, ...


# --- live bands --------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """An amount known only to lie in [low, high); None: no bound on that side."""

    low: Decimal | None
    high: Decimal | None

    def as_json(self) -> dict:
        """`{"from": "1000", "to": "2000"}` (None where a side is open)."""
        return {"from": None if self.low is None else str(self.low),
                "to": None if self.high is None else str(self.high)}


def band_unit(request_cap: Decimal) -> Decimal:
    """The width of the lowest band: the fund's cap per request, rounded up to 1, 2 or 5
    times a power of ten (1,000 for the default cap). No band is narrower, so one
    approval moves the live figure across one edge at most, and says nothing finer."""
    cap = max(Decimal(request_cap), Decimal(1))
    power = Decimal(1)
    while True:
        for step in STEPS:
            if step * power >= cap:
                return step * power
        power *= 10


def band(value: Decimal, unit: Decimal) -> Band:
    """The band `value` falls in: below 0; [0, u); [u, 2u); [2u, 5u); [5u, 10u); ..."""
    if value < 0:
        return Band(None, ZERO)
    low, power = ZERO, unit
    while True:
        for step in STEPS:
            edge = step * power
            if value < edge:
                return Band(low, edge)
            low = edge
        power *= 10


@dataclass(frozen=True)
class Live:
    """The live figure: what was available to promise at the end of `as_of`, as a band."""

    as_of: dt.date
    next_update: dt.date
    available: Band
    currency: str

    def as_json(self) -> dict:
        """The API's `live` object."""
        return {"as_of": self.as_of.isoformat(), "next_update": self.next_update.isoformat(),
                "available": self.available.as_json()}


def available_at_end_of(state: BooksState, day: dt.date) -> Decimal:
    """Cash less approved-and-unpaid, after the last entry dated `day`."""
    cash = sum((state.balance_at_end_of_day(a, day) for a in state.opens if acc.is_cash(a)),
               ZERO)
    return cash + state.balance_at_end_of_day(acc.APPROVED, day)


def live(state: BooksState, today: dt.date, unit: Decimal) -> Live:
    """The live band for `today`: yesterday's closing figure, so nothing done today shows."""
    yesterday = today - dt.timedelta(days=1)
    return Live(yesterday, today + dt.timedelta(days=1),
                band(available_at_end_of(state, yesterday), unit), state.currency)


# --- what may be shown of a published month ----------------------------------------------


@dataclass(frozen=True)
class Disclosure:
    """Which months' closing cash may be published (`reports.figures.balances_chain`,
    over the published months): what is approved and unpaid, and so what was
    available, at a month's end is never published exactly."""

    balances: frozenset[str]

    @classmethod
    def of(cls, months: Iterable[tuple[str, bool]]) -> Disclosure:
        """From (month, aid passes) for every month since the books began, in order."""
        return cls(frozenset(balances_chain(months)))


def _cell(cell: AidCell | None, k: int) -> dict | None:
    if cell is None:
        return None
    return {"category": cell.label, "recipients": cell.recipients,
            "total": None if cell.total is None else str(cell.total),
            "median": None if cell.median is None else str(cell.median),
            "note": "" if cell.shown else (f"fewer than {k}" if cell.hidden == "fewer"
                                           else "hidden to protect privacy")}


def listed(table: AidTable) -> tuple[AidCell, ...]:
    """The category rows the public sees: those shown with at least one recipient.

    A hidden category is not listed at all, exactly like an empty one, so nobody can
    tell a category with one recipient from a category with none (the "fewer than k" row
    of old flipped from 0 when the first person was helped). Hidden categories count in
    the combined row, which `protect` makes safe or hides.
    """
    return tuple(c for c in table.rows if c.shown and c.recipients)


def _table(table: AidTable, k: int, every_row: bool = False) -> dict:
    rows = table.rows if every_row else listed(table)
    return {"rows": [_cell(c, k) for c in rows], "other": _cell(table.other, k),
            "total": _cell(table.total, k)}


def _money(value: Decimal) -> str:
    return str(value.quantize(CENTS))


def public_month(month: str, figures: MonthFigures | None, disclosure: Disclosure,
                 live_now: Live, privacy: dict,
                 periods: tuple[PeriodRow, ...] = ()) -> dict:
    """What anyone may read about `month`: exact figures only when it is published
    (`figures` given), month-end balances only when `disclosure` allows them, and every
    closed publication period (`by_periods`)."""
    out = {"month": month, "currency": live_now.currency, "exact": False,
           "periods": [p.as_json() for p in periods],
           "live": live_now.as_json(), "published": figures is not None,
           "sealed": False, "seal_hash": None, "donations": None, "aid_approved": None,
           "aid_paid": None, "cancelled": None, "cash": None, "outstanding": None,
           "available": None, "balances": None, "privacy": privacy}
    if figures is None:
        return out
    d = figures.donations
    out.update(sealed=figures.seal.sealed, seal_hash=figures.seal.seal_hash or None,
               donations={"count": d.count, "total": _money(d.total), "fees": _money(d.fees),
                          "refunds": _money(d.refunds_total)},
               aid_approved=_table(figures.aid_approved, figures.rules.k),
               aid_paid=_table(figures.aid_paid, figures.rules.k),
               cancelled=_cell(figures.cancelled, figures.rules.k))
    if month in disclosure.balances:
        out.update(cash={"opening": _money(figures.opening_cash),
                         "closing": _money(figures.closing_cash)},
                   )
    return out


def full_month(figures: MonthFigures, live_now: Live, privacy: dict,
               published: bool, periods: tuple[PeriodRow, ...] = ()) -> dict:
    """Everything about `month`, for treasurers and admins: the public answer's fields,
    every one filled in, and each cash account's opening and closing balance."""
    out = public_month(figures.month, figures, Disclosure(frozenset({figures.month})),
                       live_now, privacy, periods)
    k = figures.rules.k
    out.update(exact=True, published=published, outstanding=_money(figures.outstanding),
               available=_money(figures.available),
               sealed=figures.seal.sealed, seal_hash=figures.seal.seal_hash or None,
               aid_approved=_table(figures.aid_approved, k, every_row=True),
               aid_paid=_table(figures.aid_paid, k, every_row=True),
               balances={a.account: {"opening": _money(a.opening), "closing": _money(a.closing)}
                         for a in figures.accounts})
    return out


# --- publication periods -------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodRow:
    """One publication period as every public document prints it: exact totals, as the
    community's books hold them (a period's aid covers at least k people, nobody
    dominant, and what is owed at its end falls on no one or on k people)."""

    key: str                       # `2026-09..2026-11`, as in the community's books
    months: tuple[str, ...]
    recipients: int                # distinct people helped
    donations: Decimal             # less refunds
    fees: Decimal
    aid_approved: Decimal          # less cancellations
    aid_paid: Decimal
    cash: Decimal                  # all accounts together, at the period's end

    @property
    def start(self) -> str:
        """The first month (`YYYY-MM`)."""
        return self.months[0]

    @property
    def end(self) -> str:
        """The last month (`YYYY-MM`)."""
        return self.months[-1]

    def as_json(self) -> dict:
        """The API's `periods` item."""
        return {"period": self.key, "from": self.start, "to": self.end,
                "recipients": self.recipients, "donations": _money(self.donations),
                "fees": _money(self.fees), "aid_approved": _money(self.aid_approved),
                "aid_paid": _money(self.aid_paid), "cash": _money(self.cash)}


def period_row(period: Period) -> PeriodRow:
    """The public figures of one publication period."""
    return PeriodRow(period.key, period.months, period.recipients,
                     sum((d.total - d.refunds_total for d in period.donations), ZERO),
                     period.fees, period.approved.total.total, period.paid.total.total,
                     sum((c.closing for c in period.cash), ZERO))


def by_periods(publication: Publication) -> tuple[PeriodRow, ...]:
    """Every closed publication period, oldest first: what the page, the API and the PDF
    print of aid over more than one month (`reports.periods`)."""
    return tuple(period_row(p) for p in publication.periods)


# --- the trend -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendRow:
    """One month of the public trend; None where the month shows nothing of that kind."""

    month: str
    published: bool
    donations: Decimal | None
    aid_paid: Decimal | None      # rounded, and only when the month's aid total is shown
    cash: Decimal | None          # only when the disclosure allows the month's balances


def public_trend(months: list[str], published: dict[str, MonthFigures],
                 disclosure: Disclosure) -> tuple[TrendRow, ...]:
    """The last months as the public sees them: published months' figures under the rules."""
    rows = []
    for m in months:
        fig = published.get(m)
        if fig is None:
            rows.append(TrendRow(m, False, None, None, None))
            continue
        paid = fig.aid_paid.total
        rows.append(TrendRow(m, True, fig.donations.net,
                             paid.total if paid.shown else None,
                             fig.closing_cash if m in disclosure.balances else None))
    return tuple(rows)


def full_trend(state: BooksState, month: str) -> tuple[TrendRow, ...]:
    """The last 12 months with every exact figure, for treasurers and admins."""
    return tuple(TrendRow(p.month, True, p.donations, p.aid_paid, p.cash)
                 for p in trend(state, month))


__all__ = ["Band", "Disclosure", "Live", "PeriodRow", "TrendPoint", "TrendRow", "by_periods",
           "listed", "period_row",
           "available_at_end_of", "band", "band_unit", "full_month", "full_trend", "live",
           "public_month", "public_trend"]
