"""The trend chart's geometry (reports/chart.py), the facts' checks, and the layering
rule: reports/ never imports flask, sqlmodel or the app."""

from __future__ import annotations

import ast
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from reports.chart import nice_scale, panel
from reports.figures import FactsMismatch, RequestFact, month_figures
from tests.reports.conftest import TODAY

D = Decimal
REPORTS = Path(__file__).resolve().parents[2] / "reports"
FORBIDDEN = {"flask", "sqlmodel", "sqlalchemy", "app"}


@pytest.mark.parametrize("values, low, high, step", [
    ([D("0")], D(0), D(1), D(1)),
    ([D("5711.49"), D("6016.13"), D("1518.07")], D(0), D(8000), D(2000)),
    ([D("12866.29"), D("9977.59")], D(0), D(15000), D(5000)),
    ([D("-250"), D("900")], D(-500), D(1000), D(500)),
    ([D("0.3")], D(0), D("0.3"), D("0.1")),
])
def test_nice_scale_holds_zero_and_every_value_on_round_ticks(values, low, high, step):
    scale = nice_scale(values)
    assert (scale.low, scale.high, scale.step) == (low, high, step)
    assert scale.ticks[0] == low and scale.ticks[-1] == high
    assert all(low <= v <= high for v in values)


def test_bars_are_proportional_to_their_values_and_stand_on_zero():
    p = panel([[D(100), D(250), D(-50)], [D(0), D(300), D(10)]], left=10, width=300,
              top=20, height=150, slots=12)
    assert len(p.bars) == 6
    per_unit = 150 / float(p.scale.high - p.scale.low)  # float-ok: drawing
    for bar in p.bars:
        assert bar.height == pytest.approx(abs(float(bar.value)) * per_unit, abs=0.02)  # float-ok
        if bar.value >= 0:
            assert bar.y + bar.height == pytest.approx(p.zero_y, abs=0.02)
        else:
            assert bar.y == pytest.approx(p.zero_y, abs=0.02)
    assert max(b.x + b.width for b in p.bars) <= 10 + 300 * 3 / 12   # three of 12 slots
    first, second = p.bars[0], p.bars[3]   # slot 0 of each series: side by side
    assert second.x == pytest.approx(first.x + first.width, abs=0.02)
    assert [t[1] for t in p.ticks] == p.scale.ticks


def test_facts_must_cover_every_request_and_agree_with_the_books(fund):
    facts = list(fund.plan.facts)
    with pytest.raises(FactsMismatch, match="no fact for R-"):
        month_figures(fund.books, "2026-03", facts=facts[:10], today=TODAY)
    wrong = [f if f is not facts[40] else RequestFact(f.code, f.recipient,
             "legal" if f.category != "legal" else "rent", f.requested_on, f.needed_by,
             f.first_paid_on) for f in facts]
    month = facts[40].requested_on.strftime("%Y-%m")
    with pytest.raises(FactsMismatch, match="in the facts but"):
        for m in (month, "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"):
            month_figures(fund.books, m, facts=wrong, today=TODAY)
    with pytest.raises(FactsMismatch, match="given twice"):
        month_figures(fund.books, "2026-03", facts=facts + facts[:1], today=TODAY)


def test_reports_imports_no_web_database_or_app_code():
    bad = []
    for path in sorted(REPORTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0
                     and node.module else [])
            bad += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert bad == []
    code = ("import sys, reports.figures, reports.render, reports.verify\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPORTS.parent, check=True)
    assert done.stdout.strip() == "[]"
