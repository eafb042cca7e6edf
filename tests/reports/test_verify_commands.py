"""The "Check these numbers yourself" steps: every command really runs (bean-query,
sha256sum, printf, grep, bean-check) in the folder of the community's books — what the
public downloads, never the fund's books — and its output holds what the report says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reports.community import derive, write
from reports.figures import month_figures
from reports.privacy import Rules
from reports.render import render_html
from reports.verify import checks
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


@pytest.fixture(scope="module")
def community(fund, tmp_path_factory) -> Path:
    """The community's books of the test fund, as a member downloads them."""
    folder = tmp_path_factory.mktemp("community")
    write(folder, derive(fund.books, {f.code: f.recipient for f in fund.plan.facts}, Rules()))
    return folder


@pytest.mark.skipif(not shutil.which("sha256sum"), reason="coreutils' sha256sum is needed")
@pytest.mark.parametrize("month", ["2026-01", "2026-02", "2026-03"])
def test_every_command_runs_in_the_community_s_books_and_prints_what_it_says(
        fund, community, month):
    fig = month_figures(fund.books, month, facts=fund.plan.facts, rules=Rules(), today=TODAY)
    steps = checks(fig)
    html = render_html(fig)
    assert steps and (fig.period is not None or fig.pending)
    for step in steps:
        assert step.command.replace("'", "&#39;").replace('"', "&#34;").replace(
            "<", "&lt;").replace(">", "&gt;") in html, step.command
        # only files of the community's books are named
        assert not re.search(r"\d{4}/\d{4}-\d\d\.beancount", step.command), step.command
        out = run(step.command, community)
        lines = [" ".join(line.split()) for line in out.splitlines()]
        for words in step.expect:
            assert any(all(has_word(line, w) for w in words) for line in lines), (
                step.command, words, out)
        if step.command.startswith("bean-check"):
            assert out == ""
    if fig.period is not None:
        assert any("entry_meta('period')" in s.command for s in steps)
        assert any(s.expect for s in steps if "Expenses:Aid" in s.command)
    else:   # a pending month: nothing about a period to check yet
        assert not any("entry_meta" in s.command for s in steps)


def test_the_seal_steps_are_there_only_for_a_sealed_month_and_name_the_merkle_root(fund):
    sealed = checks(month_figures(fund.books, "2026-04", today=TODAY))
    open_ = checks(month_figures(fund.books, "2026-05", today=TODAY))
    assert any("sha256sum" in s.command for s in sealed)
    assert any("Merkle root" in s.what for s in sealed)
    assert not any("sha256sum" in s.command for s in open_)
