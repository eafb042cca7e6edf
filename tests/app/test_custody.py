"""Custody (issue 21): a copy of a locked fund's whole instance folder opens nothing; the
copy plus K-1 shares opens nothing; K shares open everything. Locked is a normal state:
members still ask and answer, treasurers still decide and pay by amount. Re-split makes
the old shares useless; shred makes every sealed story unreadable and leaves the books
and `check` as they were.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from app import create_app, crypto, custody
from app.cli import main
from app.custody import memory
from app.custody.shares import ShareError
from tests.app.conftest import ask, close_fund, make_fund

TODAY = dt.date.today()
SHARE = re.compile(r"share (\d+) of \d+:\s+([0-9a-f ]+)")
CUSTODY_COLUMNS = [("aid_request", "story"), ("request_note", "body"),
                   ("donation", "donor_name")]


def marker(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:12]}"


def cli(fund, *args: str, input: str | None = None):
    result = fund.app.test_cli_runner().invoke(main, list(args), input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def split(fund, shares: int = 3, needed: int = 2) -> list[str]:
    code, out, err = cli(fund, "custody", "split", "--shares", str(shares),
                         "--needed", str(needed))
    assert code == 0, err
    found = [s for _n, s in SHARE.findall(out)]
    assert len(found) == shares, out
    return found


def fill(fund) -> dict:
    """A request with a story, a question and an answer; a named donation."""
    words = {"story": marker("story"), "question": marker("question"),
             "answer": marker("answer"), "donor": "Ana " + uuid.uuid4().hex[:8]}
    code = ask(fund, story=words["story"])
    assert fund.api("treasurer", "POST", f"/requests/{code}/needs-info",
                    json={"question": words["question"]})[0] == 200
    assert fund.api("member", "POST", f"/requests/{code}/answer",
                    json={"answer": words["answer"]})[0] == 200
    status, data = fund.api("treasurer", "POST", "/donations", json={
        "amount": "40.00", "account": "Assets:Fund:Bank", "date": TODAY.isoformat(),
        "category": "individual", "donor_name": words["donor"], "donor_consents_public": True})
    assert status == 201, data
    words["code"] = code
    return words


def stored(fund) -> dict[str, list[str]]:
    with fund.ctx():
        from app.db import engine
        with engine().connect() as conn:
            return {f"{t}.{c}": [v for (v,) in conn.execute(text(
                f"SELECT {c} FROM {t} WHERE {c} IS NOT NULL"))]
                for t, c in CUSTODY_COLUMNS}


def request_view(fund, who: str, code: str) -> dict:
    status, data = fund.api(who, "GET", f"/requests/{code}")
    assert status == 200, data
    return data


@pytest.fixture(autouse=True)
def locked_process():
    """Each test starts and ends with no key in this process's memory."""
    memory.wipe()
    yield
    memory.wipe()


def test_split_seals_every_value_and_locked_reads_say_so(fund):
    words = fill(fund)
    shares = split(fund)
    values = stored(fund)
    assert all(v.startswith("cb2:") for vs in values.values() for v in vs), values
    view = request_view(fund, "treasurer", words["code"])
    assert view["story"] == "locked: 2 treasurers must unlock"
    with fund.ctx():
        custody.unlock(shares[:2])
    view = request_view(fund, "treasurer", words["code"])
    assert view["story"] == words["story"]


def test_a_locked_fund_still_takes_requests_answers_donations_and_pays(fund):
    split(fund)
    words = fill(fund)           # asked, questioned, answered, donated: all while locked
    assert fund.api("treasurer", "POST", f"/requests/{words['code']}/approve")[0] == 200
    status, data = fund.api("treasurer2", "POST", f"/requests/{words['code']}/payments",
                            json={"amount": "200.00", "account": "Assets:Fund:Bank",
                                  "date": TODAY.isoformat()})
    assert status in (200, 201), data
    assert all(v.startswith("cb2:") for vs in stored(fund).values() for v in vs)


def _thief_copy(fund, tmp_path: Path) -> Path:
    """The whole instance folder, copied as it lies (database, WAL, keys, books, uploads)."""
    source = Path(fund.app.instance_path)
    dest = tmp_path / "seized"
    shutil.copytree(source, dest)
    db = Path(fund.app.config["DATABASE_URL"].removeprefix("sqlite:///"))
    for part in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if part.exists():  # the test keeps the database beside the folder, not in it
            shutil.copy2(part, dest / part.name.replace(db.name, "carebooks.db"))
    return dest


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


@pytest.fixture
def sqlite_fund(tmp_path):
    """A fund on SQLite only: its database is a file a thief copies with the folder (on
    PostgreSQL the database is elsewhere; restoring into a new PostgreSQL database is
    test_backup.py's job)."""
    f = make_fund(tmp_path, f"sqlite:///{tmp_path / 'carebooks.db'}")
    yield f
    close_fund(f, tmp_path)


