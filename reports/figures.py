"""The figures of one month's transparency report, computed from the books.

Everything money-related comes from `ledger` (the state and the month's own file), so
what the report says is what the public books say, and every figure can be reproduced
with `bean-query` (see `reports.verify`). The only thing the books cannot know is who
received aid: a request code is all they hold. The app may hand over plain
`RequestFact`s from its database (an opaque recipient number per request, and the
request's dates) for counts of distinct recipients, the dominance rule, and the time
from request to payment. Without them each request counts as its own recipient, and the
figures say so.

Aid figures go through `reports.privacy.protect`; dates go no finer than the month; no
text from a request and no donor name is ever part of the figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import median
from typing import TYPE_CHECKING, Hashable, Iterable

from beancount.core import data
from beancount.parser import parser

from ledger import accounts as acc
from ledger.books import SEALS
from ledger.money import quantum
from ledger.seal import first_day_after
from ledger.state import GENESIS, month_of
from reports.flows import Flows, month_flows
from reports.periods import Period, publication_periods
from reports.privacy import Group, Row, Rules, protect

if TYPE_CHECKING:
    from ledger.books import Books
    from ledger.state import BooksState

ZERO = Decimal(0)
TREND_MONTHS = 12
OTHER = "Not shown separately"   # the merged row's label in `protect`; rendered translated
TOTAL = "All aid"
FEWER, HIDDEN = "fewer", "privacy"   # why a cell is not shown
RECONCILED, DIFFERS, NOT_ASSERTED, NOT_SEALED = "reconciled", "differs", "not-asserted", \
    "not-sealed"


class FactsMismatch(ValueError):
    """The request facts handed over do not match the books (a missing code, a category)."""


@dataclass(frozen=True)
class RequestFact:
    """What the app's database knows about one request, as plain values.

    `recipient` is an opaque number standing for the person (never their id in the
    database, and stable only within one report); the dates stay inside `reports/`:
    only monthly aggregates of them are published.
    """

    code: str
    recipient: int
    category: str
    requested_on: dt.date
    needed_by: dt.date | None
    first_paid_on: dt.date | None


@dataclass(frozen=True)
class CashAccount:
    """One cash account over the month, and whether its month-end balance was asserted."""

    account: str
    opening: Decimal
    closing: Decimal
    status: str                  # RECONCILED, DIFFERS, NOT_ASSERTED or NOT_SEALED
    asserted: Decimal | None     # the statement balance the seal asserted, if sealed

    @property
    def name(self) -> str:
        """`Assets:Fund:PayPal` -> `PayPal`."""
        return self.account.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class DonationKind:
    """Donations of one kind (`individual`, `grant`, `event`) in the month."""

    kind: str
    count: int
    total: Decimal


@dataclass(frozen=True)
class Donations:
    """Money in: donations (gross, count, processor fees) and refunds given back."""

    count: int
    total: Decimal
    fees: Decimal
    refunds_count: int
    refunds_total: Decimal
    by_kind: tuple[DonationKind, ...]

    @property
    def net(self) -> Decimal:
        """Donations less refunds (fees are an expense, not a refund)."""
        return self.total - self.refunds_total


@dataclass(frozen=True)
class AidCell:
    """One published cell of aid: a category, the merged row, or the total.

    When `hidden` is set (FEWER or HIDDEN) every number is None: nothing about the
    cell is published but its label and the reason.
    """

    label: str                   # a category ("rent"), OTHER or TOTAL
    accounts: tuple[str, ...]    # the books accounts the cell adds up (for bean-query)
    recipients: int | None
    requests: int | None
    total: Decimal | None
    median: Decimal | None
    hidden: str | None = None

    @property
    def shown(self) -> bool:
        """True when the figures are published."""
        return self.hidden is None


@dataclass(frozen=True)
class AidTable:
    """Aid by category under the privacy rules: rows, the merged row (if any), the total."""

    rows: tuple[AidCell, ...]
    other: AidCell | None
    total: AidCell


@dataclass(frozen=True)
class Timing:
    """Days from request to first payment, for requests first paid in the month."""

    requests: int | None
    median_days: int | None
    on_time_share: Decimal | None   # paid on or before the needed-by date, 0..1
    hidden: str | None = None

    @property
    def shown(self) -> bool:
        """True when the figures are published."""
        return self.hidden is None


@dataclass(frozen=True)
class TrendPoint:
    """One month of the 12-month trend: cash at its end, donations less refunds, aid paid.

    In a report, `aid_paid` is None for a month whose aid total is hidden and `cash` for a
    month whose balances are not disclosed (`public_trend`); the exact `trend` fills both.
    """

    month: str
    cash: Decimal | None
    donations: Decimal
    aid_paid: Decimal | None


@dataclass(frozen=True)
class SealInfo:
    """A month's seal, or `sealed=False` with empty hashes."""

    month: str
    sealed: bool
    file_sha256: str = ""
    prev: str = ""
    seal_hash: str = ""
    merkle_root: str = ""        # "" for months sealed before Merkle roots existed

    @property
    def first(self) -> bool:
        """True for the first seal of the chain (its previous hash is 64 zeros)."""
        return self.prev == GENESIS


