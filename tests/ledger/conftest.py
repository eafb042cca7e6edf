"""Fixtures for the ledger tests, and the check every test's books must pass.

Every books folder a test leaves under its `tmp_path` must be accepted by `bean-check`
(Beancount's loader with the hardcore validations, which is what the command runs) and
opened by Fava with zero errors: that is the public contract of docs/design.md §3. Tests that
break books on purpose opt out with `@pytest.mark.corrupts_books`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from ledger import Books, FundSettings, entries, init_books
from ledger_helpers import bean_check_errors, fava_errors

START = dt.date(2026, 1, 1)
OPENING = Decimal("1000.00")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ledger tests' own marker (pyproject's list belongs to the project)."""
    config.addinivalue_line(
        "markers", "corrupts_books: the test leaves books that bean-check or Fava reject on "
                   "purpose; skip the after-test books check")


@pytest.fixture
def books_dir(tmp_path: Path) -> Path:
    """Where the `books` fixture creates its books."""
    return tmp_path / "books"


@pytest.fixture
def books(books_dir: Path) -> Books:
    """Fresh books of "Test Fund" from 2026-01-01 with 1,000.00 USD opening in the bank."""
    fresh = init_books(books_dir, FundSettings("Test Fund"), START)
    fresh.post(entries.opening_balance("Assets:Fund:Bank", START, OPENING, "USD"))
    return fresh


@pytest.fixture(autouse=True)
def _books_stay_valid(request: pytest.FixtureRequest, tmp_path: Path):
    """After each test: every books folder under tmp_path passes bean-check and Fava."""
    yield
    if request.node.get_closest_marker("corrupts_books"):
        return
    problems = []
    for main in sorted(tmp_path.rglob("main.beancount")):
        for err in bean_check_errors(main):
            problems.append(f"bean-check {main}: {err}")
        for err in fava_errors(main):
            problems.append(f"fava {main}: {err}")
    assert not problems, "books left invalid:\n" + "\n".join(problems)