def test_a_seized_copy_of_a_locked_fund_opens_nothing_without_k_shares(sqlite_fund, tmp_path):
    from app.custody import factor
    from app.workflow import uploads
    from tests.app.conftest import PASSWORD
    from tests.app.test_custody_factor import as_before_this_change
    from tests.app.test_web import Browser

    fund = sqlite_fund
    words = fill(fund)
    as_before_this_change(fund, "treasurer2")   # a second factor still under the data key
    shares = split(fund, shares=3, needed=2)
    later = marker("story told while locked")
    later_code = ask(fund, story=later)
    statement = marker("Date,Name,Gross\n2026-10-02,Marisol Statement")
    with fund.ctx():                              # a statement held for an import
        uploads.hold(fund.people["treasurer"].id, statement.encode())
    Browser(fund).post("/sign-in", data={"email": "admin@example.org",    # half-way in
                                         "password": PASSWORD})
    memory.wipe()
    seized = _thief_copy(fund, tmp_path)
    # 1. the bytes: no story, question, answer, donor name, statement or second-factor
    #    secret in any file of the copy but the public books (a consented donor name is
    #    in them, by the donor's choice)
    raw = b"".join(p.read_bytes() for p in sorted(seized.rglob("*"))
                   if p.is_file() and "books" not in p.parts)
    for word in (words["story"], words["question"], words["answer"], words["donor"], later,
                 statement, *fund.totp.values()):
        assert word.encode() not in raw
    # 2. the copy with everything it holds (data.key included): each value is cb2 and
    #    reads as locked, in a process that never saw the shares
    db = seized / "carebooks.db"
    thief = create_app(instance=seized, test_config={
        "DATABASE_URL": f"sqlite:///{db}", "TESTING": True})
    conn = sqlite3.connect(db)
    values = {f"{t}.{c}": [v for (v,) in conn.execute(f"SELECT {c} FROM {t} "
                                                       f"WHERE {c} IS NOT NULL")]
              for t, c in CUSTODY_COLUMNS}
    factors = conn.execute("SELECT id, totp_secret, totp_wrapped, totp_hold, totp_pending "
                           "FROM person").fetchall()
    conn.close()
    values["person.totp_secret"] = [r[1] for r in factors if r[1] is not None]
    held = [p.read_text() for p in (seized / "uploads").iterdir()]
    assert len(values["person.totp_secret"]) == 1 and len(held) == 1

    def no_factor_opens() -> None:
        """No second-factor secret, wrapped, sealed or held, opens from the copy."""
        for pid, secret, wrapped, hold, pending in factors:
            assert secret is None or getattr(crypto.decrypt(secret, "person.totp_secret"),
                                             "locked", False)
            assert pending is None
            if wrapped is not None:
                with pytest.raises(factor.FactorError):
                    factor.unwrap(wrapped, factor.key_for("a guess at the password",
                                                          wrapped), pid)
            assert factor.release(hold, None, pid) is None
        assert all(getattr(crypto.decrypt(h, "upload.statement"), "locked", False)
                   for h in held)
    with thief.app_context():
        for column, vs in values.items():
            assert vs
            for v in vs:
                assert v.startswith("cb2:")
                assert getattr(crypto.decrypt(v, column), "locked", False)
                with pytest.raises(crypto.DataKeyError):  # the data key does not open it
                    crypto.decrypt(v.replace("cb2:", "cb1:", 1), column)
        no_factor_opens()
        # 3. K-1 shares open nothing, nor do K shares with one wrong
        with pytest.raises(ShareError):
            custody.unlock(shares[:1])
        wrong = shares[1][:-10] + ("0" if shares[1][-10] != "0" else "1") + shares[1][-9:]
        with pytest.raises(ShareError):
            custody.unlock([shares[0], wrong])
        assert all(getattr(crypto.decrypt(v, c), "locked", False)
                   for c, vs in values.items() for v in vs)
        no_factor_opens()
        # 4. K shares (any K) open everything sealed to the fund's key: the statement, the
        #    second factor the migration sealed; the factors wrapped under passwords stay
        #    shut without the password
        custody.unlock([shares[2], shares[0]])
        opened = {c: {crypto.decrypt(v, c) for v in vs} for c, vs in values.items()}
        assert [uploads.base64.b64decode(crypto.decrypt(h, "upload.statement"))
                for h in held] == [statement.encode()]
        for pid, _secret, wrapped, _hold, _pending in factors:
            if wrapped is not None:
                with pytest.raises(factor.FactorError):
                    factor.unwrap(wrapped, factor.key_for("a guess", wrapped), pid)
        # 5. a thief who also knows one person's password opens that person's secret
        [(tid, tw)] = [(r[0], r[2]) for r in factors if r[0] == fund.people["treasurer"].id]
        assert factor.unwrap(tw, factor.key_for(PASSWORD, tw), tid) == fund.totp["treasurer"]
    thief.extensions["carebooks.engine"].dispose()
    assert opened["person.totp_secret"] == {fund.totp["treasurer2"]}
    assert {words["story"], later} <= opened["aid_request.story"]
    assert {words["question"], words["answer"]} <= opened["request_note.body"]
    assert words["donor"] in opened["donation.donor_name"]
    assert later_code


