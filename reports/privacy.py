"""Privacy rules for every published figure (docs/design.md §6).

A group of aid (one category in one month) may be shown only when it counts at least
`k` distinct recipients and no single recipient holds more than `dominance` of its total.
Groups that fail are hidden, and merged into one "other categories" row; if that row
would itself fail, or could be recovered by subtracting the shown rows from the total,
more groups join it (smallest first) until it is safe — or, if nothing can make it safe,
the total is hidden too. Amounts are rounded to `rounding`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import median
from typing import Hashable

ZERO = Decimal(0)


@dataclass(frozen=True)
class Rules:
    """Thresholds from the fund's policy."""

    k: int = 5
    dominance: Decimal = Decimal("0.60")
    rounding: Decimal = Decimal(10)


@dataclass
class Group:
    """Aid in one category: each recipient's total, and each request's amount."""

    label: str
    by_recipient: dict[Hashable, Decimal] = field(default_factory=dict)
    amounts: list[Decimal] = field(default_factory=list)

    def add(self, recipient: Hashable, amount: Decimal, times: int = 1) -> None:
        """Count `times` requests of `amount` each for `recipient`."""
        self.by_recipient[recipient] = self.by_recipient.get(recipient, ZERO) + amount * times
        self.amounts.extend([amount] * times)

    @property
    def recipients(self) -> int:
        """Distinct recipients who got something: a payment that came back (a negative
        net) or one that came back whole (nothing net) helps nobody, so it never counts
        towards k (it would let four recipients and one return pass as five)."""
        return sum(1 for amount in self.by_recipient.values() if amount > 0)

    @property
    def total(self) -> Decimal:
        """Sum of the amounts."""
        return sum(self.by_recipient.values(), ZERO)


@dataclass(frozen=True)
class Row:
    """A published row: figures, or None where a rule hides them."""

    label: str
    recipients: int | None
    total: Decimal | None
    median: Decimal | None
    requests: int | None
    note: str = ""

    @property
    def shown(self) -> bool:
        """True when the figures are published."""
        return self.total is not None


def is_safe(group: Group, rules: Rules) -> bool:
    """At least k recipients and nobody above the dominance share (or nothing at all)."""
    if not group.by_recipient:
        return True
    if group.recipients < rules.k:
        return False
    total = group.total
    return total <= 0 or max(group.by_recipient.values()) <= rules.dominance * total


def rounded(value: Decimal, rules: Rules) -> Decimal:
    """`value` rounded to the nearest multiple of `rules.rounding`."""
    unit = rules.rounding
    return ((value / unit).quantize(Decimal(1), rounding=ROUND_HALF_EVEN) * unit).quantize(
        Decimal(1) if unit >= 1 else unit)


def _merge(label: str, groups: list[Group]) -> Group:
    merged = Group(label)
    for g in groups:
        for who, amount in g.by_recipient.items():
            merged.by_recipient[who] = merged.by_recipient.get(who, ZERO) + amount
        merged.amounts.extend(g.amounts)
    return merged


def _row(group: Group, rules: Rules) -> Row:
    if group.recipients == 0:
        return Row(group.label, 0, ZERO, None, 0)
    return Row(group.label, group.recipients, rounded(group.total, rules),
               rounded(Decimal(median(group.amounts)), rules), len(group.amounts))


def protect(groups: list[Group], rules: Rules, *, other_label: str = "Other categories",
            total_label: str = "All aid") -> tuple[list[Row], Row | None, Row]:
    """Apply the rules: (category rows, the merged row or None, the total row)."""
    hidden = [g for g in groups if not is_safe(g, rules)]
    shown = [g for g in groups if is_safe(g, rules)]
    merged = None
    if hidden:
        merged = _merge(other_label, hidden)
        while not is_safe(merged, rules):
            candidates = [g for g in shown if g.recipients > 0]
            if not candidates:
                break
            smallest = min(candidates, key=lambda g: (g.recipients, g.total, g.label))
            shown.remove(smallest)
            hidden.append(smallest)
            merged = _merge(other_label, hidden)
    names = {g.label for g in hidden}
    fewer = f"fewer than {rules.k}"
    rows = [_row(g, rules) if g.label not in names else
            Row(g.label, None, None, None, None,
                fewer if g.recipients < rules.k else "hidden to protect privacy")
            for g in groups]
    everything = _merge(total_label, groups)
    total_safe = is_safe(everything, rules) and (merged is None or is_safe(merged, rules))
    merged_row = None
    if merged is not None:
        merged_row = (_row(merged, rules) if is_safe(merged, rules) else
                      Row(other_label, None, None, None, None, fewer))
    total_row = _row(everything, rules) if total_safe else Row(
        total_label, None, None, None, None, "hidden to protect privacy")
    return rows, merged_row, total_row
