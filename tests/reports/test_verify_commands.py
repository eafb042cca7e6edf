"""The "Check these numbers yourself" page: every command really runs (bean-query 0.2.0,
sha256sum, printf, grep, bean-check) in the books folder, and its output holds what the
page says it must — and, for the rounded aid figures, rounds to what the report shows."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from statistics import median

import pytest

from reports.figures import month_figures
from reports.privacy import Rules, rounded
from reports.render import render_html
from reports.verify import AID, checks
from tests.reports.conftest import TODAY

BIN = str(Path(sys.executable).parent)


def run(command: str, cwd: Path) -> str:
    """Run one command of the page as a reader would, in bash, in the books folder."""
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and not done.stderr.strip(), (command, done.stderr[-2000:])
    return done.stdout


def has_word(line: str, word: str) -> bool:
    """`word` stands in `line` on its own (quotes around it are fine, digits are not)."""
    return re.search(rf"(?<![\w.:-]){re.escape(word)}(?![\w.:])", line) is not None


def numbers(text: str) -> list[Decimal]:
    return [Decimal(n) for n in re.findall(r"-?\d+\.\d\d\b", text)]


@pytest.mark.skipif(not shutil.which("sha256sum"), reason="coreutils' sha256sum is needed")
@pytest.mark.parametrize("month", ["2026-03", "2026-06"])
def test_every_command_runs_and_prints_what_the_page_says(fund, month):
    rules = Rules()
    fig = month_figures(fund.books, month, facts=fund.plan.facts, rules=rules, today=TODAY)
    steps = checks(fig)
    html = render_html(fig)
    outputs = {}
    for step in steps:
        assert step.command.replace("'", "&#39;").replace('"', "&#34;").replace(
            "<", "&lt;").replace(">", "&gt;") in html, step.command
        out = run(step.command, fund.root)
        outputs[step.what] = out
        lines = [" ".join(line.split()) for line in out.splitlines()]
        for words in step.expect:
            assert any(all(has_word(line, w) for w in words) for line in lines), (
                step.command, words, out)
        if step.what == "The books are valid: this prints nothing.":
            assert out == ""

    def check_rounded(what: str, expected: Decimal | None) -> None:
        if expected is None:
            return
        assert rounded(sum(numbers(outputs[what]), Decimal(0)), rules) == expected

    for kind, table in (("approved", fig.aid_approved), ("paid", fig.aid_paid)):
        by_category, per_request, combined, everything = AID[kind]
        shown = [c for c in table.rows if c.shown and c.requests]
        if shown:
            rows = outputs[by_category].splitlines()[2:]
            assert len(rows) == len(shown)
            for cell, row in zip(shown, rows):
                assert rounded(numbers(row)[-1], rules) == cell.total
            per = {}
            for row in outputs[per_request].splitlines()[2:]:
                per.setdefault(row.split()[0], []).append(numbers(row)[-1])
            for cell, amounts in zip(shown, (per[k] for k in sorted(per))):
                assert rounded(Decimal(median(amounts)), rules) == cell.median
        if table.other is not None and table.other.shown:
            check_rounded(combined, table.other.total)
        if table.total.shown and table.total.requests:
            check_rounded(everything, table.total.total)
    cash = [s for s in steps if s.what.startswith("Trend: the change in cash")]
    if cash:
        changes = [numbers(line)[-1] for line in outputs[cash[0].what].splitlines()[2:]]
        assert sum(changes, Decimal(0)) == fig.closing_cash


def test_the_seal_steps_are_there_only_for_a_sealed_month(fund):
    sealed = checks(month_figures(fund.books, "2026-04", today=TODAY))
    open_ = checks(month_figures(fund.books, "2026-05", today=TODAY))
    assert any("sha256sum" in s.command for s in sealed)
    assert not any("sha256sum" in s.command for s in open_)
