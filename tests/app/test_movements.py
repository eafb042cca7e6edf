"""The fund's other money movements (issue 18): transfers between its own cash accounts
(with a fee), running costs, refunds of donations and returned aid payments — each one
entry in the books, idempotent, a treasurer's only, refused cleanly with nothing changed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.app.conftest import ask

TODAY = dt.date.today().isoformat()


def state(fund):
    from app.fund import books

    with fund.ctx():
        return books().state


def entries_with(fund, prefix: str) -> list:
    from app.fund import books

    with fund.ctx():
        b = books()
        return [e for m in b.state.months() for e in b.entries_of(m)
                if (e.meta or {}).get("carebooks-id", "").startswith(prefix)]


def test_a_transfer_with_a_fee_is_one_entry_and_a_retry_replays_it(fund):
    body = {"amount": "500.00", "fee": "2.50", "from_account": "Assets:Fund:Bank",
            "to_account": "Assets:Fund:PayPal", "date": TODAY}
    key = {"Idempotency-Key": "move-to-paypal-1"}
    status, made = fund.api("treasurer", "POST", "/transfers", json=body, **key)
    assert status == 201, made
    assert made["code"].startswith("T-") and made["arrived"] == "497.50"
    again_status, again = fund.api("treasurer", "POST", "/transfers", json=body, **key)
    assert (again_status, again) == (201, made)
    s = state(fund)
    assert s.balance("Assets:Fund:Bank") == Decimal("4500.00")
    assert s.balance("Assets:Fund:PayPal") == Decimal("497.50")
    assert s.balance("Expenses:Operations:Fees") == Decimal("2.50")
    assert len(entries_with(fund, "transfer:")) == 1
    status, listed = fund.api("treasurer", "GET", "/movements")
    assert status == 200 and listed["movements"][0]["code"] == made["code"]


def test_a_refused_transfer_names_the_field_and_changes_nothing(fund):
    before = state(fund).balance("Assets:Fund:Bank")
    for body, field in [
        ({"amount": "10.00", "fee": "10.00", "from_account": "Assets:Fund:Bank",
          "to_account": "Assets:Fund:Cash"}, "fee"),
        ({"amount": "10.00", "from_account": "Assets:Fund:Bank",
          "to_account": "Assets:Fund:Bank"}, "to_account"),
        ({"amount": "10.00", "from_account": "Assets:Fund:Cash",
          "to_account": "Assets:Fund:Bank"}, "account"),   # the cash box is empty
        ({"amount": "10.00", "from_account": "Assets:Fund:Bank",
          "to_account": "Assets:Fund:Cash", "memo": "hi"}, "memo"),  # no free text
    ]:
        status, data = fund.api("treasurer", "POST", "/transfers", json=body)
        assert status in (409, 422), (body, data)
        assert data["error"]["field"] == field, (body, data)
    assert state(fund).balance("Assets:Fund:Bank") == before
    assert entries_with(fund, "transfer:") == []


def test_a_running_cost_is_booked_to_operations(fund):
    status, made = fund.api("treasurer", "POST", "/costs", json={
        "amount": "12.00", "account": "Assets:Fund:Bank", "kind": "other", "date": TODAY})
    assert status == 201, made
    assert made["code"].startswith("C-")
    assert state(fund).balance("Expenses:Operations:Other") == Decimal("12.00")
    status, data = fund.api("treasurer", "POST", "/costs", json={
        "amount": "12.00", "account": "Assets:Fund:Bank", "kind": "rent"})
    assert status == 422 and data["error"]["field"] == "kind"


def test_only_a_treasurer_moves_money(fund):
    for who in ("member", "admin"):
        status, _ = fund.api(who, "POST", "/transfers", json={
            "amount": "1.00", "from_account": "Assets:Fund:Bank",
            "to_account": "Assets:Fund:Cash"})
        assert status == 403
    assert entries_with(fund, "transfer:") == []


def test_a_bounced_payment_is_owed_again_and_aid_paid_is_net_of_it(fund):
    from reports.flows import month_flows

    code = ask(fund, amount="150.00")
    assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    status, paid = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                            json={"amount": "150.00", "account": "Assets:Fund:Bank"})
    assert status == 201 and paid["status"] == "paid"
    key = {"Idempotency-Key": f"bounce-{code}"}
    status, back = fund.api("treasurer", "POST", f"/requests/{code}/returned",
                            json={"date": TODAY}, **key)
    assert status == 200, back
    assert back["status"] == "approved" and back["outstanding"] == "150.00"
    assert fund.api("treasurer", "POST", f"/requests/{code}/returned", json={"date": TODAY},
                    **key) == (200, back)
    assert len(entries_with(fund, "return:")) == 1
    s = state(fund)
    assert s.balance("Assets:Fund:Bank") == Decimal("5000.00")
    assert s.outstanding(code) == Decimal("150.00")
    from app.fund import books
    with fund.ctx():
        month = s.months()[-1]
        flows = month_flows(books().entries_of(month), books().state)
    assert sum(sum(per.values()) for per in flows.paid.values()) == Decimal("0.00")
    # nothing is paid on it now: a second return is refused
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/returned",
                            json={"amount": "1.00"})
    assert status in (409, 422) and data["error"]["code"] == "illegal_transition", data
    # paid anew
    status, again = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                             json={"amount": "150.00", "account": "Assets:Fund:Bank"})
    assert status == 201 and again["status"] == "paid"


def test_a_donation_refund_from_the_cli_matches_the_api(fund, tmp_path):
    status, made = fund.api("treasurer", "POST", "/donations", json={
        "amount": "40.00", "account": "Assets:Fund:Bank", "date": TODAY,
        "category": "individual", "donor_consents_public": False})
    assert status == 201
    status, refunded = fund.api("treasurer", "POST", f"/donations/{made['code']}/refund",
                                json={"amount": "15.00"})
    assert status == 200 and refunded["refunded"] == "15.00"
    assert len(entries_with(fund, "refund:")) == 1
