"""Publication periods: a fund's sealed months grouped until their aid may be published.

A figure about aid (a total, a count, a median, a cash balance that would reveal one)
is published only for a period whose aid covers at least `k` distinct recipients with
nobody above the dominance share (docs/design.md §6). A big fund's period is one month;
a small fund's months merge, oldest first, into longer periods until the rule holds
("September–November 2026: 7 people helped"). Months after the last such period are
*pending*: nothing about their aid, and no cash balance inside them, is published.

A period also closes only when what is still owed at its end (approved, not yet paid
nor cancelled) falls on no one or on at least `k` people with nobody dominant: the
community's books assert that balance at each period's end, and one person's unpaid
remainder would be theirs alone (`owed_is_safe`).

Grouping runs from the oldest sealed month forward and closes a period as soon as the
rules hold, so a published period never changes when later months are sealed: the
periods of a fund are a prefix-stable function of its sealed books, its policy and the
recipient of each request code.

The books know request codes, never people: `recipients` maps a code to an opaque
value standing for the person (the app hands it over from its database), and every
count of distinct recipients comes from it. Money figures come from the books.
Figures here are exact; rounding is for whoever prints them (`Rules.rounding`).

`plan_periods` is the pure grouping rule; `publication_periods` reads the books and
gives each period its figures. This module is the interface the public page, the API,
the PDF and the community's books share.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from statistics import median
from typing import TYPE_CHECKING, Hashable, Iterable, Mapping, Sequence

from ledger import accounts as acc
from ledger.money import quantum
from ledger.seal import first_day_after
from reports.flows import Flows, month_flows
from reports.privacy import Group, Rules, is_safe

if TYPE_CHECKING:
    from ledger.books import Books
    from ledger.state import BooksState

ZERO = Decimal(0)
COMBINED = "combined"   # the label (and account leaf) of aid categories not shown alone


class UnknownRequest(ValueError):
    """The books name a request code the recipients handed over do not know."""


@dataclass(frozen=True)
class MonthAid:
    """One month's aid, by request code: approved/cancelled activity and paid, per category."""

    month: str
    approved: Mapping[str, Mapping[str, Decimal]]    # category -> code -> approved amount
    cancelled: Mapping[str, Mapping[str, Decimal]]   # category -> code -> cancelled amount
    paid: Mapping[str, Mapping[str, Decimal]]        # category -> code -> paid amount

    @classmethod
    def of(cls, month: str, flows: Flows) -> MonthAid:
        """The aid part of a month's flows."""
        return cls(month, {c: dict(v) for c, v in flows.approved.items()},
                   {c: dict(v) for c, v in flows.cancelled.items()},
                   {c: dict(v) for c, v in flows.paid.items()})


@dataclass(frozen=True)
class AidGroup:
    """One published aid figure of a period: a category, or the categories combined.

    `total` is exact (in the books it must add up); `median` is the median request
    amount. For approvals, `total` is net of cancellations (what the aid account moved)
    while `recipients`, `requests` and `median` count approvals and cancellations alike.
    """

    label: str                      # a category, COMBINED, or "all"
    categories: tuple[str, ...]
    recipients: int
    requests: int
    total: Decimal
    median: Decimal | None


@dataclass(frozen=True)
class AidTable:
    """A period's aid of one kind: the published groups and the total."""

    groups: tuple[AidGroup, ...]
    total: AidGroup


@dataclass(frozen=True)
class DonationKind:
    """Donations of one kind in the period: how many, their gross total, refunds."""

    kind: str
    count: int
    total: Decimal
    refunds_count: int
    refunds_total: Decimal
    named: tuple[str, ...] = ()     # donors who consented to be named, sorted; no amounts


@dataclass(frozen=True)
class CashBalance:
    """A cash account at the start and at the end of a period."""

    account: str
    opening: Decimal
    closing: Decimal


@dataclass(frozen=True)
class Period:
    """One publication period: consecutive sealed months and what may be published of them."""

    months: tuple[str, ...]
    currency: str
    recipients: int                 # distinct people helped (approved, cancelled or paid)
    donations: tuple[DonationKind, ...]
    fees: Decimal
    approved: AidTable
    paid: AidTable
    cash: tuple[CashBalance, ...]
    outstanding: Decimal            # approved and unpaid at the period's end
    changes: tuple[tuple[str, Decimal], ...]   # net change of every other account

    @property
    def start(self) -> str:
        """The first month (`YYYY-MM`)."""
        return self.months[0]

    @property
    def end(self) -> str:
        """The last month (`YYYY-MM`)."""
        return self.months[-1]

    @property
    def key(self) -> str:
        """`2026-09..2026-11`, or `2026-09` for a one-month period."""
        return self.start if len(self.months) == 1 else f"{self.start}..{self.end}"

    @property
    def first_day(self) -> dt.date:
        """The period's first day."""
        return dt.date.fromisoformat(self.start + "-01")

    @property
    def last_day(self) -> dt.date:
        """The period's last day."""
        return first_day_after(self.end) - dt.timedelta(days=1)


