"""Fixtures for the report tests: one generated fund shared by the module's tests, and
PDF text.

The fund (`fund`) is six months from January 2026, the first four sealed, written by
`Books.post` and `Books.seal` exactly as the app writes. Its books must pass bean-check
and open in Fava like every books folder a test writes (checked once, at the end).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger import Books
from tests.books_check import books_problems
from tests.reports.fund import Plan, build, generate

SEED = 7
MONTHS = 6
SEALED = 4
TODAY = dt.date(2026, 7, 3)   # the day every test report is "prepared"
ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "reports"


@dataclass
class Fund:
    """A generated fund: its books, its plan (entries and facts) and its folder."""

    books: Books
    plan: Plan
    root: Path

    @property
    def main(self) -> Path:
        """The books' main file."""
        return self.root / "main.beancount"


@pytest.fixture(scope="session")
def fund(tmp_path_factory) -> Fund:
    """Six months of a fund, the first four sealed (built once per test session)."""
    root = tmp_path_factory.mktemp("fund") / "books"
    plan = generate(SEED, MONTHS)
    books = build(root, plan, seal=SEALED)
    yield Fund(books, plan, root)
    assert books_problems(root) == []


def pdf_text(pdf: bytes) -> list[str]:
    """The text of each page of a PDF, as pypdf extracts it."""
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
