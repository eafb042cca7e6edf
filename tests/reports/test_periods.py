"""Publication periods: months merge until their aid covers k people, nobody dominant."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reports.periods import MonthAid, UnknownRequest, plan_periods, \
    publication_periods, published_categories
from reports.flows import month_flows
from reports.privacy import Rules

D = Decimal
RULES = Rules(k=3, dominance=D("0.60"))


def month(m: str, approved=None, paid=None, cancelled=None) -> MonthAid:
    """A month's aid from {category: {code: amount}} tables."""
    return MonthAid(m, approved or {}, cancelled or {}, paid or {})


def test_months_merge_until_k_people_are_helped():
    who = {"R-1": 1, "R-2": 2, "R-3": 3, "R-4": 4}
    months = [month("2026-01", {"rent": {"R-1": D(100)}}),
              month("2026-02", {"rent": {"R-2": D(100)}}),
              month("2026-03", {"food": {"R-3": D(100)}}),
              month("2026-04", {"food": {"R-4": D(100)}})]
    periods, pending = plan_periods(months, who, RULES)
    assert periods == [("2026-01", "2026-02", "2026-03")]
    assert pending == ("2026-04",)


def test_one_person_twice_is_one_recipient():
    who = {"R-1": 1, "R-2": 1, "R-3": 2, "R-4": 3}
    months = [month("2026-01", {"rent": {"R-1": D(100), "R-2": D(100), "R-3": D(100)}}),
              month("2026-02", {"rent": {"R-4": D(100)}})]
    assert plan_periods(months, who, RULES) == ([("2026-01", "2026-02")], ())


def test_a_dominant_recipient_keeps_the_period_open():
    who = {"R-1": 1, "R-2": 2, "R-3": 3, "R-4": 4}
    months = [month("2026-01", {"rent": {"R-1": D(1000), "R-2": D(10), "R-3": D(10)}}),
              month("2026-02", {"rent": {"R-4": D(900)}})]
    assert plan_periods(months, who, RULES) == ([("2026-01", "2026-02")], ())


def test_payments_need_k_people_too():
    who = {f"R-{i}": i for i in range(1, 6)}
    approved = {"rent": {f"R-{i}": D(100) for i in range(1, 4)}}
    months = [month("2026-01", approved, paid={"rent": {"R-1": D(100)}}),
              month("2026-02", paid={"rent": {"R-2": D(100), "R-3": D(100)}})]
    assert plan_periods(months, who, RULES) == ([("2026-01", "2026-02")], ())


def test_a_period_does_not_end_on_one_person_s_unpaid_remainder():
    """At a period's end the community's books assert what is approved and unpaid; owed
    to one person, it is their remainder (their next payment repeats it)."""
    who = {f"R-{i}": i for i in range(1, 6)}
    paid_in_full = {f"R-{i}": D(100) for i in range(1, 4)}
    months = [month("2026-01", {"rent": {**paid_in_full, "R-4": D(300)}},
                    paid={"rent": {**paid_in_full, "R-4": D(120)}}),
              month("2026-02", {"rent": {"R-5": D(80)}},
                    paid={"rent": {"R-4": D(180), "R-5": D(80)}})]
    # January alone helps 4 people (k=3), but leaves 180 owed to R-4 alone
    assert plan_periods(months, who, RULES) == ([("2026-01", "2026-02")], ())


def test_owed_to_k_people_or_to_no_one_may_end_a_period():
    who = {f"R-{i}": i for i in range(1, 5)}
    approved = {"rent": {f"R-{i}": D(100) for i in range(1, 5)}}
    half_paid = month("2026-01", approved, paid={"rent": {f"R-{i}": D(50) for i in (1, 2, 3)}})
    assert plan_periods([half_paid], who, RULES) == ([("2026-01",)], ())
    cancelled = month("2026-01", approved, paid={"rent": {"R-1": D(100), "R-2": D(100),
                                                          "R-3": D(60)}},
                      cancelled={"rent": {"R-3": D(40), "R-4": D(100)}})
    assert plan_periods([cancelled], who, RULES) == ([("2026-01",)], ())


def test_a_month_without_aid_joins_the_next():
    who = {f"R-{i}": i for i in range(1, 4)}
    months = [month("2026-01"), month("2026-02", {"rent": {c: D(50) for c in who}})]
    assert plan_periods(months, who, RULES) == ([("2026-01", "2026-02")], ())


def test_a_small_category_is_combined_in_both_tables():
    who = {f"R-{i}": i for i in range(1, 9)}
    approved = {"rent": {f"R-{i}": D(100) for i in range(1, 5)},
                "food": {f"R-{i}": D(40) for i in range(5, 8)},
                "medical": {"R-8": D(300)}}
    paid = {"rent": {f"R-{i}": D(100) for i in range(1, 5)}, "food": {"R-5": D(40)}}
    shown, hidden = published_categories([month("2026-01", approved, paid)], who, RULES,
                                         ["rent", "food", "medical"])
    # medical alone is unsafe; food is safe among approvals but not among payments; the
    # two combined are safe among approvals (4 people) but payments have only R-5: rent joins
    assert "medical" in hidden and "food" in hidden
    assert shown | hidden == {"rent", "food", "medical"}


def test_an_unknown_code_is_refused():
    with pytest.raises(UnknownRequest, match="R-9"):
        plan_periods([month("2026-01", {"rent": {"R-9": D(1)}})], {}, RULES)


def test_the_fund_s_periods_add_up_to_its_books(fund):
    """Every published figure of every period comes from the books and adds up."""
    who = {f.code: f.recipient for f in fund.plan.facts}
    rules = Rules(k=5)
    pub = publication_periods(fund.books, who, rules)
    state = fund.books.state
    sealed = [s.month for s in state.seals]
    assert [m for p in pub.periods for m in p.months] + list(pub.pending) == sealed
    for period in pub.periods:
        for table in (period.approved, period.paid):
            assert table.total.recipients >= rules.k
            assert sum(g.total for g in table.groups) == table.total.total
            for g in table.groups:
                assert g.recipients == 0 or g.recipients >= rules.k, (period.key, g)
        paid = period.paid.total.total
        cash_change = sum(c.closing - c.opening for c in period.cash)
        gifts = sum(d.total - d.refunds_total for d in period.donations)
        other = sum(v for a, v in period.changes if a.startswith("Equity:"))
        assert cash_change == gifts - period.fees - paid - other
        assert period.outstanding == -state.balance_at_end_of("Liabilities:Aid:Approved",
                                                              period.end)

    # what is owed at each period's end falls on no one or on k people
    owed: dict = {}
    for m in sealed:
        flows = month_flows(fund.books.entries_of(m), state)
        for table, sign in ((flows.approved, 1), (flows.paid, -1), (flows.cancelled, -1)):
            for per in table.values():
                for code, amount in per.items():
                    owed[code] = owed.get(code, D(0)) + sign * amount
        if any(p.end == m for p in pub.periods):
            people = {who[c] for c, v in owed.items() if v}
            assert not people or len(people) >= rules.k, (m, people)
