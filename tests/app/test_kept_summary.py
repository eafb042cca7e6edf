"""The community's summary and page reads, answered from the kept answers without Flask's
request machinery (app/api/kept.py): the same answer and headers as Flask's, changing at
most once a day, 304 to a conditional read, and only for strangers' plain reads —
everything else goes to Flask."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.app.conftest import ask

TODAY = dt.date.today()
MONTH = TODAY.strftime("%Y-%m")
PATH = f"/api/v1/summary?month={MONTH}"


@pytest.fixture
def dispatched(fund, monkeypatch):
    """How many requests reached Flask's dispatch (the kept read never does)."""
    calls = []
    real = fund.app.full_dispatch_request

    def counting():
        from flask import request
        calls.append(request.full_path)
        return real()

    monkeypatch.setattr(fund.app, "full_dispatch_request", counting)
    return calls


def _answer(response) -> tuple:
    """Status, headers and body; the max-age counts down to midnight, so two answers a
    second apart differ there by one: it is compared to the second."""
    headers = dict(response.headers)
    if headers.get("Cache-Control", "").startswith("public, max-age="):
        age = int(headers["Cache-Control"].rpartition("=")[2])
        headers["Cache-Control"] = "public, max-age=" + ("~" if abs(
            age - _seconds_to_midnight()) <= 2 else str(age))
    return response.status_code, headers, response.get_data()


def _seconds_to_midnight() -> int:
    now = dt.datetime.now()
    return int((dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time())
                - now).total_seconds())


def test_a_strangers_second_read_is_the_kept_answer_with_flasks_own_headers(fund,
                                                                             dispatched):
    client = fund.client()
    first = client.get(PATH)
    assert first.status_code == 200 and len(dispatched) == 1
    second = client.get(PATH)
    assert len(dispatched) == 1, "the second read went through Flask"
    assert _answer(second) == _answer(first)
    assert second.headers["X-Content-Type-Options"] == "nosniff"
    assert second.headers["Content-Type"] == "application/json"
    assert second.get_json()["month"] == MONTH
    # no month is this month, kept the same way
    assert client.get("/api/v1/summary").get_json() == first.get_json()
    assert client.get("/api/v1/summary").get_json()["month"] == MONTH


def test_the_kept_read_changes_the_next_day_not_at_each_write(fund, dispatched,
                                                              monkeypatch):
    from app.workflow import summary

    client = fund.client()
    before = client.get(PATH)
    assert client.get(PATH).get_data() == before.get_data()
    status, _ = fund.api("treasurer", "POST", "/donations", json={
        "amount": "6000.00", "account": "Assets:Fund:Bank", "date": TODAY.isoformat(),
        "category": "individual", "donor_consents_public": False})
    assert status == 201
    code = ask(fund, amount="120.00", category="food")
    assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    # the same day: the same bytes, the same ETag (nothing done today shows)
    same = client.get(PATH)
    assert same.get_data() == before.get_data() and same.headers["ETag"] == before.headers["ETag"]
    # the next day the band moves: 5,000 + 6,000 - 120 = 10,880 is in 10,000-20,000
    monkeypatch.setattr(summary, "today", lambda: TODAY + dt.timedelta(days=1))
    after = client.get(PATH)
    assert after.get_json()["live"]["as_of"] == TODAY.isoformat()
    assert before.get_json()["live"]["available"] == {"from": "5000", "to": "10000"}
    assert after.get_json()["live"]["available"] == {"from": "10000", "to": "20000"}
    # none of the strangers' reads after the first went through Flask
    assert [p for p in dispatched if p.startswith("/api/v1/summary")] == [PATH]


