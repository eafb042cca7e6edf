"""SIGKILL at seeded points of approve → pay → donate → transfer → cost → return → refund, on SQLite and PostgreSQL: after
every kill the app recovers on its own, `check` passes, and every acknowledged operation
is in the books exactly once (tests/fault/crashes.py holds the harness; `make soak` runs
1,000 kills per database)."""

from __future__ import annotations

import os

import pytest

from tests.fault.crashes import POINTS, prepare, run_lives

KILLS = int(os.environ.get("CAREBOOKS_CRASH_KILLS", "200"))


@pytest.mark.slow
def test_two_hundred_kills_lose_nothing_and_write_nothing_twice(fund, tmp_path):
    prepare(fund)
    tally = run_lives(fund.app, fund.people, seed=7, kills=KILLS, workdir=tmp_path)
    assert tally.killed >= KILLS
    # every kind of kill point was hit, and the work went on between them
    assert all(tally.kills[p] >= KILLS // 10 for p in POINTS), tally.kills
    assert tally.torn_mended > 0 and tally.settled > 0, tally
    for kind in ("submit", "approve", "pay", "donate", "transfer", "cost", "return", "refund"):
        assert tally.acknowledged[kind] > 0, tally.acknowledged
    # and the command line, in a process of its own view, agrees
    from click.testing import CliRunner

    from app.cli import main as cli

    result = CliRunner().invoke(cli, ["check"], env={
        "CAREBOOKS_INSTANCE": fund.app.instance_path,
        "DATABASE_URL": fund.app.config["DATABASE_URL"]})
    assert result.exit_code == 0 and "check: OK" in result.output, result.output
