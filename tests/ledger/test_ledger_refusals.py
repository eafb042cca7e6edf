"""What the books refuse to record, and that a refusal leaves every file as it was.

Each refusal is its own exception class whose message carries the numbers a treasurer
needs; and for each one, every file under the books folder (books, seals, snapshot) is
byte-for-byte what it was before the call.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from beancount.core import amount as bc_amount
from beancount.core import data

from ledger import entries
from ledger.errors import (AccountNotOpen, BeforeBalanceAssertion, CashBelowZero,
                           EntryRefused, ExceedsDonation, ExceedsOutstanding, InvalidAmount,
                           MonthSealed, Unbalanced, WrongCurrency)
from ledger_helpers import full_view, state_balances, tree_hashes

JAN = dt.date(2026, 1, 10)
D = Decimal


def approve(books, code="R-2026-0042", amount="100.00", category="rent", date=JAN, seq=1):
    return books.post(entries.approval(code, seq, date, category, D(amount), "USD"))


def pay(code="R-2026-0042", amount="100.00", account="Assets:Fund:Bank", date=JAN, seq=1,
        category="rent"):
    return entries.payment(code, seq, date, category, "bank", account, D(amount), "USD")


def donate(books, code="D-2026-0001", amount="50.00", account="Assets:Fund:PayPal",
           date=JAN):
    return books.post(entries.donation(code, date, "individual", account, D(amount), "USD"))


def refused(books, entry, cls, *words):
    """Post `entry`, expect `cls` with `words` in the message, and no byte changed."""
    before = tree_hashes(books.dir)
    state_before = (state_balances(books.state), len(books.state.ids))
    with pytest.raises(cls) as info:
        books.post(entry)
    for word in words:
        assert word in info.value.message, (word, info.value.message)
    assert type(info.value) is cls
    assert tree_hashes(books.dir) == before
    assert (state_balances(books.state), len(books.state.ids)) == state_before
    assert books.entry(entry.meta["carebooks-id"]) is None
    return info.value


def test_payment_above_outstanding(books):
    approve(books, amount="100.00")
    books.post(pay(amount="30.00"))
    err = refused(books, pay(amount="70.01", seq=2), ExceedsOutstanding,
                  "70.01 USD", "70.00 USD", "R-2026-0042")
    assert err.rule == "exceeds-outstanding"
    books.post(pay(amount="70.00", seq=2))  # exactly what is left is fine
    assert books.state.outstanding("R-2026-0042") == 0


def test_payment_without_any_approval(books):
    refused(books, pay(code="R-2026-0999"), ExceedsOutstanding, "100.00 USD", "0.00 USD")


def test_cancellation_above_outstanding(books):
    approve(books, amount="200.00")
    books.post(pay(amount="150.00"))
    cancel = entries.cancellation("R-2026-0042", 1, JAN, "rent", D("60.00"), "USD")
    refused(books, cancel, ExceedsOutstanding, "60.00 USD", "50.00 USD")
    books.post(entries.cancellation("R-2026-0042", 1, JAN, "rent", D("50.00"), "USD"))
    assert books.state.committed() == 0


def test_refund_above_donation(books):
    donate(books, amount="50.00")
    books.post(entries.donation_refund("D-2026-0001", 1, JAN, "individual",
                                       "Assets:Fund:PayPal", D("20.00"), "USD"))
    refund = entries.donation_refund("D-2026-0001", 2, JAN, "individual",
                                     "Assets:Fund:PayPal", D("30.01"), "USD")
    refused(books, refund, ExceedsDonation, "30.01 USD", "30.00 USD", "D-2026-0001")


def test_refund_of_unknown_donation(books):
    refund = entries.donation_refund("D-2026-0404", 1, JAN, "individual",
                                     "Assets:Fund:Bank", D("1.00"), "USD")
    refused(books, refund, ExceedsDonation, "1.00 USD", "0.00 USD")


def test_cash_below_zero(books):
    approve(books, amount="500.00")
    donate(books, amount="120.00", account="Assets:Fund:Cash")
    err = refused(books, pay(amount="120.01", account="Assets:Fund:Cash"), CashBelowZero,
                  "Assets:Fund:Cash", "120.00 USD", "120.01 USD")
    assert err.rule == "cash-below-zero"
    books.post(pay(amount="120.00", account="Assets:Fund:Cash"))
    assert books.state.balance("Assets:Fund:Cash") == 0


def test_cash_below_zero_in_a_later_month(books):
    """A back-dated payment may not take a later month's closing balance below zero."""
    approve(books, amount="900.00")
    books.post(pay(amount="900.00", date=dt.date(2026, 2, 10)))  # bank: 100 left from Feb
    refused(books, pay(code="R-2026-0043", amount="100.01", date=JAN), ExceedsOutstanding)
    approve(books, code="R-2026-0043", amount="500.00")
    refused(books, pay(code="R-2026-0043", amount="100.01", date=JAN), CashBelowZero,
            "100.00 USD", "100.01 USD")


