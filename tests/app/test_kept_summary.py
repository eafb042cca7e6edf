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
    return response.status_code, dict(response.headers), response.get_data()


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
