"""A small demo fund for `make run`: a few months of donations, requests and payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from ledger import Books, FundSettings, entries as E, init_books


def _months_back(today: dt.date, n: int) -> dt.date:
    year, month = today.year, today.month - n
    while month <= 0:
        year, month = year - 1, month + 12
    return dt.date(year, month, 1)


def create_demo_books(books_dir: Path, today: dt.date | None = None) -> Books:
    """Create books for "Neighbours Mutual Aid" starting three months ago, two months sealed."""
    today = today or dt.date.today()
    start = _months_back(today, 3)
    books = init_books(books_dir, FundSettings("Neighbours Mutual Aid"), start)
    cur = books.currency
    post = books.post
    post(E.opening_balance("Assets:Fund:Bank", start, Decimal("2400.00"), cur))
    months = [_months_back(today, n) for n in (3, 2, 1, 0)]
    seq = 0
    for i, first in enumerate(months):
        def day(d: int, first: dt.date = first) -> dt.date:
            return min(first.replace(day=d), today)
        for j, (amount, fee, account, cat, name) in enumerate([
                ("50.00", "1.75", "Assets:Fund:PayPal", "individual", None),
                ("120.00", None, "Assets:Fund:Bank", "individual", "Rosa Martínez"),
                ("300.00", None, "Assets:Fund:Bank", "event", None)]):
            seq += 1
            post(E.donation(f"D-{first.year}-{seq:04d}", day(2 + j), cat, account,
                            Decimal(amount), cur, fee=Decimal(fee) if fee else None,
                            donor_name=name))
        for k, (amount, cat, method) in enumerate([("450.00", "rent", "bank"),
                                                   ("85.00", "food", "cash"),
                                                   ("120.00", "medical", "bank")]):
            code = f"R-{first.year}-{i * 3 + k + 1:04d}"
            post(E.approval(code, 1, day(5 + k), cat, Decimal(amount), cur))
            if i < 3 or k == 0:
                account = "Assets:Fund:Cash" if method == "cash" else "Assets:Fund:Bank"
                if method == "cash":
                    post(E.transfer(f"T-{first.year}-{i + 1:04d}", day(4), "Assets:Fund:Bank",
                                    "Assets:Fund:Cash", Decimal("100.00"), cur))
                post(E.payment(code, 1, day(9 + k), cat, method, account, Decimal(amount), cur))
    state = books.state
    for first in months[:2]:
        month = f"{first.year:04d}-{first.month:02d}"
        statements = {a: state.balance_at_end_of(a, month) for a in state.cash_accounts()}
        books.seal(month, statements, today=today)
    return books
