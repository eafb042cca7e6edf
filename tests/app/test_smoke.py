"""The whole life of a request through the API, on each database."""

from __future__ import annotations

from tests.app.conftest import ask


def test_request_to_payment(fund):
    code = ask(fund, amount="450.00")
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    assert status == 200 and data["status"] == "approved", data
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                            json={"amount": "450.00", "account": "Assets:Fund:Bank"})
    assert status == 201 and data["status"] == "paid", data
    with fund.ctx():
        from app.fund import books
        state = books().state
        assert state.outstanding(code) == 0
        assert state.balance("Assets:Fund:Bank") == 5000 - 450
