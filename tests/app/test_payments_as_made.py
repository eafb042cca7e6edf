"""Paying as treasurers pay: the account that matches the member's payout method first,
balances in sight, a reference and a note kept (encrypted, never in the books), and
several approved requests paid from one account in one action, all or nothing."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sqlalchemy import text as sql

from tests.app.conftest import ask
from tests.app.test_web import Browser, text


def approved(fund, amount="100.00", method="bank", who="member") -> str:
    code = ask(fund, who=who, amount=amount, payout_method=method)
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    assert status == 200 and data["status"] == "approved", data
    return code


def books_text(fund) -> str:
    root = Path(fund.app.config["BOOKS_DIR"])
    return "\n".join(p.read_text() for p in root.rglob("*.beancount"))


def entries_paying(fund, code: str) -> int:
    return books_text(fund).count(f'carebooks-id: "pay:{code}:')


def test_the_pay_form_starts_from_the_account_the_member_asked_for(fund):
    fund.api("treasurer", "POST", "/donations", json={
        "amount": "80.00", "account": "Assets:Fund:Venmo", "date": dt.date.today().isoformat(),
        "category": "individual", "donor_consents_public": False})
    code = approved(fund, method="venmo")
    page = text(Browser(fund).sign_in("treasurer").get(f"/treasurer/requests/{code}"))
    selected = re.search(r'<option selected value="([^"]+)">([^<]+)</option>', page)
    assert selected and selected.group(1) == "Assets:Fund:Venmo"
    assert "Venmo (holds 80.00 USD)" in selected.group(2)
    assert "Bank (holds 5,000.00 USD)" in page


def test_a_reference_and_note_are_kept_encrypted_and_never_in_the_books(fund):
    code = approved(fund, amount="60.00")
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/payments", json={
        "amount": "60.00", "account": "Assets:Fund:Bank", "reference": "TXN-8842-ZQ",
        "note": "Sent after the member confirmed the account"})
    assert status == 201, data
    assert data["payments"][0]["reference"] == "TXN-8842-ZQ"
    assert data["payments"][0]["note"] == "Sent after the member confirmed the account"
    # the member sees the payment, not the treasurers' reference or note
    _status, mine = fund.api("member", "GET", f"/requests/{code}")
    assert mine["payments"] == [{"amount": "60.00", "date": dt.date.today().isoformat()}]
    page = text(Browser(fund).sign_in("treasurer").get(f"/treasurer/requests/{code}"))
    assert "reference TXN-8842-ZQ" in page
    assert "TXN-8842" not in books_text(fund) and "confirmed the account" not in books_text(fund)
    with fund.ctx():
        from app.db import engine
        with engine().connect() as conn:
            ref, note = conn.execute(sql("SELECT reference, note FROM payment")).one()
    assert ref.startswith("cb1:") and "8842" not in ref and note.startswith("cb1:")


def test_a_reference_too_long_is_refused_naming_the_field(fund):
    code = approved(fund, amount="60.00")
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/payments", json={
        "amount": "60.00", "account": "Assets:Fund:Bank", "reference": "x" * 101})
    assert status == 422 and data["error"]["field"] == "reference"
    assert "101 characters; at most 100" in data["error"]["message"]
    assert entries_paying(fund, code) == 0


def test_several_requests_are_paid_in_one_action_one_entry_each(fund):
    a, b = approved(fund, "120.00", "venmo"), approved(fund, "80.00", "venmo", who="member2")
    body = {"account": "Assets:Fund:Bank", "batch": "venmo-run-0001", "reference": "BATCH-7",
            "payments": [{"code": a}, {"code": b, "reference": "VEN-22"}]}
    status, data = fund.api("treasurer", "POST", "/payments", json=body)
    assert status == 201, data
    assert [(p["code"], p["amount"], p["status"]) for p in data["paid"]] == \
        [(a, "120.00", "paid"), (b, "80.00", "paid")]
    assert data["total"] == "200.00"
    assert entries_paying(fund, a) == 1 and entries_paying(fund, b) == 1
    _s, got = fund.api("treasurer", "GET", f"/requests/{b}")
    assert got["payments"][0]["reference"] == "VEN-22"
    _s, got = fund.api("treasurer", "GET", f"/requests/{a}")
    assert got["payments"][0]["reference"] == "BATCH-7"
    # the same action sent again pays nothing twice and answers the same
    status, again = fund.api("treasurer", "POST", "/payments", json=body)
    assert status == 201 and again["paid"] == data["paid"] and again["total"] == "200.00"
    assert entries_paying(fund, a) == 1 and entries_paying(fund, b) == 1
    # the batch's name used for other requests is refused
    c = approved(fund, "10.00")
    status, err = fund.api("treasurer", "POST", "/payments", json={
        **body, "payments": [{"code": c}]})
    assert status == 409 and err["error"]["field"] == "batch"
    assert entries_paying(fund, c) == 0


def test_one_request_that_cannot_be_paid_stops_them_all(fund):
    a = approved(fund, "120.00")
    waiting = ask(fund, amount="50.00")  # not approved
    status, data = fund.api("treasurer", "POST", "/payments", json={
        "account": "Assets:Fund:Bank", "payments": [{"code": a}, {"code": waiting}]})
    assert status == 409, data
    assert data["error"]["message"].startswith(f"{waiting}: ")
    assert "nothing was paid" in data["error"]["message"]
    _s, got = fund.api("treasurer", "GET", f"/requests/{a}")
    assert got["status"] == "approved" and entries_paying(fund, a) == 0


def test_the_account_must_hold_them_all_together(fund):
    fund.api("treasurer", "POST", "/donations", json={
        "amount": "150.00", "account": "Assets:Fund:Venmo", "date": dt.date.today().isoformat(),
        "category": "individual", "donor_consents_public": False})
    a, b = approved(fund, "100.00", "venmo"), approved(fund, "100.00", "venmo", who="member2")
    status, data = fund.api("treasurer", "POST", "/payments", json={
        "account": "Assets:Fund:Venmo", "payments": [{"code": a}, {"code": b}]})
    assert status == 422 and data["error"]["field"] == "account", data
    assert data["error"]["message"].startswith(f"{b}: cash below zero")
    assert "nothing was paid" in data["error"]["message"]
    assert entries_paying(fund, a) == 0 and entries_paying(fund, b) == 0


def test_a_code_listed_twice_is_refused(fund):
    a = approved(fund, "20.00")
    status, data = fund.api("treasurer", "POST", "/payments", json={
        "account": "Assets:Fund:Bank", "payments": [{"code": a}, {"code": a}]})
    assert status == 422 and "listed twice" in data["error"]["message"]


def test_a_member_cannot_pay_several(fund):
    a = approved(fund, "20.00")
    status, _data = fund.api("member2", "POST", "/payments", json={
        "account": "Assets:Fund:Bank", "payments": [{"code": a}]})
    assert status == 403 and entries_paying(fund, a) == 0


def test_the_pay_several_page_pays_what_is_ticked(fund):
    a, b = approved(fund, "30.00"), approved(fund, "40.00", who="member2")
    c = approved(fund, "50.00")
    t = Browser(fund).sign_in("treasurer")
    page = text(t.get("/treasurer/pay"))
    assert a in page and b in page and "Bank (holds 5,000.00 USD)" in page
    batch = re.search(r'id="batch" name="batch" type="hidden" value="([^"]+)"', page).group(1)
    resp = t.post("/treasurer/pay", data={"code": [a, b], "account": "Assets:Fund:Bank",
                                          "date": dt.date.today().isoformat(),
                                          "batch": batch})
    assert resp.status_code == 303, text(resp)[:2000]
    page = text(t.get("/treasurer/pay"))
    assert "2 payment(s), 70.00 USD in all, are recorded in the books." in page
    assert a not in page and c in page
    # the same form sent twice (a second click) pays nothing more
    resp = t.post("/treasurer/pay", data={"code": [a, b], "account": "Assets:Fund:Bank",
                                          "date": dt.date.today().isoformat(),
                                          "batch": batch})
    assert resp.status_code == 303
    assert entries_paying(fund, a) == 1 and entries_paying(fund, b) == 1
    resp = t.post("/treasurer/pay", data={"account": "Assets:Fund:Bank"})
    assert resp.status_code == 422 and "choose at least one" in text(resp)


def test_purge_removes_a_payments_reference_and_note_with_the_story(fund):
    from app.workflow.retention import purge
    from tests.app.test_privacy_at_rest import _age

    code = approved(fund, amount="60.00")
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/payments", json={
        "amount": "60.00", "account": "Assets:Fund:Bank", "reference": "TXN-5511-QQ",
        "note": "Paid at the community centre"})
    assert status == 201, data
    _age(fund, code, 200)
    with fund.ctx():
        counts = purge()
    assert counts["requests"] == 1 and counts["notes"] == 2, counts
    _status, seen = fund.api("treasurer", "GET", f"/requests/{code}")
    assert seen["payments"][0]["reference"] == "[removed after 180 days]"
    assert seen["payments"][0]["note"] == "[removed after 180 days]"
    assert seen["payments"][0]["amount"] == "60.00"
