"""A small demo fund for `make run`: people, a few months of donations, requests,
approvals and payments, all through the workflow, two months sealed."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from flask import current_app

from app.migrate import upgrade
from app.workflow import donations, months, requests
from app.workflow.people import add_person
from ledger import FundSettings, Month, init_books, month_of

DEMO_PEOPLE = [("alex@example.org", ["treasurer"], "alex"), ("bea@example.org", ["treasurer"], "bea"),
               ("admin@example.org", ["admin"], "admin")]


def _months_back(today: dt.date, n: int) -> dt.date:
    return Month.of(today).shift(-n).first_day


def create_demo(today: dt.date | None = None, *, password: str | None = None) -> str:
    """Create the demo fund "Neighbours Mutual Aid" in the current app's instance; return
    the password its people share (made up here, never a fixed default)."""
    today = today or dt.date.today()
    start = _months_back(today, 3)
    upgrade(current_app.config["DATABASE_URL"])
    books = init_books(Path(current_app.config["BOOKS_DIR"]),
                       FundSettings("Neighbours Mutual Aid"), start)
    password = password or secrets.token_urlsafe(12)
    alex, bea, _ = (add_person(e, r, handle=h, password=password) for e, r, h in DEMO_PEOPLE)
    members = [add_person(f"member{i}@example.org", ["member"], handle=f"neighbour{i}",
                          password=password) for i in range(1, 9)]
    from ledger import entries as E
    from decimal import Decimal
    books.post(E.opening_balance("Assets:Fund:Bank", start, Decimal("2400.00"), books.currency))
    n = 0
    for back in (3, 2, 1, 0):
        first = _months_back(today, back)

        def day(d: int, first: dt.date = first) -> dt.date:
            return min(first.replace(day=d), today)

        for j, (amount, fee, account, cat, name) in enumerate([
                ("50.00", "1.75", "Assets:Fund:PayPal", "individual", None),
                ("120.00", None, "Assets:Fund:Bank", "individual", "Rosa Martínez"),
                ("300.00", None, "Assets:Fund:Bank", "event", None)]):
            donations.record(alex, {"amount": amount, "fee": fee, "account": account,
                                    "date": day(2 + j).isoformat(), "category": cat,
                                    "donor_name": name, "donor_consents_public": bool(name)},
                             today=today)
        for k, (amount, cat, method) in enumerate([("180.00", "rent", "bank"),
                                                   ("85.00", "food", "bank"),
                                                   ("120.00", "medical", "bank")]):
            member = members[n % len(members)]
            n += 1
            req = requests.submit(member, {"amount": amount, "category": cat,
                                           "needed_by": day(20).isoformat(),
                                           "payout_method": method,
                                           "story": "Demo request."}, today=day(4 + k))
            requests.approve(alex, req["code"], {}, today=day(5 + k))
            if back > 0 or k == 0:
                requests.pay(bea, req["code"], {"amount": amount, "account": "Assets:Fund:Bank",
                                                "date": day(9 + k).isoformat()}, today=today)
    state = books.state
    for back in (3, 2):
        month = month_of(_months_back(today, back))
        balances = {a: str(state.balance_at_end_of(a, month)) for a in state.cash_accounts()}
        months.seal(alex, month, {"balances": balances}, today=today)
    return password
