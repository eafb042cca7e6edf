"""Privacy at rest (issue 6): what people write is encrypted in the database, the key can
be rotated, a wrong or missing key fails loudly, and `carebooks purge` removes personal
text after the fund's retention period without touching the books. Both databases.

Each test writes text no one else would (a random marker), then looks for it in the raw
SQLite files (the database and its WAL) or in every row of every PostgreSQL table as the
server stores it — where it must not be — and in the API and the pages, where the right
people must still read it.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from app import crypto
from app.cli import main
from app.db import engine, session_scope
from app.models import AidRequest, AuditEvent, IdempotencyKey, RequestNote, encrypted_columns
from tests.app.conftest import ask

TODAY = dt.date.today()


def marker(label: str) -> str:
    """Text that appears nowhere else: `label` and a random tag."""
    return f"{label} {uuid.uuid4().hex[:12]}"


def cli(fund, *args: str):
    """Run `carebooks ARGS` against the fund's app; return (exit code, stdout, stderr)."""
    result = fund.app.test_cli_runner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def stored_bytes(fund) -> bytes:
    """Everything the database server keeps for the fund's tables, as raw as we can see it:
    the SQLite file and its WAL (after a checkpoint), or every row of every table in the
    PostgreSQL schema as the server stores it (`row::text`, and each text column's bytes)."""
    url = fund.app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        conn.close()
        out = path.read_bytes()
        for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if extra.exists():
                out += extra.read_bytes()
        return out
    out = []
    with fund.ctx(), engine().connect() as conn:
        tables = conn.execute(text("SELECT table_name FROM information_schema.tables "
                                   "WHERE table_schema = current_schema()")).scalars().all()
        assert "aid_request" in tables
        for table in tables:
            out += conn.execute(text(f'SELECT t::text FROM "{table}" t')).scalars().all()
        out += [bytes(b).decode() for b in conn.execute(text(
            "SELECT convert_to(story, 'UTF8') FROM aid_request")).scalars()]
    return "\n".join(out).encode()


def raw_values(fund, table: str, column: str) -> list[str]:
    """A column's values as stored (no decryption)."""
    with fund.ctx(), engine().connect() as conn:
        return conn.execute(text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL "
                                 "ORDER BY id")).scalars().all()


def key_path(fund) -> Path:
    return Path(fund.app.instance_path) / crypto.KEY_FILE


def written_request(fund) -> dict:
    """A request with a story, a question, an answer, an approval and a cancellation
    reason, submitted with an Idempotency-Key (whose replayed answer quotes the story)."""
    words = {k: marker(k) for k in ("story", "question", "answer", "reason")}
    status, data = fund.api("member", "POST", "/requests", json={
        "amount": "120.00", "category": "food", "payout_method": "bank",
        "needed_by": (TODAY + dt.timedelta(days=5)).isoformat(), "story": words["story"]},
        **{"Idempotency-Key": marker("key").replace(" ", "-")})
    assert status == 201, data
    code = data["code"]
    steps = [("treasurer", "needs-info", {"question": words["question"]}),
             ("member", "answer", {"answer": words["answer"]}),
             ("treasurer", "approve", {}),
             ("treasurer", "cancel", {"reason": words["reason"]})]
    for who, step, body in steps:
        status, data = fund.api(who, "POST", f"/requests/{code}/{step}", json=body)
        assert status == 200, (step, data)
    return {"code": code, **words}


# ----------------------------------------------------------------------------------------
# Encrypted at rest

def test_a_story_and_notes_are_not_in_the_stored_bytes(fund):
    req = written_request(fund)
    stored = stored_bytes(fund)
    for name in ("story", "question", "answer", "reason"):
        assert req[name].encode() not in stored, f"the {name} is in the database as written"
    for table, column in [("aid_request", "story"), ("request_note", "body"),
                          ("idempotency_key", "response"), ("outbox", "entry_text")]:
        values = raw_values(fund, table, column)
        assert values and all(re.match(r"^cb1:[0-9a-f]{8}:[A-Za-z0-9_-]+$", v)
                              for v in values), (table, column, values[:1])
    # ... and nowhere else in the instance folder (books, keys, caches)
    for path in Path(fund.app.instance_path).rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for name in ("story", "answer", "reason"):
                assert req[name].encode() not in content, (name, path)


