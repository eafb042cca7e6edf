"""The public engine (reports.public): bands no narrower than one approval can be, the
live figure taken at the end of yesterday, and month-end balances only after a chain of
months whose aid passes the rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reports.public import Band, Disclosure, band, band_unit


@pytest.mark.parametrize("cap, unit", [("1000.00", 1000), ("999.99", 1000), ("1000.01", 2000),
                                       ("300", 500), ("50", 50), ("0", 1), ("7000", 10000)])
def test_the_band_unit_is_the_cap_rounded_up_to_1_2_or_5(cap, unit):
    assert band_unit(Decimal(cap)) == unit


@pytest.mark.parametrize("value, low, high", [
    ("-0.01", None, 0), ("0", 0, 1000), ("999.99", 0, 1000), ("1000", 1000, 2000),
    ("4999.99", 2000, 5000), ("5000", 5000, 10000), ("123456", 100000, 200000)])
def test_bands_follow_1_2_5_times_the_unit(value, low, high):
    assert band(Decimal(value), Decimal(1000)) == Band(
        None if low is None else Decimal(low), Decimal(high))


def test_no_band_is_narrower_than_the_unit():
    unit = Decimal(1000)
    for cents in range(0, 10_000_000, 99_991):
        b = band(Decimal(cents) / 100, unit)
        assert b.high - b.low >= unit


def test_balances_are_disclosed_only_along_an_unbroken_chain_of_passing_months():
    months = [("2026-01", True), ("2026-02", True), ("2026-03", False), ("2026-04", True)]
    assert Disclosure.of(months).balances == {"2026-01", "2026-02"}
    assert Disclosure.of([("2026-01", False), ("2026-02", True)]).balances == set()
