"""The community's summary read, answered from the kept summary without Flask's request
machinery (app/api/kept.py): the same answer and headers as Flask's, fresh after every
money write, and only for strangers' plain reads — everything else goes to Flask."""

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


def test_the_kept_read_shows_a_donation_and_an_approval_at_once(fund, dispatched):
    client = fund.client()
    before = client.get(PATH).get_json()
    assert client.get(PATH).get_json() == before
    status, _ = fund.api("treasurer", "POST", "/donations", json={
        "amount": "40.00", "account": "Assets:Fund:Bank", "date": TODAY.isoformat(),
        "category": "individual", "donor_consents_public": False})
    assert status == 201
    after = client.get(PATH).get_json()
    assert after["donations"]["count"] == before["donations"]["count"] + 1
    assert float(after["available"]) == float(before["available"]) + 40
    code = ask(fund, amount="120.00", category="food")
    assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    latest = client.get(PATH).get_json()
    assert float(latest["outstanding"]) == float(after["outstanding"]) + 120
    # none of the strangers' reads after the first went through Flask
    assert [p for p in dispatched if p.startswith("/api/v1/summary")] == [PATH]


def test_reads_with_a_cookie_a_token_or_another_shape_go_to_flask(fund, dispatched):
    client = fund.client()
    kept = client.get(PATH)
    assert kept.status_code == 200
    count = len(dispatched)
    # a token: Flask answers, marked not to be cached by anyone
    with_token = client.get(PATH, headers=fund.headers("treasurer"))
    assert with_token.status_code == 200 and len(dispatched) == count + 1
    assert with_token.headers["Cache-Control"] == "no-store"
    assert "Cache-Control" not in client.get(PATH).headers  # the stranger's stays public
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