@dataclass(frozen=True)
class Publication:
    """The periods that may be published, and the sealed months still waiting to join one."""

    periods: tuple[Period, ...]
    pending: tuple[str, ...]


# --- the rule (pure) ----------------------------------------------------------------------


def _group(label: str, tables: Iterable[Mapping[str, Mapping[str, Decimal]]],
           who: Mapping[str, Hashable], categories: Iterable[str] | None = None) -> Group:
    """Every (code, amount) of `tables` in `categories` (all when None) as one Group."""
    group = Group(label)
    for table in tables:
        for category in sorted(table):
            if categories is not None and category not in categories:
                continue
            for code, amount in sorted(table[category].items()):
                if amount:
                    group.add(_recipient(who, code), abs(amount))
    return group


def _recipient(who: Mapping[str, Hashable], code: str) -> Hashable:
    try:
        return who[code]
    except KeyError:
        raise UnknownRequest(f"recipients: the books name {code}, which the database "
                             "does not know (run `carebooks check`)") from None


def _activity(months: Sequence[MonthAid]) -> tuple[list, list]:
    """The approval tables (approved and cancelled) and the paid tables of `months`."""
    approvals = [t for m in months for t in (m.approved, m.cancelled)]
    return approvals, [m.paid for m in months]


def period_is_safe(months: Sequence[MonthAid], who: Mapping[str, Hashable],
                   rules: Rules) -> bool:
    """True when the aid of `months` taken together may be published."""
    approvals, paid = _activity(months)
    everyone = _group("all", approvals + paid, who)
    return (everyone.recipients >= rules.k and is_safe(_group("all", approvals, who), rules)
            and is_safe(_group("all", paid, who), rules))


def owed_after(owed: Mapping[str, Decimal], month: MonthAid) -> dict[str, Decimal]:
    """What each request code still has approved and unpaid after `month`, from `owed`
    before it: approvals add, payments and cancellations take away."""
    out = dict(owed)
    for table, sign in ((month.approved, 1), (month.paid, -1), (month.cancelled, -1)):
        for per in table.values():
            for code, amount in per.items():
                out[code] = out.get(code, ZERO) + sign * amount
    return {code: amount for code, amount in out.items() if amount}


def owed_is_safe(owed: Mapping[str, Decimal], who: Mapping[str, Hashable],
                 rules: Rules) -> bool:
    """True when what is still owed may be published: it falls on no one, or on at least
    `k` people with nobody above the dominance share.

    A period's end publishes what is approved and unpaid (`Liabilities:Aid:Approved` in
    the community's books, and it follows from running approvals less payments); owed to
    one to k−1 people it is their unpaid remainders, which their next payment repeats
    (the same rule as `reports.figures._difference_safe` for a month)."""
    group = Group("owed")
    for code, amount in sorted(owed.items()):
        group.add(_recipient(who, code), abs(amount))
    return is_safe(group, rules)


def plan_periods(months: Sequence[MonthAid], who: Mapping[str, Hashable],
                 rules: Rules) -> tuple[list[tuple[str, ...]], tuple[str, ...]]:
    """Group consecutive months (oldest first) into periods; (periods, pending months).

    A period closes with the first month that makes its aid safe and after which what is
    still owed falls on no one or on at least k people (`owed_is_safe`); months after the
    last closed period are pending. `months` start with the books' first month of aid.
    """
    periods: list[tuple[str, ...]] = []
    current: list[MonthAid] = []
    owed: dict[str, Decimal] = {}
    for month in months:
        current.append(month)
        owed = owed_after(owed, month)
        if period_is_safe(current, who, rules) and owed_is_safe(owed, who, rules):
            periods.append(tuple(m.month for m in current))
            current = []
    return periods, tuple(m.month for m in current)


def published_categories(months: Sequence[MonthAid], who: Mapping[str, Hashable],
                         rules: Rules, categories: Iterable[str]) -> tuple[set[str], set[str]]:
    """(shown alone, combined) categories, the same for approvals and payments.

    A category unsafe in either table is combined in both, so no table can be subtracted
    from the other; if the combined group is unsafe in either table, the smallest shown
    category joins it until it is safe.
    """
    approvals, paid = _activity(months)
    tables = (approvals, paid)
    cats = sorted(set(categories) | {c for ts in tables for t in ts for c in t})
    single = {c: [_group(c, ts, who, {c}) for ts in tables] for c in cats}
    hidden = {c for c in cats if not all(is_safe(g, rules) for g in single[c])}
    while hidden:
        combined = [_group(COMBINED, ts, who, hidden) for ts in tables]
        if all(is_safe(g, rules) for g in combined):
            break
        shown = [c for c in cats if c not in hidden and any(g.recipients for g in single[c])]
        if not shown:
            break
        hidden.add(min(shown, key=lambda c: (sum(g.recipients for g in single[c]),
                                             sum(g.total for g in single[c]), c)))
    return set(cats) - hidden, hidden


