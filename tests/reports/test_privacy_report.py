"""The privacy rules hold in the report itself, over random funds and months.

tests/reports/test_privacy.py proves them for `protect` on random cells; here whole funds
are generated (few or many people, few or many requests, random thresholds), written to
books, and every aid cell `month_figures` publishes — approved and paid by category, the
combined row, the totals, the cancellations, the time to payment — is held against the
truth computed from the generated plan: no shown cell counts 1..k-1 recipients, none
breaks the dominance rule, and nothing hidden can be recovered by subtracting shown cells
from a shown total. The rendered HTML shows no number in a hidden row.
"""

from __future__ import annotations

import re
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reports.figures import AidCell, AidTable, month_figures
from reports.privacy import Rules
from reports.render import render_html
from tests.reports.conftest import TODAY
from tests.reports.fund import build, generate

rules_st = st.builds(Rules, k=st.integers(2, 8),
                     dominance=st.sampled_from([Decimal("0.5"), Decimal("0.6"), Decimal("0.8")]),
                     rounding=st.sampled_from([Decimal(1), Decimal(10), Decimal(50)]))


def truth(plan, month: str) -> dict[str, dict[str, dict[int, Decimal]]]:
    """Per table and category, each recipient's amount in `month`, from the plan alone."""
    who = {f.code: f.recipient for f in plan.facts}
    category = {f.code: f.category for f in plan.facts}
    out: dict = {t: defaultdict(lambda: defaultdict(Decimal))
                 for t in ("approved", "paid", "cancelled")}
    for entry in plan.entries:
        if entry.date.strftime("%Y-%m") != month or not entry.links:
            continue
        code = next(iter(entry.links))
        kind = entry.meta["carebooks-id"].split(":")[0]
        table = {"approve": "approved", "pay": "paid", "cancel": "cancelled"}.get(kind)
        if table:
            amount = abs(entry.postings[0].units.number)
            out[table][category[code]][who[code]] += amount
    return out


def safe(people: dict[int, Decimal], rules: Rules) -> bool:
    if not people:
        return True
    total = sum(people.values())
    return len(people) >= rules.k and max(people.values()) <= rules.dominance * total


def merged(cells: list[dict[int, Decimal]]) -> dict[int, Decimal]:
    out: dict = defaultdict(Decimal)
    for cell in cells:
        for who, amount in cell.items():
            out[who] += amount
    return out


def check_table(table: AidTable, true: dict[str, dict[int, Decimal]], rules: Rules) -> None:
    every = merged(list(true.values()))
    for cell in table.rows:
        people = true.get(cell.label, {})
        if cell.shown:
            assert safe(people, rules), (cell, people)
            assert cell.recipients == len(people)
            assert cell.recipients == 0 or cell.recipients >= rules.k
        else:
            assert cell.recipients is None and cell.total is None and cell.median is None
    hidden = [true.get(c.label, {}) for c in table.rows if not c.shown]
    hidden_nonempty = [h for h in hidden if h]
    if table.total.shown:
        assert safe(every, rules)
        # What subtraction reveals (total less the shown rows) is the hidden cells together:
        # it must be safe to publish, so never a single small or dominated cell.
        assert safe(merged(hidden_nonempty), rules)
    if table.other is not None and table.other.shown:
        assert safe(merged(hidden_nonempty), rules)
        assert table.other.recipients == len(merged(hidden_nonempty))
    if len(hidden_nonempty) == 1:
        assert not table.total.shown and (table.other is None or not table.other.shown)


def check_cell(cell: AidCell, people: dict[int, Decimal], rules: Rules) -> None:
    if cell.shown:
        assert safe(people, rules)


def no_numbers_in_hidden_rows(html: str, rules: Rules) -> None:
    """A hidden row shows its label and the reason; the only number allowed is k itself."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.S):
        if 'class="hidden"' not in row:
            continue
        cells = re.sub(r"<th[^>]*>.*?</th>", "", row, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", cells).replace(f"fewer than {rules.k} recipients", "")
        assert not re.search(r"\d", text), row


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(seed=st.integers(0, 10_000), people=st.integers(2, 40),
       approvals=st.integers(3, 45), rules=rules_st, month_index=st.integers(0, 1))
def test_no_published_cell_exposes_a_recipient(seed, people, approvals, rules, month_index):
    plan = generate(seed, 2, people=people, approvals_per_month=approvals,
                    donations_per_month=approvals)
    with tempfile.TemporaryDirectory() as tmp:
        books = build(Path(tmp) / "books", plan, seal=1)
        month = plan.months()[month_index]
        fig = month_figures(books, month, facts=plan.facts, rules=rules, today=TODAY)
        html = render_html(fig)
    true = truth(plan, month)
    check_table(fig.aid_approved, true["approved"], rules)
    check_table(fig.aid_paid, true["paid"], rules)
    check_cell(fig.cancelled, merged(list(true["cancelled"].values())), rules)
    if fig.timing is not None and fig.timing.shown and fig.timing.requests:
        first = {f.recipient for f in plan.facts
                 if f.first_paid_on and f.first_paid_on.strftime("%Y-%m") == month}
        assert len(first) >= rules.k
    no_numbers_in_hidden_rows(html, rules)
    shown = sum(c.shown and bool(c.requests) for c in fig.aid_approved.rows)
    hidden = sum(not c.shown for c in fig.aid_approved.rows)
    event(f"categories shown {min(shown, 2)}+, hidden {min(hidden, 2)}+")
