"""Random treasurer sessions: the figures `Books.state` gives always equal a full load.

Hypothesis drives approve / pay / cancel / donate / refund / seal / move to the next
month / reopen, in any order and with amounts that are sometimes too big. After every
step the in-memory state (cash, committed, available, every balance, what is
outstanding per request) must equal both a plain model kept here and an independent
recomputation from `beancount.loader.load_file`; a refused step must leave every file
byte-for-byte as it was; and reopening with `Books.open` (the snapshot path) must give
the same state again.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (Bundle, RuleBasedStateMachine, initialize, invariant,
                                 precondition, rule, run_state_machine_as_test)

from ledger import Books, FundSettings, entries, init_books

LATER = lambda: dt.date(2027, 12, 31)  # noqa: E731  (the machine walks into 2027)
from ledger.errors import (CashBelowZero, ExceedsDonation, ExceedsOutstanding,
                           InvalidReference, MonthSealed, StatementMismatch)
from ledger_helpers import assert_state_matches, full_view, state_balances, tree_hashes

USD = "USD"
CASH = ["Assets:Fund:Bank", "Assets:Fund:Cash", "Assets:Fund:PayPal", "Assets:Fund:Venmo"]
AID = ["rent", "utilities", "food", "medical", "legal", "funeral", "transport", "other"]
GIFTS = ["individual", "grant", "event"]
METHODS = ["bank", "cash", "paypal", "venmo", "check"]
ZERO = Decimal(0)

cents = st.integers(min_value=1, max_value=60_000).map(lambda c: Decimal(c).scaleb(-2))
days = st.integers(min_value=1, max_value=28)
# how much of what is left to pay, cancel or refund: a share of it, all, one cent too
# much, or any amount at all
shares = st.one_of(st.integers(min_value=1, max_value=99), st.sampled_from(["all", "over"]),
                   cents)


def amount_of(share, left: Decimal) -> Decimal:
    """Turn a drawn `share` into an amount, given what is `left`."""
    if share == "all":
        return left if left > 0 else Decimal("0.01")
    if share == "over":
        return left + Decimal("0.01")
    if isinstance(share, int):
        return max((left * share / 100).quantize(Decimal("0.01")), Decimal("0.01"))
    return share


def next_month(month: tuple[int, int]) -> tuple[int, int]:
    year, mon = month
    return (year + mon // 12, mon % 12 + 1)


def label(month: tuple[int, int]) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


class BooksMachine(RuleBasedStateMachine):
    """One fund's books, driven at random, checked against a model and a full load."""

    base: Path  # set by the test: where each run's books folder goes

    requests = Bundle("requests")
    donations = Bundle("donations")

    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(dir=self.base)) / "books"
        self.books = init_books(self.dir, FundSettings("Test Fund"), dt.date(2026, 1, 1),
                                clock=LATER)
        self.month = (2026, 1)
        self.sealed: tuple[int, int] | None = None
        self.count = 0
        # the model: cash per account per day, and what is open per request/donation
        self.cash: dict[str, dict[dt.date, Decimal]] = {a: {} for a in CASH}
        self.outstanding: dict[str, Decimal] = {}
        self.categories: dict[str, str] = {}
        self.left: dict[str, Decimal] = {}
        self.seqs: dict[str, int] = {}

    # --- helpers -------------------------------------------------------------------------

    def code(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}-2026-{self.count:04d}"

    def seq(self, key: str) -> int:
        self.seqs[key] = self.seqs.get(key, 0) + 1
        return self.seqs[key]

    def date(self, day: int) -> dt.date:
        return dt.date(self.month[0], self.month[1], day)

    def move_cash(self, account: str, amount: Decimal, date: dt.date) -> None:
        per = self.cash[account]
        per[date] = per.get(date, ZERO) + amount

    def balance(self, account: str, through=None) -> Decimal:
        return sum((v for d, v in self.cash[account].items()
                    if through is None or (d.year, d.month) <= through), ZERO)

    def lowest_from(self, account: str, date: dt.date) -> Decimal:
        """The lowest end-of-day balance on `date` or later: what may still be taken out."""
        per = self.cash[account]
        running = sum((v for d, v in per.items() if d <= date), ZERO)
        lowest = running
        for d in sorted(d for d in per if d > date):
            running += per[d]
            lowest = min(lowest, running)
        return lowest

    def post_or_refuse(self, entry, refusal) -> bool:
        """Post; if `refusal` is an exception class, expect it and an untouched folder."""
        if refusal is None:
            assert self.books.post(entry).created
            return True
        before = tree_hashes(self.dir)
        state_before = state_balances(self.books.state)
        try:
            self.books.post(entry)
        except refusal:
            pass
        else:
            raise AssertionError(f"{entry.meta['carebooks-id']} was accepted; "
                                 f"expected {refusal.__name__}")
        assert tree_hashes(self.dir) == before
        assert state_balances(self.books.state) == state_before
        return False

    # --- rules ---------------------------------------------------------------------------

    @initialize()
    def opening_balance(self):
        self.books.post(entries.opening_balance("Assets:Fund:Bank", dt.date(2026, 1, 1),
                                                Decimal("1000.00"), USD))
        self.cash["Assets:Fund:Bank"][dt.date(2026, 1, 1)] = Decimal("1000.00")

    @rule(target=requests, category=st.sampled_from(AID), amount=cents, day=days)
    def approve(self, category, amount, day):
        code = self.code("R")
        self.books.post(entries.approval(code, 1, self.date(day), category, amount, USD))
        self.outstanding[code] = amount
        self.categories[code] = category
        return code

    @rule(code=requests, share=shares, day=days, account=st.sampled_from(CASH),
          method=st.sampled_from(METHODS))
    def pay(self, code, share, day, account, method):
        amount = amount_of(share, self.outstanding[code])
        refusal = (ExceedsOutstanding if amount > self.outstanding[code]
                   else CashBelowZero if amount > self.lowest_from(account, self.date(day))
                   else None)
        entry = entries.payment(code, self.seq("pay" + code), self.date(day),
                                self.categories[code], method, account, amount, USD)
        if self.post_or_refuse(entry, refusal):
            self.outstanding[code] -= amount
            self.move_cash(account, -amount, self.date(day))

    @rule(code=requests, share=shares, day=days)
    def cancel(self, code, share, day):
        amount = amount_of(share, self.outstanding[code])
        refusal = ExceedsOutstanding if amount > self.outstanding[code] else None
        entry = entries.cancellation(code, self.seq("cancel" + code), self.date(day),
                                     self.categories[code], amount, USD)
        if self.post_or_refuse(entry, refusal):
            self.outstanding[code] -= amount

    @rule(target=donations, category=st.sampled_from(GIFTS), account=st.sampled_from(CASH),
          amount=cents, fee=st.none() | cents, day=days,
          donor=st.none() | st.sampled_from(["María José", "محمد", "O'Brien & Co."]))
    def donate(self, category, account, amount, fee, day, donor):
        if fee is not None and fee >= amount:
            fee = None
        code = self.code("D")
        self.books.post(entries.donation(code, self.date(day), category, account, amount,
                                         USD, fee=fee, donor_name=donor))
        self.move_cash(account, amount - (fee or ZERO), self.date(day))
        self.categories[code] = category
        self.left[code] = amount
        return code

    @rule(code=donations, share=shares, day=days, account=st.sampled_from(CASH))
    def refund(self, code, share, day, account):
        amount = amount_of(share, self.left[code])
        refusal = (ExceedsDonation if amount > self.left[code]
                   else CashBelowZero if amount > self.lowest_from(account, self.date(day))
                   else None)
        entry = entries.donation_refund(code, self.seq("refund" + code), self.date(day),
                                        self.categories[code], account, amount, USD)
        if self.post_or_refuse(entry, refusal):
            self.left[code] -= amount
            self.move_cash(account, -amount, self.date(day))

    @precondition(lambda self: self.month < (2027, 6))
    @rule(and_seal=st.sampled_from([True, True, False]))
    def next_month(self, and_seal):
        """Time passes; usually the treasurer then reconciles and seals the month before."""
        self.month = next_month(self.month)
        if and_seal:
            while self.to_seal() < self.month:
                self.seal_next(None)

    def to_seal(self) -> tuple[int, int]:
        return next_month(self.sealed) if self.sealed else (2026, 1)

    @precondition(lambda self: self.to_seal() < self.month)
    @rule(mistake=st.sampled_from([None, "wrong-amount", "missing-bank"]))
    def seal(self, mistake):
        self.seal_next(mistake)

    def seal_next(self, mistake):
        """Seal the oldest open month with the model's balances, or with a `mistake`."""
        month = self.to_seal()
        statements = {a: self.balance(a, through=month) for a in CASH}
        refusal = None
        if mistake == "wrong-amount":
            statements["Assets:Fund:Bank"] += Decimal("0.01")
            refusal = StatementMismatch
        elif mistake == "missing-bank":
            del statements["Assets:Fund:Bank"]
            bank = "Assets:Fund:Bank"
            active = any((d.year, d.month) == month for d in self.cash[bank])
            if active or self.balance(bank, through=month) != 0:
                refusal = InvalidReference  # a statement is needed for an account in use
        today = dt.date(self.month[0], self.month[1], 1)
        if refusal is None:
            sealed = self.books.seal(label(month), statements, today=today)
            assert sealed.month == label(month)
            self.sealed = month
            return
        before = tree_hashes(self.dir)
        with pytest.raises(refusal):
            self.books.seal(label(month), statements, today=today)
        assert tree_hashes(self.dir) == before

    @precondition(lambda self: self.sealed is not None)
    @rule(day=days, amount=cents)
    def post_into_sealed_month(self, day, amount):
        date = dt.date(self.sealed[0], self.sealed[1], day)
        entry = entries.approval(self.code("R"), 1, date, "other", amount, USD)
        self.post_or_refuse(entry, MonthSealed)

    @rule()
    def reopen(self):
        before = self.books.state
        reopened = Books.open(self.dir, clock=LATER)
        assert reopened.load_mode == "snapshot"
        assert state_balances(reopened.state) == state_balances(before)
        assert reopened.state.ids == before.ids
        assert reopened.state.seals == before.seals
        assert reopened.state.entry_count == before.entry_count
        assert reopened.state.to_json() == before.to_json()  # links, months, opens: all of it
        self.books = reopened  # carry on writing through the reopened object

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def figures_equal_a_full_load_and_the_model(self):
        state = self.books.state
        view = full_view(self.dir / "main.beancount")
        assert_state_matches(state, view)
        for account in CASH:
            assert state.balance(account) == self.balance(account), account
        assert state.committed() == sum(self.outstanding.values(), ZERO)
        for code, amount in self.outstanding.items():
            assert state.outstanding(code) == amount, code
        assert state.available() == state.cash() - state.committed()
        assert state.sealed_through == (label(self.sealed) if self.sealed else None)

    def teardown(self):
        if hasattr(self, "books"):
            assert self.books.verify().ok


@pytest.mark.slow
def test_random_sessions_keep_state_equal_to_a_full_load(tmp_path):
    BooksMachine.base = tmp_path
    run_state_machine_as_test(
        BooksMachine,
        settings=settings(max_examples=50, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]))