@dataclass(frozen=True)
class MonthFigures:
    """Everything the month's report shows; money as `Decimal`, dates no finer than the month."""

    fund: str
    month: str
    currency: str
    prepared_on: dt.date
    month_over: bool
    rules: Rules
    per_request: bool              # True: no facts given, each request counted as a recipient
    accounts: tuple[CashAccount, ...]
    donations: Donations
    aid_approved: AidTable
    aid_paid: AidTable
    cancelled: AidCell
    outstanding: Decimal           # approved and unpaid at the end of the month
    available: Decimal             # cash at the end of the month less `outstanding`
    timing: Timing | None          # None when no facts were given
    trend: tuple[TrendPoint, ...]
    seal: SealInfo
    latest_seal: SealInfo | None   # the newest seal of the chain (may be a later month)
    treasurers: int                # how many: a handle never leaves the fund
    attested: int = 0              # auditors whose `carebooks audit` of the month passed
    balances_shown: bool = True    # month-end cash (`balances_chain`); outstanding and
                                   # available never leave the fund exactly (docs/privacy.md)
    period: Period | None = None   # the publication period holding the month, once closed
    pending: bool = False          # sealed, waiting for later months to close its period

    @property
    def opening_cash(self) -> Decimal:
        """Cash across the accounts at the start of the month."""
        return sum((a.opening for a in self.accounts), ZERO)

    @property
    def closing_cash(self) -> Decimal:
        """Cash across the accounts at the end of the month."""
        return sum((a.closing for a in self.accounts), ZERO)


# --- computing ----------------------------------------------------------------------------


def month_figures(books: Books, month: str, *, facts: Iterable[RequestFact] = (),
                  rules: Rules = Rules(), treasurers: int = 0,
                  today: dt.date | None = None) -> MonthFigures:
    """The figures of `month` ("YYYY-MM") from `books`, under the privacy `rules`.

    What a reader could combine is protected here, once for every document: the trend
    shows a month's aid only where that month's aid total is shown, and cash (in the
    trend and as the month's balances) only along `balances_chain`."""
    today = today or dt.date.today()
    entries = books.entries_of(month)   # validates `month`
    state = books.state
    cur = state.currency
    facts = tuple(facts)
    by_code = _index_facts(facts)
    flows = month_flows(entries, state)
    _check_facts(by_code, flows)

    def who(code: str) -> Hashable:
        return by_code[code].recipient if by_code else code

    approved = _aid_table(flows.approved, state, who, rules)
    paid = _aid_table(flows.paid, state, who, rules)
    cancelled = _single_cell(flows.cancelled, who, rules)
    seal = _seal_info(state, month)
    accounts = _cash_accounts(books, state, month, seal.sealed)
    q = quantum(cur)
    outstanding = -state.balance_at_end_of(acc.APPROVED, month)
    closing = sum((a.closing for a in accounts), ZERO)
    def anyone(code: str) -> Hashable:  # earlier months: a hand entry may have no fact
        return by_code[code].recipient if code in by_code else code

    if not _difference_safe(books, state, month, anyone, rules):
        approved = _suppressed(approved)
    paid_shown = _paid_shown_by_month(books, state, month, anyone, rules,
                                      paid.total.shown)
    shown = balances_chain(paid_shown.items())
    period, pending = _period_of(books, month, _Themselves(
        (f.code, f.recipient) for f in facts), rules)
    return MonthFigures(
        fund=_fund_title(books), month=month, currency=cur, prepared_on=today,
        month_over=today >= first_day_after(month), rules=rules, per_request=not by_code,
        accounts=accounts, donations=_donations(flows, q), aid_approved=approved,
        aid_paid=paid, cancelled=cancelled, outstanding=outstanding.quantize(q),
        available=(closing - outstanding).quantize(q),
        timing=_timing(facts, month, rules) if by_code else None,
        trend=public_trend(state, month, paid_shown, shown), seal=seal,
        latest_seal=_as_info(state.last_seal) if state.last_seal else None,
        treasurers=int(treasurers), balances_shown=month in shown, period=period,
        pending=pending)


