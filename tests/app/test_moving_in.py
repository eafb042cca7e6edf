"""A real fund moves in (issue 18, "Must show"): started three months back with what the
bank and PayPal held then, it imports three months of PayPal history (samples/paypal.csv,
its dates moved to those months), seals the three months in order against the
statements' balances and publishes their reports; bean-check, Fava and `carebooks check`
find nothing wrong. And a fund already running moves its start earlier to do the same.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from app import create_app
from app.workflow.people import add_person
from tests.app.conftest import PASSWORD, months_back
from tests.books_check import books_problems

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_FIRST_MONTH = (2026, 9)   # samples/paypal.csv runs from September to November 2026
# The statement balances at the end of each month (samples/README.md), by month offset.
STATEMENTS = [{"Assets:Fund:Bank": "1500.00", "Assets:Fund:PayPal": "279.32"},
              {"Assets:Fund:Bank": "1700.00", "Assets:Fund:PayPal": "113.01"},
              {"Assets:Fund:Bank": "1700.00", "Assets:Fund:PayPal": "214.36"}]
OPENINGS = ("Assets:Fund:Bank=1500.00", "paypal=120.00")


def paypal_history(start: dt.date) -> bytes:
    """samples/paypal.csv with its three months moved to the three months from `start`."""
    text = (ROOT / "samples" / "paypal.csv").read_text(encoding="utf-8")

    def move(m: re.Match) -> str:
        month, day, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        offset = (year - SAMPLE_FIRST_MONTH[0]) * 12 + month - SAMPLE_FIRST_MONTH[1]
        first = dt.date(start.year + (start.month - 1 + offset) // 12,
                        (start.month - 1 + offset) % 12 + 1, 1)
        return f'"{first.month:02d}/{day:02d}/{first.year}"'

    return re.sub(r'"(\d\d)/(\d\d)/(\d{4})"', move, text).encode()


def month_of(d: dt.date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _app(tmp_path: Path, database_url: str):
    return create_app(instance=tmp_path / "instance",
                      test_config={"DATABASE_URL": database_url, "TESTING": True,
                                   "RATELIMIT_ENABLED": False})


def _import_seal_publish(app, treasurer, start: dt.date) -> None:
    from app.fund import books
    from app.workflow import imports, months, reports

    data = paypal_history(start)
    with app.app_context():
        shown = imports.preview(treasurer, data, "paypal")
        assert shown["errors"] == [], shown["errors"]
        assert (len(shown["add"]), len(shown["refunds"]), len(shown["transfers"])) == (6, 1, 1)
        done = imports.confirm(treasurer, data, "paypal", digest=shown["digest"])
        assert done["added"] == 6 and len(done["refunds"]) == len(done["transfers"]) == 1
        for offset, balances in enumerate(STATEMENTS):
            month = month_of(months_back(dt.date.today(), 3 - offset))
            sealed = months.seal(treasurer, month, {"balances": balances})
            assert sealed["month"] == month
            published = reports.publish(treasurer, month, paper="letter")
            assert {p["lang"] for p in published} == {"en", "es"}, published
        state = books().state
        assert state.sealed_through == month_of(months_back(dt.date.today(), 1))
        assert state.balance("Assets:Fund:PayPal") == Decimal("214.36")
        assert state.balance("Equity:Opening-Balances") == Decimal("-1620.00")


def _all_clean(app, tmp_path: Path) -> None:
    from app.workflow.check import run_check

    with app.app_context():
        report = run_check()
    app.extensions["carebooks.engine"].dispose()
    assert report.ok, str(report)
    assert books_problems(tmp_path) == []   # bean-check (hardcore validations) and Fava


def test_a_fund_started_three_months_back_imports_seals_and_publishes_its_history(
        tmp_path, database_url):
    from app.workflow.start import create_fund

    today = dt.date.today()
    start = months_back(today, 3)
    app = _app(tmp_path, database_url)
    with app.app_context():
        made = create_fund("Riverside Mutual Aid", "USD", start=start.isoformat(),
                           openings=OPENINGS)
        assert made["start"] == start.isoformat()
        assert made["openings"] == {"Assets:Fund:Bank": "1500.00",
                                    "Assets:Fund:PayPal": "120.00"}
        treasurer = add_person("t@example.org", ["treasurer"], password=PASSWORD)
    _import_seal_publish(app, treasurer, start)
    _all_clean(app, tmp_path)


def test_a_running_fund_moves_its_start_earlier_and_then_takes_its_history(
        tmp_path, database_url):
    from app.fund import books
    from app.workflow.errors import InvalidInput
    from app.workflow.start import create_fund, move_start

    today = dt.date.today()
    start = months_back(today, 3)
    app = _app(tmp_path, database_url)
    with app.app_context():
        create_fund("Riverside Mutual Aid", "USD")   # this month, as `init` always did
        treasurer = add_person("t@example.org", ["treasurer"], password=PASSWORD)
        with pytest.raises(InvalidInput) as refused:
            move_start(treasurer, (today + dt.timedelta(days=40)).isoformat())
        assert refused.value.field == "start"
        moved = move_start(treasurer, start.isoformat(), OPENINGS)
        assert moved["accounts_moved"] > 0
        assert min(books().state.opens.values()) == start
        with pytest.raises(InvalidInput) as twice:   # the opening is there now
            move_start(treasurer, start.isoformat(), ("bank=1.00",))
        assert twice.value.field == "opening"
    _import_seal_publish(app, treasurer, start)
    with app.app_context():
        with pytest.raises(InvalidInput) as sealed:
            move_start(treasurer, months_back(today, 5).isoformat())
        assert "sealed" in sealed.value.message
    _all_clean(app, tmp_path)