# --- the figures (from the books) ---------------------------------------------------------


def publication_periods(books: Books, recipients: Mapping[str, Hashable],
                        rules: Rules = Rules()) -> Publication:
    """The fund's publication periods over its sealed months, each with its figures."""
    state = books.state
    sealed = [s.month for s in state.seals]
    flows = {m: month_flows(books.entries_of(m), state) for m in sealed}
    aid = [MonthAid.of(m, flows[m]) for m in sealed]
    plan, pending = plan_periods(aid, recipients, rules)
    by_month = {a.month: a for a in aid}
    periods = tuple(_period(state, [by_month[m] for m in months], [flows[m] for m in months],
                            recipients, rules) for months in plan)
    return Publication(periods, pending)


def _period(state: BooksState, aid: list[MonthAid], flows: list[Flows],
            who: Mapping[str, Hashable], rules: Rules) -> Period:
    months = tuple(a.month for a in aid)
    q = quantum(state.currency)
    categories = {acc.category_of(a) for a in state.opens if a.startswith(acc.AID_ROOT + ":")}
    shown, hidden = published_categories(aid, who, rules, categories)
    approvals, paid = _activity(aid)
    net = _net_approvals(state, months)
    approved = _table(approvals, who, shown, hidden, q, net)
    paid_table = _table(paid, who, shown, hidden, q, None)
    everyone = _group("all", approvals + paid, who)
    cash = tuple(CashBalance(a, _end_of(state, a, _before(months[0])).quantize(q),
                             _end_of(state, a, months[-1]).quantize(q))
                 for a in sorted(a for a in state.opens if acc.is_cash(a))
                 if state.opens[a] < first_day_after(months[-1]))
    changes = tuple((a, sum((state.monthly[a].get(m, ZERO) for m in months), ZERO).quantize(q))
                    for a in sorted(state.monthly)
                    if not acc.is_cash(a) and not a.startswith(acc.AID_ROOT + ":")
                    and not a.startswith(acc.DONATION_ROOT + ":"))
    return Period(months, state.currency, everyone.recipients, _donations(flows, q),
                  sum((f.fees for f in flows), ZERO).quantize(q), approved, paid_table, cash,
                  (-_end_of(state, acc.APPROVED, months[-1])).quantize(q), changes)


def _table(tables: list, who: Mapping[str, Hashable], shown: set[str], hidden: set[str],
           q: Decimal, net: Mapping[str, Decimal] | None) -> AidTable:
    """The published groups of one kind of aid (net amounts for approvals)."""
    def figure(label: str, cats: set[str]) -> AidGroup:
        g = _group(label, tables, who, cats)
        total = (sum((net.get(c, ZERO) for c in cats), ZERO) if net is not None else g.total)
        mid = Decimal(median(g.amounts)).quantize(q) if g.amounts else None
        return AidGroup(label, tuple(sorted(cats)), g.recipients, len(g.amounts),
                        total.quantize(q), mid)

    groups = [figure(c, {c}) for c in sorted(shown)]
    if hidden:
        groups.append(figure(COMBINED, hidden))
    return AidTable(tuple(groups), figure("all", shown | hidden))


def _net_approvals(state: BooksState, months: tuple[str, ...]) -> dict[str, Decimal]:
    """Per category, what its aid account moved over `months` (approved less cancelled)."""
    return {acc.category_of(a): sum((per.get(m, ZERO) for m in months), ZERO)
            for a, per in state.monthly.items() if a.startswith(acc.AID_ROOT + ":")}


def _donations(flows: list[Flows], q: Decimal) -> tuple[DonationKind, ...]:
    """Donations by kind over the period: count and gross total, refunds."""
    kinds = sorted({k for f in flows for k in f.gifts}
                   | {k for f in flows for k in f.refunds_by_kind})
    out = []
    for kind in kinds:
        gifts = [g for f in flows for g in f.gifts.get(kind, [])]
        refunds = [r for f in flows for r in f.refunds_by_kind.get(kind, [])]
        named = tuple(sorted({n for f in flows for n in f.named.get(kind, ())}))
        out.append(DonationKind(kind, len(gifts), sum(gifts, ZERO).quantize(q), len(refunds),
                                sum(refunds, ZERO).quantize(q), named))
    return tuple(out)


def _end_of(state: BooksState, account: str, month: str | None) -> Decimal:
    return state.balance_at_end_of(account, month) if month else ZERO


def _before(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - (mon == 1):04d}-{(mon - 2) % 12 + 1:02d}"