def test_the_right_people_read_it_decrypted(fund):
    req = written_request(fund)
    for who in ("member", "treasurer"):
        status, data = fund.api(who, "GET", f"/requests/{req['code']}")
        assert status == 200 and data["story"] == req["story"], data
        assert [n["body"] for n in data["notes"]] == [req["question"], req["answer"],
                                                      req["reason"]]
    status, data = fund.api("member2", "GET", f"/requests/{req['code']}")
    assert status == 404 and req["story"] not in str(data)
    status, data = fund.api("admin", "GET", f"/requests/{req['code']}")
    assert status == 404 and req["story"] not in str(data)


def test_the_pages_show_it_decrypted_with_the_purge_date(fund):
    from tests.app.test_web import Browser

    req = written_request(fund)
    with fund.ctx(), session_scope() as session:
        closed = session.exec(select(AidRequest).where(AidRequest.code == req["code"])).one()
        purge_day = (closed.updated_at.replace(tzinfo=dt.UTC)
                     + dt.timedelta(days=180)).date()
    member = Browser(fund).sign_in("member").get(f"/my/requests/{req['code']}")
    treasurer = Browser(fund).sign_in("treasurer").get(f"/treasurer/requests/{req['code']}")
    for page in (member, treasurer):
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert req["answer"] in html and req["reason"] in html
        assert "The story and notes of this request are kept until" in html
    assert req["story"] in treasurer.get_data(as_text=True)
    status, data = fund.api("member", "GET", f"/requests/{req['code']}")
    assert data["purge_on"] == purge_day.isoformat()
    open_code = ask(fund, who="member2")
    assert fund.api("member2", "GET", f"/requests/{open_code}")[1]["purge_on"] is None
    html = Browser(fund).sign_in("member2").get(f"/my/requests/{open_code}").get_data(
        as_text=True)
    assert "are kept until" not in html


def test_a_consented_donor_name_is_not_in_the_stored_bytes(fund):
    name = "Ana " + "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:10])
    status, data = fund.api("treasurer", "POST", "/donations", json={
        "amount": "40.00", "account": "Assets:Fund:Bank", "date": TODAY.isoformat(),
        "category": "individual", "donor_name": name, "donor_consents_public": True})
    assert status == 201 and data["donor_name"] == name, data
    assert name.encode() not in stored_bytes(fund)
    status, data = fund.api("treasurer", "GET", "/donations")
    assert [d["donor_name"] for d in data["donations"]] == [name]


def test_the_key_file_is_private_and_outside_the_books(fund):
    ask(fund)
    path = key_path(fund)
    assert path.exists() and path.stat().st_mode & 0o777 == 0o600
    books = Path(fund.app.config["BOOKS_DIR"]).resolve()
    assert books not in path.resolve().parents
    assert not list(books.rglob("*.key"))


def test_rows_written_before_encryption_still_read(fund):
    code = ask(fund)
    legacy = marker("written before encryption")
    with fund.ctx(), engine().begin() as conn:
        conn.execute(text("UPDATE aid_request SET story = :s WHERE code = :c"),
                     {"s": legacy, "c": code})
    assert fund.api("member", "GET", f"/requests/{code}")[1]["story"] == legacy
    assert legacy.encode() in stored_bytes(fund)  # the test really wrote plaintext
    status, out, err = cli(fund, "rotate-key")
    assert status == 0, err
    assert fund.api("member", "GET", f"/requests/{code}")[1]["story"] == legacy
    assert raw_values(fund, "aid_request", "story")[0].startswith("cb1:")
    assert legacy.encode() not in stored_bytes(fund)


# ----------------------------------------------------------------------------------------
# Rotation

