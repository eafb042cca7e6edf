"""The Money page (issue 18): a treasurer moves money between the fund's accounts, pays a
running cost, gives a donation back and records an aid payment that came back, from the
browser; a refusal shows next to its field and changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.app.conftest import make_fund
from tests.app.test_web import Browser, text


@pytest.fixture
def fund(tmp_path):
    """A SQLite fund (the API tests of tests/app/test_movements.py cover PostgreSQL)."""
    f = make_fund(tmp_path, f"sqlite:///{tmp_path / 'web.db'}")
    yield f
    from app.workflow.check import run_check
    with f.ctx():
        report = run_check()
    assert report.ok, str(report)


def balance(fund, account: str) -> Decimal:
    from app.fund import books
    with fund.ctx():
        return books().state.balance(account)


def test_a_transfer_and_a_cost_from_the_money_page(fund):
    b = Browser(fund).sign_in("treasurer")
    page = b.get("/treasurer/money/")
    assert page.status_code == 200 and "Move money between" in text(page)
    resp = b.post("/treasurer/money/", "/treasurer/money/transfer", data={
        "transfer-amount": "300.00", "transfer-fee": "1.50",
        "transfer-from_account": "Assets:Fund:Bank", "transfer-to_account": "Assets:Fund:Cash",
        "transfer-date": dt.date.today().isoformat()})
    assert resp.status_code == 303, text(resp)[:2000]
    assert balance(fund, "Assets:Fund:Cash") == Decimal("298.50")
    resp = b.post("/treasurer/money/", "/treasurer/money/cost", data={
        "cost-amount": "20.00", "cost-kind": "other", "cost-account": "Assets:Fund:Cash",
        "cost-date": dt.date.today().isoformat()})
    assert resp.status_code == 303, text(resp)[:2000]
    assert balance(fund, "Expenses:Operations:Other") == Decimal("20.00")
    listed = text(b.get("/treasurer/money/"))
    assert "Bank → Cash box" in listed and "T-" in listed


def test_a_refused_transfer_shows_its_field_and_changes_nothing(fund):
    b = Browser(fund).sign_in("treasurer")
    resp = b.post("/treasurer/money/", "/treasurer/money/transfer", data={
        "transfer-amount": "10.00", "transfer-fee": "10.00",
        "transfer-from_account": "Assets:Fund:Bank", "transfer-to_account": "Assets:Fund:Cash"})
    assert resp.status_code == 422
    assert "must be less than the amount" in text(resp)
    assert balance(fund, "Assets:Fund:Cash") == Decimal("0")


def test_a_bounced_payment_and_a_refund_from_the_money_page(fund):
    code = fund.api("member", "POST", "/requests", json={
        "amount": "80.00", "category": "food", "payout_method": "bank", "story": "Groceries.",
        "needed_by": (dt.date.today() + dt.timedelta(days=3)).isoformat()})[1]["code"]
    assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    assert fund.api("treasurer", "POST", f"/requests/{code}/payments", json={
        "amount": "80.00", "account": "Assets:Fund:Bank"})[0] == 201
    b = Browser(fund, "es").sign_in("treasurer")
    resp = b.post("/treasurer/money/", "/treasurer/money/returned", data={
        "returned-code": code, "returned-amount": "", "returned-account": "",
        "returned-date": dt.date.today().isoformat()})
    assert resp.status_code == 303, text(resp)[:2000]
    assert fund.api("treasurer", "GET", f"/requests/{code}")[1]["status"] == "approved"
    gift = fund.api("treasurer", "POST", "/donations", json={
        "amount": "30.00", "account": "Assets:Fund:Bank", "date": dt.date.today().isoformat(),
        "category": "individual", "donor_consents_public": False})[1]["code"]
    resp = b.post("/treasurer/money/", "/treasurer/money/refund", data={
        "refund-code": gift, "refund-amount": "10.00"})
    assert resp.status_code == 303, text(resp)[:2000]
    donations = fund.api("treasurer", "GET", "/donations")[1]["donations"]
    assert next(d for d in donations if d["code"] == gift)["refunded"] == "10.00"


def test_an_admin_moves_the_start_earlier_on_the_first_run_page(fund):
    from app.fund import books
    from tests.app.conftest import months_back

    b = Browser(fund).sign_in("admin")
    page = b.get("/admin/start/")
    assert page.status_code == 200 and fund.start.isoformat() in text(page)
    earlier = months_back(fund.start, 2)
    resp = b.post("/admin/start/", data={"start": earlier.isoformat(),
                                         "opening-paypal": "75.00"})
    assert resp.status_code == 303, text(resp)[:2000]
    with fund.ctx():
        state = books().state
        assert min(state.opens.values()) == earlier
        assert state.balance("Assets:Fund:PayPal") == Decimal("75.00")
    later = b.post("/admin/start/", data={"start": fund.start.isoformat()})
    assert later.status_code == 422 and "can only move earlier" in text(later)


def test_spanish_amounts_are_read_as_spanish_writes_them(fund):
    """`1.200,50` on a Spanish page is 1200.50, in every amount field of the Money page."""
    b = Browser(fund, "es").sign_in("treasurer")
    resp = b.post("/treasurer/money/", "/treasurer/money/transfer", data={
        "transfer-amount": "1.200,50", "transfer-fee": "0,50",
        "transfer-from_account": "Assets:Fund:Bank", "transfer-to_account": "Assets:Fund:Cash",
        "transfer-date": dt.date.today().isoformat()})
    assert resp.status_code == 303, text(resp)[:2000]
    assert balance(fund, "Assets:Fund:Cash") == Decimal("1200.00")
    resp = b.post("/treasurer/money/", "/treasurer/money/cost", data={
        "cost-amount": "12,75", "cost-kind": "other", "cost-account": "Assets:Fund:Cash",
        "cost-date": dt.date.today().isoformat()})
    assert resp.status_code == 303, text(resp)[:2000]
    assert balance(fund, "Expenses:Operations:Other") == Decimal("12.75")
