"""`Month`: the one home of `YYYY-MM` — parsing, arithmetic and the month's file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ledger import Month


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-11", "2026-11\n",
                                  "2026/11", "", None, 202611])
def test_a_month_that_is_not_yyyy_mm_is_refused(text):
    assert Month.parse(text) is None
    with pytest.raises(ValueError, match="not a month like 2026-11"):
        Month(text)


def test_a_month_is_its_text():
    month = Month("2026-11")
    assert month == "2026-11" and {"2026-11": 1}[month] == 1
    assert (month.year, month.number) == (2026, 11)
    assert Month.of(dt.date(2026, 11, 30)) == month == Month.at(2026, 11)


@pytest.mark.parametrize("month, shift, expected", [
    ("2026-12", 1, "2027-01"), ("2027-01", -1, "2026-12"), ("2026-11", -23, "2024-12"),
    ("2026-11", 0, "2026-11"), ("2026-11", 14, "2028-01")])
def test_month_arithmetic_crosses_years(month, shift, expected):
    assert Month(month).shift(shift) == expected


def test_days_and_file_of_a_month():
    month = Month("2024-02")
    assert (month.first_day, month.last_day, month.end) == (
        dt.date(2024, 2, 1), dt.date(2024, 2, 29), dt.date(2024, 3, 1))
    assert month.file == "2024/2024-02.beancount"
    assert month.path(Path("/books")) == Path("/books/2024/2024-02.beancount")
    assert list(Month("2025-11").until("2026-02")) == ["2025-11", "2025-12", "2026-01"]