def test_rotate_key_rewrites_everything_and_keeps_it_readable(fund):
    req = written_request(fund)
    old_kid = crypto.key_id(crypto._parse_key(
        [ln for ln in key_path(fund).read_text().splitlines()
         if ln and not ln.startswith("#")][0], "test"))
    before = {(t, c): raw_values(fund, t, c) for t, c, _l in encrypted_columns()}
    status, out, err = cli(fund, "rotate-key")
    assert status == 0, err
    assert f"retired key(s) {old_kid}" in out
    after = {(t, c): raw_values(fund, t, c) for t, c, _l in encrypted_columns()}
    for column, values in after.items():
        assert len(values) == len(before[column])
        for old, new in zip(before[column], values):
            assert old != new and crypto.kid_of(new) != old_kid, column
    keys = [ln for ln in key_path(fund).read_text().splitlines()
            if ln and not ln.startswith("#")]
    assert len(keys) == 1 and key_path(fund).stat().st_mode & 0o777 == 0o600
    status, data = fund.api("treasurer", "GET", f"/requests/{req['code']}")
    assert data["story"] == req["story"]
    assert [n["body"] for n in data["notes"]][1:] == [req["answer"], req["reason"]]
    with fund.ctx(), session_scope() as session:
        event = session.exec(select(AuditEvent).where(
            AuditEvent.action == "data.key_rotated")).one()
        assert req["story"] not in event.detail and '"rewritten"' in event.detail


def test_a_crash_during_rotation_keeps_the_old_key_until_the_rerun(fund, monkeypatch):
    req = written_request(fund)
    real = crypto._reencrypt_column
    calls = []

    def crash_after_first_column(engine_, ring, table, column, label, batch):
        calls.append(table)
        if len(calls) > 1:
            raise RuntimeError("power cut")
        return real(engine_, ring, table, column, label, batch)

    monkeypatch.setattr(crypto, "_reencrypt_column", crash_after_first_column)
    with pytest.raises(RuntimeError, match="power cut"):
        cli(fund, "rotate-key")
    monkeypatch.setattr(crypto, "_reencrypt_column", real)
    keys = [ln for ln in key_path(fund).read_text().splitlines()
            if ln and not ln.startswith("#")]
    assert len(keys) == 2  # new first, old still there: half-rewritten data all reads
    status, data = fund.api("treasurer", "GET", f"/requests/{req['code']}")
    assert data["story"] == req["story"] and data["notes"][2]["body"] == req["reason"]
    status, out, err = cli(fund, "rotate-key")
    assert status == 0 and out.startswith("resumed"), (out, err)
    new_kid = crypto.key_id(crypto._parse_key(keys[0], "test"))
    assert f"under data key {new_kid}" in out
    assert all(crypto.kid_of(v) == new_kid for t, c, _l in encrypted_columns()
               for v in raw_values(fund, t, c))
    assert fund.api("member", "GET", f"/requests/{req['code']}")[1]["story"] == req["story"]


def test_rotation_with_the_key_in_the_environment(tmp_path):
    from tests.app.conftest import make_fund

    old, new = crypto.generate_key(), crypto.generate_key()
    # the key is in the environment from the start (the people's second-factor secrets
    # are encrypted when the fund is made)
    fund = make_fund(tmp_path, f"sqlite:///{tmp_path / 'env-key.db'}", CAREBOOKS_DATA_KEY=old)
    req = written_request(fund)
    assert not key_path(fund).exists()
    status, out, err = cli(fund, "rotate-key")
    assert status == 1 and "CAREBOOKS_DATA_KEY" in err and "--generate" in err
    status, out, err = cli(fund, "rotate-key", "--generate")
    assert status == 0 and len(out.strip()) == 44
    fund.app.config["CAREBOOKS_DATA_KEY"] = f"{new},{old}"
    status, out, err = cli(fund, "rotate-key")
    assert status == 0 and "set CAREBOOKS_DATA_KEY to it alone" in out, (out, err)
    fund.app.config["CAREBOOKS_DATA_KEY"] = new
    assert fund.api("member", "GET", f"/requests/{req['code']}")[1]["story"] == req["story"]
    assert not key_path(fund).exists()


# ----------------------------------------------------------------------------------------
# A wrong or missing key fails loudly

def _read_problem(fund, code: str) -> str:
    from app.workflow import requests

    with fund.ctx():
        with pytest.raises(Exception) as caught:
            requests.get(fund.people["treasurer"], code)
    problem = crypto.key_problem(caught.value)
    assert problem is not None, caught.value
    return problem.message