class _Themselves(dict):
    """Request code -> recipient; a code without a fact stands for its own recipient."""

    def __missing__(self, code: str) -> str:
        return code


def _period_of(books: Books, month: str, recipients: dict,
               rules: Rules) -> tuple[Period | None, bool]:
    """The publication period holding `month` (None if it has none yet), and whether the
    month is sealed and waits for a period (`reports.periods`): the community's books
    publish the same periods, so the report can point at them."""
    publication = publication_periods(books, recipients, rules)
    period = next((p for p in publication.periods if month in p.months), None)
    return period, month in publication.pending


def balances_chain(passes: Iterable[tuple[str, bool]]) -> set[str]:
    """The months whose closing cash may be published: a month whose aid paid total is
    shown, after an unbroken run of such months since the books began.

    With exact donations published, two published closing balances around a hidden
    month would give that month's aid away (opening + donations - fees - aid = closing),
    and so would an opening balance after it. Until months merge into publication
    periods, a month after a hidden one shows no balance.

    What is approved and not yet paid at a month's end (and so what was available) is
    never published exactly: it is a stock that may be one person's unpaid remainder,
    which their next payment would then repeat (the adversarial audit found it).
    """
    ok, chain = set(), True
    for month, passed in sorted(passes):
        chain = chain and passed
        if chain:
            ok.add(month)
    return ok


def _difference_safe(books: Books, state: BooksState, month: str, who,
                     rules: Rules) -> bool:
    """Secondary suppression of the approved table against the paid one.

    Approved − paid − cancelled in a month is the change in what is owed: it falls on the
    requests with something unpaid at the month's start or end, and on those cancelled
    in it. When those are 1 to k−1 people, the approved and paid totals together give
    their amounts away (the adversarial audit found a remainder paid the next month this
    way), so the approved figures of the month are not shown.
    """
    owed: dict[str, Decimal] = {}
    for m in state.months():
        if m > month:
            break
        flows = month_flows(books.entries_of(m), state)
        touched = {c for c, v in owed.items() if v}
        for table, sign in ((flows.approved, 1), (flows.paid, -1), (flows.cancelled, -1)):
            for per in table.values():
                for code, amount in per.items():
                    owed[code] = owed.get(code, ZERO) + sign * amount
        if m == month:
            touched |= {c for c, v in owed.items() if v}
            touched |= {c for per in flows.cancelled.values() for c in per}
            people = {who(c) for c in touched}
            return not people or len(people) >= rules.k
    return True


def _suppressed(table: AidTable) -> AidTable:
    """`table` with every figure hidden (secondary suppression)."""
    def hide(cell: AidCell) -> AidCell:
        return AidCell(cell.label, cell.accounts, None, None, None, None, HIDDEN)
    return AidTable(tuple(hide(c) for c in table.rows),
                    hide(table.other) if table.other else None, hide(table.total))


def _paid_shown_by_month(books: Books, state: BooksState, month: str, who, rules: Rules,
                         this_month: bool) -> dict[str, bool]:
    """For each month with postings up to `month`: whether its aid paid total is shown."""
    out = {month: this_month}
    for m in state.months():
        if m < month:
            flows = month_flows(books.entries_of(m), state)
            out[m] = _aid_table(flows.paid, state, who, rules).total.shown
    return out


def public_trend(state: BooksState, month: str, paid_shown: dict[str, bool],
                 shown: set[str]) -> tuple[TrendPoint, ...]:
    """`trend`, with aid paid only where the month's aid paid total is shown, and cash
    only in `shown` (`balances_chain`)."""
    return tuple(TrendPoint(p.month, p.cash if p.month in shown else None, p.donations,
                            p.aid_paid if paid_shown.get(p.month, True) else None)
                 for p in trend(state, month))