def test_account_not_open_before_its_open_date(books):
    early = entries.approval("R-2025-0001", 1, dt.date(2025, 12, 31), "rent", D("10"), "USD")
    refused(books, early, AccountNotOpen, "Expenses:Aid:Rent", "2025-12-31")


def test_unknown_accounts_are_not_open(books):
    approve(books, amount="100.00")
    refused(books, pay(amount="10.00", account="Assets:Fund:Safe"), AccountNotOpen,
            "Assets:Fund:Safe")
    crypto = entries.donation("D-2026-0002", JAN, "crypto", "Assets:Fund:Bank", D("5"), "USD")
    refused(books, crypto, AccountNotOpen, "Income:Donations:Crypto")
    opening = entries.opening_balance("Assets:Fund:Gold", JAN, D("5"), "USD")
    refused(books, opening, AccountNotOpen, "Assets:Fund:Gold")


def test_wrong_currency(books):
    eur = entries.approval("R-2026-0042", 1, JAN, "rent", D("100"), "EUR")
    refused(books, eur, WrongCurrency, "EUR", "USD", "Expenses:Aid:Rent")


def test_entry_in_a_sealed_month(books):
    books.seal("2026-01", {"Assets:Fund:Bank": D("1000.00")}, today=dt.date(2026, 2, 1))
    err = refused(books, entries.approval("R-2026-0042", 1, dt.date(2026, 1, 31), "rent",
                                          D("10"), "USD"),
                  MonthSealed, "2026-01-31", "2026-01")
    assert err.rule == "month-sealed"
    approve(books, date=dt.date(2026, 2, 1))  # the first day of the next month is open


def test_unbalanced_entry(books):
    meta = data.new_metadata("<test>", 0, {"carebooks-id": "hand:1"})
    postings = [data.Posting("Expenses:Aid:Rent", bc_amount.Amount(D("10.00"), "USD"),
                             None, None, None, None),
                data.Posting("Liabilities:Aid:Approved", bc_amount.Amount(D("-9.00"), "USD"),
                             None, None, None, None)]
    txn = data.Transaction(meta, JAN, "*", "Aid approved", "Rent", data.EMPTY_SET,
                           data.EMPTY_SET, postings)
    refused(books, txn, Unbalanced, "1.00 USD")


def test_amount_with_too_many_decimals_built_by_hand(books):
    meta = data.new_metadata("<test>", 0, {"carebooks-id": "hand:2"})
    postings = [data.Posting("Expenses:Aid:Rent", bc_amount.Amount(D("10.005"), "USD"),
                             None, None, None, None),
                data.Posting("Liabilities:Aid:Approved", bc_amount.Amount(D("-10.005"), "USD"),
                             None, None, None, None)]
    txn = data.Transaction(meta, JAN, "*", "Aid approved", "Rent", data.EMPTY_SET,
                           data.EMPTY_SET, postings)
    refused(books, txn, InvalidAmount, "10.005", "2 decimals")


def test_entry_before_a_hand_written_balance_assertion(books):
    """A treasurer's own `balance` line in an open month protects the days before it."""
    month = books.dir / "2026" / "2026-01.beancount"
    with month.open("a") as fh:
        fh.write("\n2026-01-20 balance Assets:Fund:Bank  1000.00 USD\n")
    approve(books, amount="10.00")
    refused(books, pay(amount="10.00", date=dt.date(2026, 1, 19)), BeforeBalanceAssertion,
            "Assets:Fund:Bank", "2026-01-20", "2026-01-19")
    books.post(pay(amount="10.00", date=dt.date(2026, 1, 20)))