def test_a_wrong_or_missing_key_fails_with_a_clear_message(fund):
    req = written_request(fund)
    path = key_path(fund)
    saved = path.read_bytes()
    try:
        crypto.write_key_file(path, [crypto._parse_key(crypto.generate_key(), "test")])
        message = _read_problem(fund, req["code"])
        assert "aid_request.story" in message and "not in" in message and str(path) in message
        status, out, err = cli(fund, "purge", "--days", "0")
        assert status == 1 and err.startswith("error: ") and "data key" in err
        path.unlink()
        assert "no data key" in _read_problem(fund, req["code"])
        fund.app.config["CAREBOOKS_DATA_KEY"] = "too short"
        with fund.ctx(), pytest.raises(crypto.DataKeyError, match="32 bytes"):
            crypto.keyring()
        fund.app.config["CAREBOOKS_DATA_KEY"] = crypto.generate_key()
        assert "CAREBOOKS_DATA_KEY" in _read_problem(fund, req["code"])
    finally:
        fund.app.config.pop("CAREBOOKS_DATA_KEY", None)
        path.write_bytes(saved)
        path.chmod(0o600)
    assert fund.api("member", "GET", f"/requests/{req['code']}")[1]["story"] == req["story"]


def test_an_altered_or_moved_value_does_not_decrypt(fund):
    req = written_request(fund)
    with fund.ctx(), engine().begin() as conn:
        story = conn.execute(text("SELECT story FROM aid_request")).scalar_one()
        body = conn.execute(text("SELECT body FROM request_note ORDER BY id")).scalars().first()
        flipped = story[:-3] + ("A" if story[-3] != "A" else "B") + story[-2:]
        conn.execute(text("UPDATE aid_request SET story = :s"), {"s": flipped})
    assert "does not authenticate" in _read_problem(fund, req["code"])
    with fund.ctx(), engine().begin() as conn:
        conn.execute(text("UPDATE aid_request SET story = :s"), {"s": body})  # a note's text
    assert "does not authenticate" in _read_problem(fund, req["code"])
    with fund.ctx(), engine().begin() as conn:
        conn.execute(text("UPDATE aid_request SET story = :s"), {"s": story})
    assert fund.api("member", "GET", f"/requests/{req['code']}")[1]["story"] == req["story"]


# ----------------------------------------------------------------------------------------
# Purge

def _age(fund, code: str, days: int) -> None:
    """Pretend `code` last changed (closed) `days` days ago."""
    with fund.ctx(), session_scope() as session:
        req = session.exec(select(AidRequest).where(AidRequest.code == code)).one()
        req.updated_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
        req.created_at = min(req.created_at.replace(tzinfo=dt.UTC), req.updated_at)


def _books(fund) -> dict[str, bytes]:
    root = Path(fund.app.config["BOOKS_DIR"])
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".carebooks" not in p.parts}


def _pay(fund, code: str, amount: str) -> None:
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                            json={"amount": amount, "account": "Assets:Fund:Bank"})
    assert status == 201, data