def test_resplit_makes_old_shares_open_nothing(fund):
    words = fill(fund)
    old = split(fund, shares=3, needed=2)
    code, out, err = cli(fund, "custody", "resplit", "--shares", "2", "--needed", "2",
                         input="\n".join(old[:2]) + "\n")
    assert code == 0, err
    new = [s for _n, s in SHARE.findall(out)]
    assert len(new) == 2
    with fund.ctx():
        with pytest.raises(ShareError, match="older split"):
            custody.unlock(old[:2])
        custody.unlock(new)
    assert request_view(fund, "treasurer", words["code"])["story"] == words["story"]


def test_too_few_shares_on_resplit_change_nothing(fund):
    old = split(fund, shares=3, needed=2)
    code, _out, err = cli(fund, "custody", "resplit", "--shares", "2", "--needed", "2",
                          input=old[0] + "\n")
    assert code == 1 and "2 shares are needed" in err
    with fund.ctx():
        custody.unlock(old[1:])


def test_shred_makes_stories_unreadable_and_leaves_the_books(fund):
    words = fill(fund)
    shares = split(fund)
    books = Path(fund.app.config["BOOKS_DIR"])
    before = {p: p.read_bytes() for p in books.rglob("*.beancount")}
    with fund.ctx():
        custody.unlock(shares[:2])
    code, _out, err = cli(fund, "custody", "shred")
    assert code == 1 and "--yes-destroy-every-story" in err
    code, _out, err = cli(fund, "custody", "shred", "--yes-destroy-every-story")
    assert code == 0, err
    view = request_view(fund, "treasurer", words["code"])
    assert view["story"] == "removed: the fund's key was destroyed"
    with fund.ctx():
        with pytest.raises(ShareError):
            custody.unlock(shares)
    assert {p: p.read_bytes() for p in books.rglob("*.beancount")} == before
    # the fund goes on: a new request is accepted, and approved by amount
    code2 = ask(fund, story=marker("after shred"))
    assert fund.api("treasurer", "POST", f"/requests/{code2}/approve")[0] == 200


def test_lock_drops_the_key(fund):
    words = fill(fund)
    shares = split(fund)
    with fund.ctx():
        custody.unlock(shares[:2])
    assert request_view(fund, "treasurer", words["code"])["story"] == words["story"]
    assert cli(fund, "lock")[0] == 0
    assert request_view(fund, "treasurer", words["code"])["story"].startswith("locked")


def test_idle_time_locks_again(fund, monkeypatch):
    words = fill(fund)
    shares = split(fund)
    with fund.ctx():
        custody.unlock(shares[:2])
    fund.app.config[custody.IDLE_ENV] = "0"
    assert request_view(fund, "treasurer", words["code"])["story"].startswith("locked")


def test_policy_refuses_a_split_one_person_could_open(fund):
    code, _out, err = cli(fund, "custody", "split", "--shares", "3", "--needed", "1")
    assert code == 1 and "needed" in err
    assert not Path(fund.app.instance_path, "custody.json").exists()


def test_k_shares_and_the_backup_file_recover_the_fund(sqlite_fund, tmp_path):
    from app.workflow import requests
    from app.workflow.backup import backup, restore

    fund = sqlite_fund
    words = fill(fund)
    shares = split(fund)
    file = tmp_path / "fund-backup.tar.gz"
    with fund.ctx():
        backup(file)
    memory.wipe()   # a new machine: nothing in memory
    app = create_app(instance=tmp_path / "restored", test_config={
        "DATABASE_URL": f"sqlite:///{tmp_path / 'restored' / 'carebooks.db'}",
        "TESTING": True, "RATELIMIT_ENABLED": False})
    with app.app_context():
        restore(file)
        treasurer = fund.people["treasurer"]
        assert requests.get(treasurer, words["code"])["story"].startswith("locked")
        with pytest.raises(ShareError):
            custody.unlock(shares[:1])
        custody.unlock(shares[1:])
        assert requests.get(treasurer, words["code"])["story"] == words["story"]
    app.extensions["carebooks.engine"].dispose()


def test_purge_works_while_locked(fund):
    words = fill(fund)
    shares = split(fund)
    assert fund.api("member", "POST", f"/requests/{words['code']}/withdraw")[0] == 200
    code, out, err = cli(fund, "purge", "--days", "0")
    assert code == 0, err
    with fund.ctx():
        custody.unlock(shares[:2])
    view = request_view(fund, "treasurer", words["code"])
    assert view["story"].startswith("[removed after 0 days]"), view["story"]
    assert all(v.startswith("cb2:") for vs in stored(fund).values() for v in vs)
