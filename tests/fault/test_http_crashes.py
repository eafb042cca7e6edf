"""A real server killed 200 times per database while clients retry with their keys: every
key gets its answer, each operation is done once (tests/fault/http_crashes.py)."""

from __future__ import annotations

import os

import pytest

from tests.fault.http_crashes import run_database, table

KILLS = int(os.environ.get("CAREBOOKS_HTTP_KILLS", "200"))


@pytest.mark.slow
def test_a_server_killed_at_random_moments_answers_every_key_once(database_url, tmp_path):
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    run = run_database(tmp_path, database_url, kills=KILLS, seed=20261204)
    print("\n" + table([(backend, run)]))
    assert run.killed >= KILLS
    assert run.kills["after-claim"] > 0 and run.kills["server"] > 0, run.kills
    assert sum(1 for op in run.ops if op.status) >= KILLS // 2  # work went on between kills
    print(f"worst: {run.worst()} attempts for one key")
