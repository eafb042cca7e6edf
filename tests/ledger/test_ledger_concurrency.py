"""Many writers, one set of books: every entry written exactly once, in valid books.

Two real processes append at the same time (the app's web workers and its CLI do this);
threads of one process race on the same carebooks-id (a retried request).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from ledger import Books, entries
from ledger_helpers import assert_state_matches, bean_check_errors, full_view

WRITER = Path(__file__).with_name("concurrent_writer.py")
REPO = Path(__file__).resolve().parents[2]


def run_writers(books_dir: Path, go: Path, mode: str, count: int, workers=(1, 2)) -> list[int]:
    """Start the writers, wait until each has opened the books, let them go together."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    procs = [subprocess.Popen([sys.executable, str(WRITER), str(books_dir), str(w), str(go),
                               mode, str(count)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
             for w in workers]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        go.touch()
        created = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            created.append(int(out.strip()))
        return created
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_two_processes_append_500_entries_each(books, tmp_path):
    watcher = Books.open(books.dir)  # opened before the run; must catch up afterwards
    before = full_view(books.main)
    created = run_writers(books.dir, tmp_path / "go", "own", 500)
    assert created == [500, 500]

    after = full_view(books.main)
    assert after.transactions == before.transactions + 1000
    assert max(after.ids.values()) == 1  # no carebooks-id twice
    assert len(after.ids) == len(before.ids) + 1000
    assert bean_check_errors(books.main) == []
    assert after.balances["Assets:Fund:Cash"] == Decimal("500.00")
    assert after.balances["Assets:Fund:Venmo"] == Decimal("500.00")
    assert after.committed == 0
    # the two really wrote at the same time: their entries interleave in the files
    switches = 0
    for month in sorted((books.dir / "2026").glob("*.beancount")):
        order = re.findall(r'carebooks-id: "\w+:[RD]-2026-([12])\d{5}', month.read_text())
        switches += sum(a != b for a, b in zip(order, order[1:]))
    assert switches >= 3, switches
    for months in ("2026-01", "2026-02", "2026-03"):
        assert books.main.read_text().count(f'include "2026/{months}.beancount"') == 1

    assert_state_matches(watcher.state, after)
    assert_state_matches(books.state, after)
    assert watcher.state.entry_count == Books.open(books.dir).state.entry_count
    # the watcher can write on top of what the others appended
    assert watcher.post(entries.approval("R-2026-0001", 1, dt.date(2026, 3, 30), "rent",
                                         Decimal("5"), "USD")).created


def test_two_processes_posting_the_same_ids_write_each_once(books, tmp_path):
    created = run_writers(books.dir, tmp_path / "go", "shared", 200)
    assert sum(created) == 200
    view = full_view(books.main)
    assert sum(1 for cid in view.ids if cid.startswith("approve:R-2026-9")) == 200
    assert max(view.ids.values()) == 1
    assert view.committed == Decimal("200.00")
    assert_state_matches(books.state, view)


@pytest.mark.parametrize("shared_object", [True, False], ids=["one-Books", "Books-per-thread"])
def test_threads_posting_the_same_id_write_it_once(books, shared_object):
    threads_n, rounds = 8, 15
    handles = [books if shared_object else Books.open(books.dir) for _ in range(threads_n)]
    for r in range(rounds):
        entry_args = (f"R-2026-{r + 1:04d}", 1, dt.date(2026, 1, 20), "medical",
                      Decimal("25.00"), "USD")
        barrier = threading.Barrier(threads_n)
        results, errors = [], []

        def post(handle):
            try:
                barrier.wait()
                results.append(handle.post(entries.approval(*entry_args)))
            except BaseException as exc:  # reported below, with the round
                errors.append(exc)

        threads = [threading.Thread(target=post, args=(h,)) for h in handles]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, (r, errors)
        assert sorted(p.created for p in results) == [False] * (threads_n - 1) + [True]
        assert len({(p.filename, p.lineno) for p in results}) == 1
    view = full_view(books.main)
    assert max(view.ids.values()) == 1
    assert view.committed == Decimal("25.00") * rounds
    assert_state_matches(books.state, view)