def test_a_conditional_read_is_answered_304_by_flask_and_by_the_kept_path(fund, dispatched):
    client = fund.client()
    first = client.get(PATH)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    assert 0 < int(first.headers["Cache-Control"].split("=")[1]) <= 86400
    kept = client.get(PATH, headers={"If-None-Match": etag})
    assert kept.status_code == 304 and kept.get_data() == b"" and kept.headers["ETag"] == etag
    assert len(dispatched) == 1
    # the page: Flask renders it once per language, then the kept path answers
    page = client.get("/")
    assert page.status_code == 200 and page.headers["Cache-Control"].startswith("public")
    assert "Set-Cookie" not in page.headers
    again = client.get("/", headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/").get_data() == page.get_data()
    assert dispatched.count("/?") == 1
    # a Spanish reader gets the Spanish page, under its own ETag
    es = client.get("/", headers={"Accept-Language": "es"})
    assert es.headers["ETag"] != page.headers["ETag"] and 'lang="es"' in es.get_data(as_text=True)


def test_reads_with_a_cookie_a_token_or_another_shape_go_to_flask(fund, dispatched):
    client = fund.client()
    kept = client.get(PATH)
    assert kept.status_code == 200
    count = len(dispatched)
    # a token: Flask answers, marked not to be cached by anyone
    with_token = client.get(PATH, headers=fund.headers("treasurer"))
    assert with_token.status_code == 200 and len(dispatched) == count + 1
    assert with_token.headers["Cache-Control"] == "no-store"
    assert client.get(PATH).headers["Cache-Control"].startswith("public")  # the stranger's
    # a cookie, a HEAD, an extra parameter: Flask
    with_cookie = fund.client()
    with_cookie.set_cookie("lang", "es")
    with_cookie.get(PATH)
    client.head(PATH)
    client.get(PATH + "&extra=1")
    assert len(dispatched) == count + 4
    # a refused month still gets the API's error, from Flask, after reads were kept
    refused = client.get("/api/v1/summary?month=0000-01")
    assert refused.status_code == 422
    assert refused.get_json()["error"]["field"] == "month"


def test_https_reads_keep_their_own_headers(fund, dispatched):
    https = fund.app.test_client()
    plain = fund.client()
    first = https.get(PATH, base_url="https://localhost")
    assert "Strict-Transport-Security" in first.headers
    assert "Strict-Transport-Security" not in plain.get(PATH).headers
    count = len(dispatched)
    assert "Strict-Transport-Security" in https.get(PATH, base_url="https://localhost").headers
    assert "Strict-Transport-Security" not in plain.get(PATH).headers
    assert len(dispatched) == count


# --- the page: exactly Flask's answer, changed at once in every worker, strangers only ----


def _worker(fund):
    """Another gunicorn worker: an app of its own (its own kept answers and caches) on the
    same instance folder and database."""
    from pathlib import Path

    from app import create_app

    return create_app(instance=Path(fund.app.instance_path), test_config={
        "DATABASE_URL": fund.app.config["DATABASE_URL"], "TESTING": True,
        "RATELIMIT_ENABLED": False})


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_kept_page_is_flasks_answer_byte_for_byte(fund, dispatched, language):
    client = fund.client()
    asked = {"Accept-Language": language}
    first = client.get("/", headers=asked)              # Flask renders it
    assert first.status_code == 200 and len(dispatched) == 1
    kept = client.get("/", headers=asked)               # the kept path answers
    assert len(dispatched) == 1
    assert _answer(kept) == _answer(first)
    assert f'lang="{language}"' in kept.get_data(as_text=True)
    # the security headers are Flask's, in full: a fixed policy, no per-request nonce
    from app.security import ALWAYS
    for name, value in ALWAYS.items():
        assert kept.headers[name] == value
    assert "nonce" not in kept.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in kept.headers
    # Flask's own answer to the same read, now, is the same again
    fund.app.wsgi_app.fresh.clear()
    fund.app.wsgi_app.headers.clear()
    assert _answer(client.get("/", headers=asked)) == _answer(first)
    assert len(dispatched) == 2


def test_a_signed_in_member_gets_their_own_page_from_flask_never_the_kept_one(fund,
                                                                              dispatched):
    from tests.app.test_access_matrix import sign_in

    stranger = fund.client()
    stranger.get("/")
    kept = stranger.get("/")
    count = len(dispatched)
    member = sign_in(fund, "member")
    page = member.get("/")
    assert len(dispatched) == count + 1, "a member's read was answered from the kept page"
    assert page.headers["Cache-Control"] == "no-store"
    assert "ETag" not in page.headers
    html = page.get_data(as_text=True)
    assert "@member" in html and "@member" not in kept.get_data(as_text=True)
    assert page.get_data() != kept.get_data()


def test_the_kept_page_changes_at_once_in_every_worker(fund, monkeypatch):
    """A seal, a published report, an auditor's attestation and a new policy, each made in
    one worker, change the page the other worker keeps on its very next read (its full
    check, once a second, is pushed out of the way so that only the signal can do it)."""
    from app.api import kept
    from app.fund import aid_categories, books
    from app.workflow import attest, months, policy, reports
    from app.workflow.people import add_person
    from tests.app.conftest import PASSWORD

    monkeypatch.setattr(kept, "RECHECK_SECONDS", 3600.0)
    other = _worker(fund)
    reader = other.test_client()
    month = f"{fund.start.year:04d}-{fund.start.month:02d}"

    def read() -> tuple[str, str]:
        """The other worker's first read (the one that must already be new), and a
        second one that must be the same (kept)."""
        first = reader.get("/")
        again = reader.get("/")
        assert again.get_data() == first.get_data()
        return first.headers["ETag"], first.get_data(as_text=True)

    with fund.ctx():
        auditor = add_person("auditor@example.org", ["auditor"], handle="auditor",
                             password=PASSWORD)
    etag, html = read()
    assert read() == (etag, html)            # kept, and unchanged while nothing changes
    assert other.wsgi_app.fresh, "the other worker answered from Flask, not its kept page"
    seen = {etag}

    with fund.ctx():
        months.seal(fund.people["treasurer"], month,
                    {"balances": {"Assets:Fund:Bank": "5000.00"}})
        seal_hash = books().state.last_seal.seal_hash
    etag, html = read()
    assert etag not in seen and seal_hash in html
    seen.add(etag)

    with fund.ctx():
        reports.publish(fund.people["treasurer"], month)
    etag, after = read()
    assert etag not in seen and after != html
    seen.add(etag)

    with fund.ctx():
        attest.audit(auditor, month)
    etag, html = read()
    assert etag not in seen and "was checked by 1 of the fund" in html
    seen.add(etag)

    with fund.ctx():
        policy.update_policy(fund.people["admin"], {"request_cap": "50000.00"},
                             aid_categories())
    etag, after = read()
    assert etag not in seen and after != html
    other.extensions["carebooks.engine"].dispose()
