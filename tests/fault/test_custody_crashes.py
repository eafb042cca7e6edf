"""SIGKILL during custody setup (the migration from the data key: stories, notes, a second
factor not yet under its password, a held statement), re-split and shred leaves a fund that is either fully before or fully after the step, and running the step
again finishes it (issue 21). SQLite; each life is a fork, killed by itself just before
or just after a write of the custody file, after the nth re-sealed batch, or by a timer.

What "before or after" means here: every story, question and answer opens — with the
data key (before setup), or with the shares shown before the kill (after) — and for
shred, either everything opens with K shares or nothing ever does.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
import uuid
from pathlib import Path

import pytest

from app import crypto, custody
from app.custody import memory, store
from app.workflow import custody as steps
from app.workflow import uploads
from tests.app.conftest import ask, make_fund
from tests.app.test_custody_factor import as_before_this_change



def _journal(path: Path):
    def show(made, split) -> None:
        with open(path, "a") as fh:
            fh.write(json.dumps({"split": split.id, "shares": [s.text() for s in made]}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    return show


def _shown(path: Path) -> dict[str, list[str]]:
    if not path.exists():
        return {}
    return {d["split"]: d["shares"] for d in map(json.loads, path.read_text().splitlines())}


def _arm(point: str, nth: int, delay: float) -> None:
    """In the child: die at the chosen point."""
    me = os.getpid()
    calls = {"n": 0}
    real_write = store.write
    if point == "timer":
        if os.fork() == 0:
            time.sleep(delay)
            os.kill(me, signal.SIGKILL)
            os._exit(0)
        return

    def write(path, value):
        calls["n"] += 1
        if point == "before-write" and calls["n"] == nth:
            os.kill(me, signal.SIGKILL)
        real_write(path, value)
        if point == "after-write" and calls["n"] == nth:
            os.kill(me, signal.SIGKILL)
    store.write = write


def _life(fund, journal: Path, step, point: str, nth: int, delay: float) -> None:
    pid = os.fork()
    if pid == 0:
        try:
            fund.app.extensions["carebooks.engine"].dispose(close=False)
            _arm(point, nth, delay)
            with fund.ctx():
                from app.db import engine
                step(engine(), _journal(journal))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    memory.wipe()


def _texts(fund) -> set[str]:
    """Every story, question, second-factor secret not yet wrapped and held statement, as
    this process reads them now."""
    from sqlalchemy import text

    from app.db import engine
    from app.workflow import uploads
    out = set()
    with fund.ctx(), engine().connect() as conn:
        for t, c, label in [("aid_request", "story", "aid_request.story"),
                            ("request_note", "body", "request_note.body"),
                            ("person", "totp_secret", "person.totp_secret")]:
            out |= {crypto.decrypt(v, label) for (v,) in conn.execute(
                text(f"SELECT {c} FROM {t} WHERE {c} IS NOT NULL"))}
        for held in sorted((Path(fund.app.instance_path) / "uploads").iterdir()):
            opened = crypto.decrypt(held.read_text(), "upload.statement")
            out.add(opened if getattr(opened, "locked", False)
                    else uploads.base64.b64decode(opened).decode())
    return out


@pytest.fixture
def sqlite_fund(tmp_path):
    fund = make_fund(tmp_path, f"sqlite:///{tmp_path / 'carebooks.db'}")
    words = set()
    for _ in range(30):
        story = f"story {uuid.uuid4().hex}"
        code = ask(fund, story=story)
        question = f"question {uuid.uuid4().hex}"
        fund.api("treasurer", "POST", f"/requests/{code}/needs-info", json={"question": question})
        words |= {story, question}
    # a second factor still under the data key, and a statement held for an import: the
    # migration seals both, in the same crash-safe steps
    as_before_this_change(fund, "treasurer2")
    statement = f"Date,Name\n2026-10-02,{uuid.uuid4().hex}"
    with fund.ctx():
        uploads.hold(fund.people["treasurer"].id, statement.encode())
    words |= {fund.totp["treasurer2"], statement}
    memory.wipe()
    yield fund, words
    memory.wipe()
    fund.app.extensions["carebooks.engine"].dispose()


POINTS = [("before-write", 1), ("after-write", 1), ("before-write", 2), ("after-write", 2),
          ("timer", 0)]


def _unlock_with_any(fund, journal: Path) -> bool:
    with fund.ctx():
        current = custody.current()
        if current is None or current.split is None:
            return False
        for split_id, shares in _shown(journal).items():
            if split_id in (current.split.id, getattr(current.pending, "id", None)):
                custody.unlock(shares[:2])
                return True
    return False


@pytest.mark.parametrize("point,nth", POINTS + [("timer", n) for n in range(1, 4)])
def test_setup_killed_is_before_or_after_and_a_rerun_finishes(sqlite_fund, tmp_path, point, nth):
    fund, words = sqlite_fund
    journal = tmp_path / "journal"
    delay = random.Random(nth).uniform(0.0, 0.3)
    _life(fund, journal, lambda e, show: steps.setup(e, 2, 3, show), point, nth, delay)
    with fund.ctx():
        current = custody.current()
    if current is not None and current.state == "active":
        assert _unlock_with_any(fund, journal), "active, but its shares were never shown"
    assert words <= _texts(fund)          # every value opens: data key or shown shares
    memory.wipe()
    with fund.ctx():
        from app.db import engine
        steps.setup(engine(), 2, 3, _journal(journal))   # resumes, or starts afresh
        assert steps.count_unsealed(engine()) == 0
    assert _unlock_with_any(fund, journal)
    assert words <= _texts(fund)


@pytest.mark.parametrize("point,nth", POINTS)
def test_resplit_killed_leaves_old_or_new_shares_working(sqlite_fund, tmp_path, point, nth):
    fund, words = sqlite_fund
    journal = tmp_path / "journal"
    with fund.ctx():
        from app.db import engine
        steps.setup(engine(), 2, 3, _journal(journal))
    old = next(iter(_shown(journal).values()))
    rng = random.Random(point)
    _life(fund, journal, lambda e, show: steps.resplit(old[:2], 2, 3, show), point, nth,
          rng.uniform(0.0, 0.02))
    assert _unlock_with_any(fund, journal)
    assert words <= _texts(fund)
    memory.wipe()
    with fund.ctx():
        current = custody.current()
    if current.split.id != list(_shown(journal))[0]:      # after: the old shares are dead
        with fund.ctx(), pytest.raises(Exception):
            custody.unlock(old[:2])


@pytest.mark.parametrize("point,nth", [("before-write", 1), ("after-write", 1), ("timer", 0)])
def test_shred_killed_is_all_or_nothing(sqlite_fund, tmp_path, point, nth):
    fund, words = sqlite_fund
    journal = tmp_path / "journal"
    with fund.ctx():
        from app.db import engine
        steps.setup(engine(), 2, 3, _journal(journal))
    _life(fund, journal, lambda e, show: steps.shred(), point, nth, 0.001)
    if _unlock_with_any(fund, journal):
        assert words <= _texts(fund)          # before: everything opens
    else:
        assert all(getattr(t, "shredded", False) for t in _texts(fund))   # after: nothing


@pytest.mark.parametrize("step", ["split", "resplit"])
def test_a_page_split_lost_to_a_restart_changes_nothing(sqlite_fund, tmp_path, step):
    """Shares made on the Custody page wait in memory for their holders; a restart (or
    SIGKILL) before the last is seen loses them, and the fund is as before the step."""
    fund, words = sqlite_fund
    journal = tmp_path / "journal"
    with fund.ctx():
        from app.db import engine
        if step == "resplit":
            steps.setup(engine(), 2, 3, _journal(journal))
            before = custody.current().split.id
            steps.resplit_on_page(engine(), next(iter(_shown(journal).values()))[:2], 2)
        else:
            steps.split_on_page(engine(), 2)
        assert steps.show_share(engine(), fund.people["treasurer"].id) is not None
    memory.wipe()                                    # the restart: the page is gone
    with fund.ctx():
        current = custody.current()
        if step == "split":
            assert current.state == "new"            # nothing was sealed to that key
        else:
            assert current.split.id == before        # the old split is in force
    if step == "resplit":
        assert _unlock_with_any(fund, journal)
    assert words <= _texts(fund)
