"""The privacy rules of docs/design.md §6 on published aid figures, as properties over random
months: no shown cell counts 1..k-1 recipients, none breaks the dominance rule, and no
hidden cell can be recovered by subtracting shown figures from a shown total."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from reports.privacy import Group, Rules, is_safe, protect, rounded

CATEGORIES = ["rent", "food", "medical", "legal", "funeral", "transport", "utilities", "other"]

amounts = st.decimals(min_value=Decimal("1.00"), max_value=Decimal("1000.00"), places=2)
requests = st.lists(st.tuples(st.integers(0, 40), st.sampled_from(CATEGORIES), amounts),
                    max_size=80)
rules_st = st.builds(Rules, k=st.integers(2, 8),
                     dominance=st.sampled_from([Decimal("0.5"), Decimal("0.6"), Decimal("0.8")]),
                     rounding=st.sampled_from([Decimal(1), Decimal(10), Decimal(50)]))


def _groups(reqs):
    groups = {c: Group(c) for c in CATEGORIES}
    for who, cat, amount in reqs:
        groups[cat].add(who, amount)
    return list(groups.values())


@settings(max_examples=300, deadline=None)
@given(requests, rules_st)
def test_no_small_or_dominated_cell_is_shown(reqs, rules):
    groups = _groups(reqs)
    rows, other, total = protect(groups, rules)
    by_label = {g.label: g for g in groups}
    for row in rows:
        g = by_label[row.label]
        if row.shown:
            assert g.recipients == 0 or g.recipients >= rules.k
            assert g.recipients == 0 or max(g.by_recipient.values()) <= rules.dominance * g.total
            assert row.recipients == g.recipients
            assert row.total == rounded(g.total, rules)
        else:
            assert row.recipients is None and row.median is None


@settings(max_examples=300, deadline=None)
@given(requests, rules_st)
def test_no_hidden_cell_can_be_recovered_by_subtraction(reqs, rules):
    groups = _groups(reqs)
    rows, other, total = protect(groups, rules)
    hidden = [g for g, r in zip(groups, rows) if not r.shown]
    if not hidden:
        assert other is None
        return
    # One hidden cell alone would equal (total - shown) or the "other" row.
    assert len(hidden) >= 2 or (not total.shown and (other is None or not other.shown))
    merged = Group("m")
    for g in hidden:
        for who, amount in g.by_recipient.items():
            merged.by_recipient[who] = merged.by_recipient.get(who, 0) + amount
    if total.shown or (other is not None and other.shown):
        assert is_safe(merged, rules)  # what subtraction reveals is itself safe to publish


def test_a_small_category_is_merged_with_the_next_smallest():
    rules = Rules(k=5)
    rent, food, legal = Group("rent"), Group("food"), Group("legal")
    for i in range(8):
        rent.add(i, Decimal("400"))
    for i in range(6):
        food.add(100 + i, Decimal("50"))
    legal.add(200, Decimal("100"))  # one person: must never be visible
    rows, other, total = protect([rent, food, legal], rules)
    shown = {r.label: r for r in rows}
    assert shown["rent"].shown and shown["rent"].recipients == 8
    assert not shown["legal"].shown and shown["legal"].note == "fewer than 5"
    assert not shown["food"].shown  # hidden too, or legal = total - rent - food
    assert other.shown and other.recipients == 7 and other.total == Decimal("400")
    assert total.shown and total.total == Decimal("3600")


def test_a_dominant_hidden_cell_pulls_more_cells_in_until_safe():
    rules = Rules(k=5)
    rent, food, legal = Group("rent"), Group("food"), Group("legal")
    for i in range(8):
        rent.add(i, Decimal("400"))
    for i in range(6):
        food.add(100 + i, Decimal("50"))
    legal.add(200, Decimal("900"))  # 900 of food+legal's 1,200 is one person's: 75%
    rows, other, total = protect([rent, food, legal], rules)
    assert not any(r.shown for r in rows)
    assert other.shown and other.total == total.total == Decimal("4400")


def test_one_recipient_holding_most_of_a_category_hides_it():
    g = Group("medical")
    g.add("a", Decimal("5000"))
    for i in range(6):
        g.add(i, Decimal("10"))
    assert not is_safe(g, Rules(k=5))


def test_a_returned_payment_never_counts_as_a_recipient():
    """Four people helped and one payment that came back must not pass as five: the group
    stays hidden, and a group holding only a return (its amount is one person's aid) too."""
    rules = Rules(k=5)
    group = Group("rent")
    for who in range(4):
        group.add(who, Decimal("300.00"))
    group.add("returned", Decimal("-250.00"))
    assert group.recipients == 4
    assert not is_safe(group, rules)
    rows, _other, _total = protect([group], rules)
    assert not rows[0].shown
    only_return = Group("food")
    only_return.add("returned", Decimal("-250.00"))
    assert not is_safe(only_return, rules)
    group.add(4, Decimal("280.00"))
    assert group.recipients == 5 and is_safe(group, rules)
