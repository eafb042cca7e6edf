"""Each rule of the fund's policy at, just under and just over its limit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from app.db import session_scope
from app.models import AuditEvent
from app.workflow import policy, requests
from app.workflow.errors import InvalidInput, PolicyRefused
from tests.app.conftest import ask

CENT = Decimal("0.01")
EDGES = [(-CENT, True), (Decimal(0), True), (CENT, False)]  # (offset from limit, allowed?)


def _approve_fully(fund, code):
    with fund.ctx():
        data = requests.approve(fund.people["treasurer"], code, {})
        if data["status"] != "approved":
            data = requests.approve(fund.people["treasurer2"], code, {})
    assert data["status"] == "approved", data
    return data


@pytest.mark.parametrize(("amount", "needed"), [("499.99", 1), ("500.00", 2), ("500.01", 2)])
def test_second_approval_at_threshold(fund, amount, needed):
    code = ask(fund, amount=amount)
    with fund.ctx():
        first = requests.approve(fund.people["treasurer"], code, {})
        assert first["approvals_needed"] == needed
        assert first["status"] == ("approved" if needed == 1 else "submitted")
        if needed == 2:
            second = requests.approve(fund.people["treasurer2"], code, {})
            assert second["status"] == "approved"
            assert [a["by"] for a in second["approvals"]] == ["treasurer", "treasurer2"]


def test_same_treasurer_cannot_give_both_approvals(fund):
    code = ask(fund, amount="600.00")
    status, _ = fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    assert status == 200
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    assert status == 409 and data["error"]["code"] == "already_approved"


def test_nobody_approves_their_own_request(fund):
    code = ask(fund, who="treasurer", amount="100.00")
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    assert status == 422
    assert data["error"]["code"] == "self_approval"
    assert "own request" in data["error"]["message"]
    status, data = fund.api("treasurer2", "POST", f"/requests/{code}/approve", json={})
    assert status == 200 and data["status"] == "approved"


@pytest.mark.parametrize(("offset", "allowed"), EDGES)
def test_request_cap(fund, offset, allowed):
    amount = str(Decimal("1000.00") + offset)
    body = {"amount": amount, "category": "rent", "needed_by": "2099-01-01",
            "payout_method": "bank", "story": "x"}
    status, data = fund.api("member", "POST", "/requests", json=body)
    if allowed:
        assert status == 201, data
    else:
        assert status == 422
        assert data["error"]["code"] == "request_cap"
        assert data["error"]["message"] == (
            f"request cap: {Decimal(amount):,} USD is over the cap of 1,000.00 USD per request")


@pytest.mark.parametrize(("offset", "allowed"), EDGES)
def test_member_cap_over_rolling_window(fund, offset, allowed):
    _approve_fully(fund, ask(fund, amount="1000.00"))
    amount = Decimal("500.00") + offset
    code = ask(fund, amount=str(amount))
    with fund.ctx():
        if allowed:
            data = requests.approve(fund.people["treasurer"], code, {})
            assert data["approvals"], data
        else:
            with pytest.raises(PolicyRefused) as info:
                requests.approve(fund.people["treasurer"], code, {})
            assert info.value.code == "member_cap"
            assert info.value.message == (
                "member cap: 1,000.00 USD of 1,500.00 USD used in the last 90 days; "
                f"this request needs {amount:,} USD")


def test_member_cap_counts_only_this_member(fund):
    _approve_fully(fund, ask(fund, amount="1000.00"))
    code = ask(fund, who="member2", amount="900.00")
    _approve_fully(fund, code)


def test_cancelled_unpaid_part_frees_the_member_cap(fund):
    code = ask(fund, amount="1000.00")
    _approve_fully(fund, code)
    with fund.ctx():
        requests.pay(fund.people["treasurer"], code, {"amount": "300.00",
                                                      "account": "Assets:Fund:Bank"})
        requests.cancel(fund.people["treasurer"], code, {"reason": "Landlord forgave the rest"})
    _approve_fully(fund, ask(fund, amount="1000.00"))  # 300 + 1000 <= 1500


@pytest.mark.parametrize(("offset", "allowed"), EDGES)
def test_reserve_floor(fund, offset, allowed):
    with fund.ctx():
        policy.update_policy(fund.people["admin"], {"reserve_floor": "4600.00"}, ["rent"])
    amount = Decimal("400.00") + offset
    code = ask(fund, amount=str(amount))
    with fund.ctx():
        if allowed:
            assert requests.approve(fund.people["treasurer"], code, {})["status"] == "approved"
        else:
            with pytest.raises(PolicyRefused) as info:
                requests.approve(fund.people["treasurer"], code, {})
            assert info.value.code == "reserve_floor"
            assert "below the floor of 4,600.00 USD" in info.value.message
            assert f"would leave {Decimal('5000.00') - amount:,} USD available" \
                in info.value.message


@pytest.mark.parametrize(("offset", "allowed"), EDGES)
def test_monthly_category_budget(fund, offset, allowed):
    with fund.ctx():
        policy.update_policy(fund.people["admin"], {"category_budgets": {"food": "300.00"}},
                             ["rent", "food"])
    _approve_fully(fund, ask(fund, amount="200.00", category="food"))
    amount = Decimal("100.00") + offset
    code = ask(fund, who="member2", amount=str(amount), category="food")
    with fund.ctx():
        if allowed:
            assert requests.approve(fund.people["treasurer"], code, {})["status"] == "approved"
        else:
            with pytest.raises(PolicyRefused) as info:
                requests.approve(fund.people["treasurer"], code, {})
            assert info.value.code == "category_budget"
            assert info.value.message.startswith(
                "category budget: 200.00 USD of the 300.00 USD food budget is used this month")
    # another category is not limited by the food budget
    _approve_fully(fund, ask(fund, who="member2", amount="150.00", category="rent"))


@pytest.mark.parametrize(("offset", "allowed"), EDGES)
def test_payment_never_exceeds_approval(fund, offset, allowed):
    code = ask(fund, amount="200.00")
    _approve_fully(fund, code)
    amount = Decimal("200.00") + offset
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                            json={"amount": str(amount), "account": "Assets:Fund:Bank"})
    if allowed:
        assert status == 201
        assert data["status"] == ("paid" if offset == 0 else "partially_paid")
    else:
        assert status == 422 and data["error"]["code"] == "exceeds_approved"
        assert data["error"]["field"] == "amount"
        with fund.ctx():
            from app.fund import books
            assert books().state.outstanding(code) == Decimal("200.00")


def test_partial_payments_add_up(fund):
    code = ask(fund, amount="300.00")
    _approve_fully(fund, code)
    for amount, status in [("100.00", "partially_paid"), ("150.00", "partially_paid"),
                           ("50.00", "paid")]:
        code_, data = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                               json={"amount": amount, "account": "Assets:Fund:Bank"})
        assert code_ == 201 and data["status"] == status
    assert data["paid_amount"] == "300.00" and data["outstanding"] == "0.00"


def test_policy_change_is_audited_and_validated(fund):
    with fund.ctx():
        policy.update_policy(fund.people["admin"], {"request_cap": "750.00",
                                                    "member_window_days": 30}, ["rent"])
        assert policy.get_policy().request_cap == Decimal("750.00")
        with session_scope() as session:
            event = session.exec(select(AuditEvent).where(
                AuditEvent.action == "policy.changed")).one()
        assert event.actor_id == fund.people["admin"].id
        assert '"request_cap":"1000.00"' in event.detail and '"750.00"' in event.detail
        with pytest.raises(InvalidInput) as info:
            policy.update_policy(fund.people["admin"], {"member_window_days": 0}, ["rent"])
        assert info.value.field == "member_window_days"
        assert policy.get_policy().member_window_days == 30