def test_entry_without_carebooks_id_is_refused(books):
    txn = entries.approval("R-2026-0042", 1, JAN, "rent", D("10"), "USD")
    del txn.meta["carebooks-id"]
    before = tree_hashes(books.dir)
    with pytest.raises(EntryRefused, match="carebooks-id"):
        books.post(txn)
    assert tree_hashes(books.dir) == before


def test_refusals_leave_a_clean_full_load(books):
    """After a run of refusals the books still load to exactly the accepted entries."""
    approve(books, amount="100.00")
    for bad in (pay(amount="101.00"), pay(account="Assets:Fund:Safe"),
                entries.approval("R-2026-0050", 1, JAN, "rent", D("1"), "EUR")):
        with pytest.raises(EntryRefused):
            books.post(bad)
    view = full_view(books.main)
    assert view.transactions == 2  # the opening balance and the approval
    assert view.committed == D("100.00")


def test_transfer_cannot_take_cash_below_zero(books):
    move = entries.transfer("T-2026-0001", JAN, "Assets:Fund:Bank", "Assets:Fund:Cash",
                            D("1000.01"), "USD")
    refused(books, move, CashBelowZero, "Assets:Fund:Bank", "1,000.00 USD", "1,000.01 USD")
    books.post(entries.transfer("T-2026-0001", JAN, "Assets:Fund:Bank", "Assets:Fund:Cash",
                                D("1000.00"), "USD"))
    assert books.state.balance("Assets:Fund:Cash") == D("1000.00")
    assert books.state.cash() == D("1000.00")


def test_check_raises_what_post_would_and_writes_nothing(books):
    """`Books.check` is a dry run: the same refusal as `post`, and never a byte written."""
    approve(books, amount="100.00")
    before = tree_hashes(books.dir)
    with pytest.raises(ExceedsOutstanding, match="100.01 USD"):
        books.check(pay(amount="100.01"))
    with pytest.raises(CashBelowZero):
        books.check(pay(amount="100.00", account="Assets:Fund:Cash"))
    books.check(pay(amount="100.00"))  # would be accepted
    books.check(entries.approval("R-2026-0042", 1, JAN, "rent", D("100.00"), "USD"))  # present
    assert tree_hashes(books.dir) == before
    assert books.state.committed() == D("100.00")


def test_cancellation_must_reverse_the_approved_category(books):
    approve(books, amount="100.00", category="rent")
    wrong = entries.cancellation("R-2026-0042", 1, JAN, "food", D("100.00"), "USD")
    before = tree_hashes(books.dir)
    try:
        books.post(wrong)
    except EntryRefused:
        assert tree_hashes(books.dir) == before
    else:
        state = books.state
        raise AssertionError(f"accepted: Food {state.balance('Expenses:Aid:Food')}, "
                             f"Rent {state.balance('Expenses:Aid:Rent')}")


def test_refund_must_come_out_of_the_donated_category(books):
    donate(books, amount="50.00")  # individual
    wrong = entries.donation_refund("D-2026-0001", 1, JAN, "grant", "Assets:Fund:PayPal",
                                    D("50.00"), "USD")
    try:
        books.post(wrong)
    except EntryRefused:
        pass
    else:
        raise AssertionError("accepted: Income:Donations:Grant is now "
                             f"{books.state.balance('Income:Donations:Grant')}")


def test_an_entry_dated_after_today_is_refused(tmp_path):
    from ledger import FundSettings, init_books
    from ledger.errors import FutureDate

    books = init_books(tmp_path / "books", FundSettings("Test Fund"), JAN,
                       clock=lambda: dt.date(2026, 1, 10))
    before = tree_hashes(books.dir)
    with pytest.raises(FutureDate, match="2026-01-12 is after today"):
        books.post(entries.approval("R-2026-0042", 1, dt.date(2026, 1, 12), "rent",
                                    D("10.00"), "USD"))
    assert tree_hashes(books.dir) == before
    books.post(entries.approval("R-2026-0042", 1, dt.date(2026, 1, 10), "rent",
                                D("10.00"), "USD"))
