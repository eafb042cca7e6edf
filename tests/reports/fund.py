"""Generated funds for the report tests: books written through `Books.post` and
`Books.seal` (as the app writes them), and the request facts the app would hand over.

`generate(seed, months)` plans a fund's life — donations, approvals only when the fund
can afford them, payments a few days later (sometimes in two parts), cancellations —
and returns the entries with one `RequestFact` per request. `build(root, ...)` writes
them with `Books.post` and seals the first months (about 0.2 s for 500 entries).
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ledger import Books, FundSettings, init_books
from ledger import entries as E
from ledger import Month, month_of
from reports.figures import RequestFact

CUR = "USD"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
CATEGORIES = ("rent", "utilities", "food", "medical", "transport", "legal", "funeral", "other")
WEIGHTS = (30, 15, 25, 10, 10, 4, 2, 4)
METHODS = {"Assets:Fund:Bank": "bank", "Assets:Fund:PayPal": "paypal",
           "Assets:Fund:Venmo": "venmo", "Assets:Fund:Cash": "cash"}
FAR_FUTURE = dt.date(2100, 1, 1)


@dataclass
class Plan:
    """A generated fund: its entries in date order, and the facts of its requests."""

    start: dt.date
    entries: list = field(default_factory=list)
    facts: list[RequestFact] = field(default_factory=list)

    def months(self) -> list[str]:
        """The months the entries cover, in order."""
        return sorted({month_of(e.date) for e in self.entries})


def generate(seed: int, months: int = 6, *, start: dt.date = dt.date(2026, 1, 1),
             people: int = 40, approvals_per_month: int = 30,
             donations_per_month: int = 25) -> Plan:
    """A fund's entries over `months` months that `Books.post` accepts, with facts."""
    rng = random.Random(seed)
    plan = Plan(start)
    cash = dict.fromkeys(METHODS, ZERO)
    committed = ZERO
    due: list = []
    outstanding: dict[str, Decimal] = {}
    categories: dict[str, str] = {}
    seqs: dict[str, int] = {}
    facts: dict[str, dict] = {}
    counters = {"R": 0, "D": 0}

    def code(kind: str, day: dt.date) -> str:
        counters[kind] += 1
        return f"{kind}-{day.year}-{counters[kind]:04d}"

    def money(lo: int, hi: int) -> Decimal:
        return (Decimal(rng.randint(lo * 100, hi * 100)) / 100).quantize(CENT)

    plan.entries.append(E.opening_balance("Assets:Fund:Bank", start, Decimal("3000.00"), CUR))
    cash["Assets:Fund:Bank"] += Decimal("3000.00")
    end = start
    for _ in range(months):
        end = Month.of(end).end
    day, order = start, 0
    p_don, p_app = donations_per_month / 30, approvals_per_month / 30
    while day < end:
        while due and due[0][0] <= day:
            _, _, c, action, amount = heapq.heappop(due)
            if action == "cancel":
                plan.entries.append(E.cancellation(c, 1, day, categories[c], amount, CUR))
            else:
                left = amount
                for account in sorted(cash, key=lambda a: -cash[a]):
                    take = min(left, cash[account])
                    if take <= 0:
                        continue
                    plan.entries.append(E.payment(c, seqs[c], day, categories[c],
                                                  METHODS[account], account, take, CUR))
                    seqs[c] += 1
                    cash[account] -= take
                    left -= take
                    facts[c].setdefault("first_paid_on", day)
                    if not left:
                        break
                assert not left
            outstanding[c] -= amount
            committed -= amount
        for _ in range(3):
            if rng.random() < p_don / 3:
                account = rng.choice(["Assets:Fund:Bank", "Assets:Fund:PayPal",
                                      "Assets:Fund:Venmo", "Assets:Fund:Cash"])
                gross = money(10, 400) if rng.random() < 0.95 else money(1000, 4000)
                fee = (gross * Decimal("0.029") + Decimal("0.30")).quantize(CENT) \
                    if account in ("Assets:Fund:PayPal", "Assets:Fund:Venmo") else None
                kind = rng.choices(["individual", "grant", "event"], [85, 5, 10])[0]
                d = code("D", day)
                plan.entries.append(E.donation(d, day, kind, account, gross, CUR, fee=fee,
                                               donor_name="Rosa Martínez"
                                               if rng.random() < 0.1 else None))
                cash[account] += gross - (fee or ZERO)
                if rng.random() < 0.05:
                    back = min(gross - (fee or ZERO), cash[account],
                               sum(cash.values()) - committed)
                    if back > 0:
                        plan.entries.append(E.donation_refund(d, 1, day, kind, account, back,
                                                              CUR))
                        cash[account] -= back
            if rng.random() < p_app / 3:
                amount = money(30, 700)
                if sum(cash.values()) - committed < amount:
                    continue
                c = code("R", day)
                category = rng.choices(CATEGORIES, WEIGHTS)[0]
                who = rng.randrange(people)
                plan.entries.append(E.approval(c, 1, day, category, amount, CUR))
                outstanding[c], categories[c], seqs[c] = amount, category, 1
                committed += amount
                requested = day - dt.timedelta(days=rng.randint(0, 12))
                facts[c] = {"recipient": who, "category": category, "requested_on": requested,
                            "needed_by": requested + dt.timedelta(days=rng.randint(3, 20))
                            if rng.random() < 0.9 else None}
                r = rng.random()
                if r < 0.8:
                    steps = [(rng.randint(1, 9), "pay", amount)]
                elif r < 0.9:
                    half = (amount / 2).quantize(CENT)
                    steps = [(rng.randint(1, 4), "pay", half),
                             (rng.randint(6, 15), "pay", amount - half)]
                else:
                    steps = [(rng.randint(1, 8), "cancel", amount)]
                for delay, action, amt in steps:
                    order += 1
                    when = min(day + dt.timedelta(days=delay), end - dt.timedelta(days=1))
                    heapq.heappush(due, (when, order, c, action, amt))
        day += dt.timedelta(days=1)
    plan.facts = [RequestFact(c, f["recipient"], f["category"], f["requested_on"],
                              f["needed_by"], f.get("first_paid_on"))
                  for c, f in sorted(facts.items())]
    return plan


def build(root: Path, plan: Plan, *, seal: int, name: str = "Mutual Aid Test Fund") -> Books:
    """Write `plan` with `Books.post` and seal its first `seal` months."""
    books = init_books(root, FundSettings(name), plan.start, clock=lambda: FAR_FUTURE)
    for entry in plan.entries:
        books.post(entry)
    seal_months(books, plan.months()[:seal])
    return books


def seal_months(books: Books, months: list[str]) -> None:
    """Seal `months` in order, each at the books' own balances (as a reconciled statement)."""
    for month in months:
        state = books.state
        statements = {a: state.balance_at_end_of(a, month) for a in state.cash_accounts()}
        books.seal(month, statements, today=FAR_FUTURE)