def _donations(flows: Flows, q: Decimal) -> Donations:
    """The month's donations by kind, refunds and fees, quantized to `q`."""
    kinds = tuple(DonationKind(k, len(v), sum(v, ZERO).quantize(q))
                  for k, v in sorted(flows.gifts.items()))
    return Donations(count=sum(k.count for k in kinds),
                     total=sum((k.total for k in kinds), ZERO).quantize(q),
                     fees=flows.fees.quantize(q), refunds_count=len(flows.refunds),
                     refunds_total=sum(flows.refunds, ZERO).quantize(q), by_kind=kinds)


def _index_facts(facts: tuple[RequestFact, ...]) -> dict[str, RequestFact]:
    by_code: dict[str, RequestFact] = {}
    for fact in facts:
        if fact.code in by_code:
            raise FactsMismatch(f"facts: {fact.code} is given twice")
        by_code[fact.code] = fact
    return by_code


def _check_facts(by_code: dict[str, RequestFact], flows: Flows) -> None:
    """With facts given, every request of the month needs one, in the books' category."""
    if not by_code:
        return
    missing = sorted(flows.codes() - by_code.keys())
    if missing:
        raise FactsMismatch(f"facts: no fact for {', '.join(missing[:5])}"
                            + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    for table in (flows.approved, flows.paid, flows.cancelled):
        for category, per in table.items():
            for code in per:
                if by_code[code].category != category:
                    raise FactsMismatch(f"facts: {code} is {by_code[code].category!r} in the "
                                        f"facts but {category!r} in the books")


def _groups(table: dict[str, dict[str, Decimal]], categories: list[str], who) -> list[Group]:
    groups = []
    for category in categories:
        group = Group(category)
        for code, amount in sorted(table.get(category, {}).items()):
            if amount:
                group.add(who(code), amount)
        groups.append(group)
    return groups


def _cell(row: Row, accounts: tuple[str, ...], rules: Rules) -> AidCell:
    if row.shown:
        return AidCell(row.label, accounts, row.recipients, row.requests, row.total, row.median)
    hidden = FEWER if row.note == f"fewer than {rules.k}" else HIDDEN
    return AidCell(row.label, accounts, None, None, None, None, hidden)


def _aid_table(table: dict[str, dict[str, Decimal]], state: BooksState, who,
               rules: Rules) -> AidTable:
    """Aid by category, one row per aid account the fund has open, under the rules."""
    categories = sorted({acc.category_of(a) for a in state.opens
                         if a.startswith(acc.AID_ROOT + ":")} | set(table))
    groups = _groups(table, categories, who)
    rows, merged, total = protect(groups, rules, other_label=OTHER, total_label=TOTAL)
    cells = tuple(_cell(r, (acc.aid_account(r.label),), rules) for r in rows)
    # the combined row's accounts: every category not listed, the empty ones too, so the
    # check that reproduces it does not name which categories had aid
    hidden_accounts = tuple(c.accounts[0] for c in cells if not (c.shown and c.requests))
    other = _cell(merged, hidden_accounts, rules) if merged is not None else None
    everything = tuple(acc.aid_account(c) for c in categories)
    return AidTable(cells, other, _cell(total, everything, rules))


def _single_cell(table: dict[str, dict[str, Decimal]], who, rules: Rules) -> AidCell:
    """All categories as one cell (cancellations), under the same rules."""
    group = Group(TOTAL)
    for per in table.values():
        for code, amount in sorted(per.items()):
            group.add(who(code), amount)
    _, _, total = protect([group], rules, other_label=OTHER, total_label=TOTAL)
    return _cell(total, tuple(acc.aid_account(c) for c in sorted(table)), rules)


def _timing(facts: tuple[RequestFact, ...], month: str, rules: Rules) -> Timing:
    """Median days from request to first payment and the share paid by the needed-by date."""
    paid = [f for f in facts if f.first_paid_on is not None and month_of(f.first_paid_on) == month]
    if not paid:
        return Timing(0, None, None)
    if len({f.recipient for f in paid}) < rules.k:
        return Timing(None, None, None, FEWER)
    days = median((f.first_paid_on - f.requested_on).days for f in paid)
    with_date = [f for f in paid if f.needed_by is not None]
    share = (Decimal(sum(f.first_paid_on <= f.needed_by for f in with_date)) / len(with_date)
             ).quantize(Decimal("0.01")) if with_date else None
    return Timing(len(paid), int(Decimal(days).quantize(Decimal(1), ROUND_HALF_EVEN)), share)


def _cash_accounts(books: Books, state: BooksState, month: str,
                   sealed: bool) -> tuple[CashAccount, ...]:
    """Each cash account open at some point in the month: opening, closing, reconciliation."""
    start = dt.date.fromisoformat(month + "-01")
    end = first_day_after(month)
    prev = month_of(start - dt.timedelta(days=1))
    q = quantum(state.currency)
    asserted = _asserted_balances(books, end) if sealed else {}
    out = []
    for account in sorted(a for a in state.opens if acc.is_cash(a)):
        if state.opens[account] >= end or state.closes.get(account, end) < start:
            continue
        closing = state.balance_at_end_of(account, month).quantize(q)
        given = asserted.get(account)
        if not sealed:
            status = NOT_SEALED
        elif given is None:
            status = NOT_ASSERTED
        else:
            status = RECONCILED if given == closing else DIFFERS
        out.append(CashAccount(account, state.balance_at_end_of(account, prev).quantize(q),
                               closing, status, given))
    return tuple(out)


def _asserted_balances(books: Books, date: dt.date) -> dict[str, Decimal]:
    """The `balance` assertions a seal wrote on `date`, read from seals.beancount.

    BooksState keeps only the date of the last assertion per account, not its amount,
    so this reads the (small, append-only) seals file itself.
    """
    text = (books.dir / SEALS).read_text(encoding="utf-8")
    entries, _, _ = parser.parse_string(text, report_filename=SEALS)
    return {e.account: e.amount.number for e in entries
            if isinstance(e, data.Balance) and e.date == date}


def _as_info(seal) -> SealInfo:
    return SealInfo(seal.month, True, seal.file_sha256, seal.prev, seal.seal_hash,
                    seal.merkle_root)


def _seal_info(state: BooksState, month: str) -> SealInfo:
    seal = next((s for s in state.seals if s.month == month), None)
    return _as_info(seal) if seal else SealInfo(month, False)


def trend(state: BooksState, month: str) -> tuple[TrendPoint, ...]:
    """Up to 12 months ending with `month`, from the books' monthly totals (no parsing).

    Aid paid in a month is the change of Liabilities:Aid:Approved plus the net change of
    the aid accounts: approvals add to both, cancellations take from both, and only
    payments are left over.
    """
    first = min((d for a, d in state.opens.items() if acc.is_cash(a)), default=None)
    if first is None:
        return ()
    months = [month]
    while len(months) < TREND_MONTHS and months[0] > month_of(first):
        months.insert(0, _previous(months[0]))
    q = quantum(state.currency)
    cash_accounts = [a for a in state.monthly if acc.is_cash(a)]
    aid_accounts = [a for a in state.monthly if a.startswith(acc.AID_ROOT + ":")]
    gift_accounts = [a for a in state.monthly if a.startswith(acc.DONATION_ROOT + ":")]

    def change(accounts: list[str], m: str) -> Decimal:
        return sum((state.monthly[a].get(m, ZERO) for a in accounts), ZERO)

    cash = sum((state.balance_at_end_of(a, _previous(months[0])) for a in cash_accounts), ZERO)
    points = []
    for m in months:
        cash += change(cash_accounts, m)
        paid = state.monthly.get(acc.APPROVED, {}).get(m, ZERO) + change(aid_accounts, m)
        points.append(TrendPoint(m, cash.quantize(q), (-change(gift_accounts, m)).quantize(q),
                                 paid.quantize(q)))
    return tuple(points)


def _previous(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - (mon == 1):04d}-{(mon - 2) % 12 + 1:02d}"


def _fund_title(books: Books) -> str:
    """The fund's name: the `title` option of main.beancount."""
    _, _, options = parser.parse_string(books.main.read_text(encoding="utf-8"))
    return str(options.get("title") or "")

