"""The books folder a new fund gets (docs/design.md §3): files, includes, accounts.

`main.beancount` names each month file in its own include line, added when the month's
first entry is written, never a glob (BEANCOUNT-NOTES.md: the pickle cache ignores new
files matching a glob).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledger import Books, FundSettings, LedgerError, entries, init_books
from ledger.errors import BooksExist
from ledger_helpers import full_view

START = dt.date(2026, 1, 1)


def test_a_new_fund_gets_the_documented_files(tmp_path):
    books = init_books(tmp_path / "books", FundSettings("Test Fund"), START)
    names = sorted(str(p.relative_to(books.dir)) for p in books.dir.rglob("*.beancount"))
    assert names == ["accounts.beancount", "main.beancount", "seals.beancount"]
    main = books.main.read_text()
    assert 'option "title" "Test Fund"' in main
    assert 'option "operating_currency" "USD"' in main
    assert [line for line in main.splitlines() if line.startswith("include")] == [
        'include "accounts.beancount"', 'include "seals.beancount"']
    opens = sorted(books.state.opens)
    assert opens == sorted([
        "Assets:Fund:Bank", "Assets:Fund:Cash", "Assets:Fund:PayPal", "Assets:Fund:Venmo",
        "Income:Donations:Individual", "Income:Donations:Grant", "Income:Donations:Event",
        *(f"Expenses:Aid:{c}" for c in ("Rent", "Utilities", "Food", "Medical", "Legal",
                                        "Funeral", "Transport", "Other")),
        "Expenses:Operations:Fees", "Expenses:Operations:Other", "Liabilities:Aid:Approved",
        "Equity:Opening-Balances"])
    assert set(books.state.opens.values()) == {START}


def test_each_month_file_gets_one_include_line_when_first_written(books):
    books = Books.open(books.dir, clock=lambda: dt.date(2027, 12, 31))
    for day in (dt.date(2026, 1, 5), dt.date(2026, 3, 2), dt.date(2026, 3, 9),
                dt.date(2027, 1, 1)):
        books.post(entries.approval("R-2026-0042", day.day, day, "rent", Decimal("1"), "USD"))
    includes = [line for line in books.main.read_text().splitlines()
                if line.startswith("include")]
    assert includes == ['include "accounts.beancount"', 'include "seals.beancount"',
                        'include "2026/2026-01.beancount"', 'include "2026/2026-03.beancount"',
                        'include "2027/2027-01.beancount"']
    assert not any("*" in line or "?" in line for line in includes)
    assert books.includes() == [line.split('"')[1] for line in includes]
    assert not (books.dir / "2026" / "2026-02.beancount").exists()


def test_books_cannot_be_created_twice(books):
    main_before = books.main.read_bytes()
    with pytest.raises(BooksExist):
        init_books(books.dir, FundSettings("Other Fund"), START)
    assert books.main.read_bytes() == main_before


def test_opening_an_empty_folder(tmp_path):
    with pytest.raises(LedgerError, match="main.beancount is missing"):
        Books.open(tmp_path)
    assert not (tmp_path / "main.beancount").exists()


def test_opening_a_folder_that_does_not_exist(tmp_path):
    with pytest.raises(LedgerError, match="main.beancount is missing"):
        Books.open(tmp_path / "nothing")


def test_a_fund_with_its_own_policy(tmp_path):
    settings = FundSettings("Fondo Mutuo", currency="JPY",
                            cash_accounts=("Assets:Fund:Bank", "Assets:Fund:Yucho"),
                            aid_categories=("rent", "child-care"),
                            donation_categories=("individual",))
    books = init_books(tmp_path / "books", settings, START)
    state = books.state
    assert state.currency == "JPY"
    assert "Expenses:Aid:Child-Care" in state.opens
    assert "Expenses:Aid:Other" in state.opens  # always there, even if not listed
    assert state.cash_accounts() == ["Assets:Fund:Bank", "Assets:Fund:Yucho"]
    books.post(entries.opening_balance("Assets:Fund:Yucho", START, Decimal("50000"), "JPY"))
    books.post(entries.approval("R-2026-0001", 1, START, "child-care", Decimal("12000"), "JPY"))
    books.post(entries.payment("R-2026-0001", 1, START, "child-care", "bank",
                               "Assets:Fund:Yucho", Decimal("12000"), "JPY"))
    view = full_view(books.main)
    assert view.balances["Assets:Fund:Yucho"] == Decimal("38000")
    assert "12000 JPY" in (books.dir / "2026" / "2026-01.beancount").read_text()
    with pytest.raises(Exception, match="currency"):
        books.post(entries.approval("R-2026-0002", 1, START, "rent", Decimal("5"), "USD"))


def test_entries_of_a_month_reads_only_that_month(books):
    books = Books.open(books.dir, clock=lambda: dt.date(2026, 12, 31))
    books.post(entries.approval("R-2026-0001", 1, dt.date(2026, 1, 5), "rent",
                                Decimal("10"), "USD"))
    books.post(entries.approval("R-2026-0002", 1, dt.date(2026, 2, 5), "food",
                                Decimal("20"), "USD"))
    jan = books.entries_of("2026-01")
    assert {e.meta.get("carebooks-id") for e in jan} >= {"approve:R-2026-0001:1"}
    assert all(e.date.month == 1 for e in jan)
    assert [e.meta["carebooks-id"] for e in books.entries_of("2026-02")] == [
        "approve:R-2026-0002:1"]
    assert books.entries_of("2025-12") == []
    with pytest.raises(LedgerError):
        books.entries_of("2026-1")