def test_purge_removes_old_personal_text_and_leaves_the_books_and_check_intact(fund):
    from app.workflow.check import run_check

    paid = ask(fund, amount="150.00", story=marker("paid story"))
    fund.api("treasurer", "POST", f"/requests/{paid}/approve", json={})
    _pay(fund, paid, "150.00")
    denied = ask(fund, who="member2", story=marker("denied story"))
    fund.api("treasurer", "POST", f"/requests/{denied}/needs-info",
             json={"question": marker("question")})
    fund.api("member2", "POST", f"/requests/{denied}/answer", json={"answer": marker("answer")})
    fund.api("treasurer", "POST", f"/requests/{denied}/deny", json={"reason": marker("why")})
    cancelled = ask(fund, amount="300.00", story=marker("cancelled story"))
    fund.api("treasurer", "POST", f"/requests/{cancelled}/approve", json={})
    _pay(fund, cancelled, "100.00")
    fund.api("treasurer", "POST", f"/requests/{cancelled}/cancel", json={"reason": marker("r")})
    recent = ask(fund, who="member2", story=marker("recently withdrawn"))
    fund.api("member2", "POST", f"/requests/{recent}/withdraw", json={})
    still_open = ask(fund, story=marker("open for a long time"))
    fund.api("treasurer", "POST", f"/requests/{still_open}/needs-info",
             json={"question": marker("open question")})
    for code in (paid, denied, cancelled):
        _age(fund, code, 200)
    _age(fund, still_open, 400)

    def seen(who, code):
        return fund.api(who, "GET", f"/requests/{code}")[1]

    before = {c: seen("treasurer", c) for c in (paid, denied, cancelled, recent, still_open)}
    books_before = _books(fund)
    with fund.ctx():
        assert run_check().ok

    status, out, err = cli(fund, "purge")
    assert status == 0, err
    assert out.strip() == ("purged after 180 days: 3 stories, 4 note(s), 0 donor name(s), "
                           "0 replayed answer(s)")
    assert _books(fund) == books_before, "purge must never touch the books"
    with fund.ctx():
        report = run_check()
    assert report.ok, str(report)

    for code in (paid, denied, cancelled):
        now = seen("treasurer", code)
        assert now["story"] == "[removed after 180 days]"
        assert all(n["body"] == "[removed after 180 days]" for n in now["notes"])
        assert [n["kind"] for n in now["notes"]] == [n["kind"] for n in before[code]["notes"]]
        for keep in ("code", "status", "amount", "category", "needed_by", "approved_amount",
                     "paid_amount", "outstanding", "approvals", "payments", "approved_at",
                     "created_at", "updated_at", "purge_on", "member"):
            assert now[keep] == before[code][keep], (code, keep)
    for code in (recent, still_open):
        assert seen("treasurer", code) == before[code]
    stored = stored_bytes(fund)
    for code in (paid, denied, cancelled):
        assert before[code]["story"].encode() not in stored
    with fund.ctx(), session_scope() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "data.purged")).all()
        assert len(events) == 1 and '"requests":3' in events[0].detail
        every = " ".join(e.detail + e.subject for e in session.exec(select(AuditEvent)))
    for code in before:
        assert before[code]["story"] not in every

    status, out, err = cli(fund, "purge")  # again: nothing left to do, nothing audited
    assert status == 0 and "0 stories, 0 note(s)" in out
    status, out, err = cli(fund, "purge", "--days", "0")  # now the recent one too
    assert status == 0 and "1 story" in out, out
    assert seen("member2", recent)["story"] == "[removed after 0 days]"
    assert seen("member", still_open) == before[still_open] | {"member": "member"}
    assert _books(fund) == books_before


def test_purge_removes_old_donor_names_and_replayed_answers(fund):
    day = TODAY - dt.timedelta(days=40)
    status, data = fund.api("treasurer", "POST", "/donations", json={
        "amount": "40.00", "account": "Assets:Fund:Bank", "date": day.isoformat(),
        "category": "individual", "donor_name": "Ana Lima", "donor_consents_public": True})
    assert status == 201, data
    old_code = data["code"]
    fund.api("treasurer", "POST", "/donations", json={
        "amount": "30.00", "account": "Assets:Fund:Bank", "date": TODAY.isoformat(),
        "category": "individual", "donor_name": "Rosa Díaz", "donor_consents_public": True})
    status, data = fund.api("member", "POST", "/requests", json={
        "amount": "50.00", "category": "food", "payout_method": "bank",
        "needed_by": TODAY.isoformat(), "story": marker("replayed")},
        **{"Idempotency-Key": "retry-1"})
    assert status == 201
    code = data["code"]
    with fund.ctx(), session_scope() as session:
        row = session.exec(select(IdempotencyKey)).one()
        row.created_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=45)
    books_before = _books(fund)
    status, out, err = cli(fund, "purge", "--days", "30")
    assert status == 0, err
    assert "1 donor name(s), 1 replayed answer(s)" in out and "0 stories" in out, out
    names = {d["code"]: d["donor_name"] for d in fund.api("treasurer", "GET",
                                                          "/donations")[1]["donations"]}
    assert names[old_code] == "[removed after 30 days]"
    assert "Rosa Díaz" in names.values()
    assert fund.api("member", "GET", f"/requests/{code}")[1]["status"] == "submitted"
    assert _books(fund) == books_before
    with fund.ctx(), session_scope() as session:
        assert session.exec(select(IdempotencyKey)).all() == []
        assert session.exec(select(RequestNote)).all() == []
