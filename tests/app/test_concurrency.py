"""Two treasurers acting on one request at the same moment produce exactly one effect."""

from __future__ import annotations

import threading
from decimal import Decimal

from app.workflow import requests
from app.workflow.errors import WorkflowError
from tests.app.conftest import ask


def _race(fund, calls):
    """Run each (who, fn, args) in its own thread, released together; return outcomes."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(i, who, fn, args):
        with fund.ctx():
            barrier.wait()
            try:
                outcomes[i] = fn(fund.people[who], *args)
            except WorkflowError as exc:
                outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i, *c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def _ids(fund, prefix):
    with fund.ctx():
        from app.fund import books
        return [i for i in books().state.ids if i.startswith(prefix)]


def test_two_treasurers_approve_at_once(fund):
    code = ask(fund, amount="300.00")
    outcomes = _race(fund, [("treasurer", requests.approve, (code, {})),
                            ("treasurer2", requests.approve, (code, {}))])
    ok = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if isinstance(o, WorkflowError)]
    assert len(ok) == 1 and len(refused) == 1, outcomes
    assert refused[0].code == "illegal_transition"
    assert _ids(fund, f"approve:{code}") == [f"approve:{code}:1"]
    with fund.ctx():
        from app.fund import books
        assert books().state.outstanding(code) == Decimal("300.00")


def test_two_treasurers_pay_the_whole_amount_at_once(fund):
    code = ask(fund, amount="250.00")
    with fund.ctx():
        requests.approve(fund.people["treasurer"], code, {})
    body = {"amount": "250.00", "account": "Assets:Fund:Bank"}
    outcomes = _race(fund, [("treasurer", requests.pay, (code, body)),
                            ("treasurer2", requests.pay, (code, body))])
    assert sum(isinstance(o, dict) for o in outcomes) == 1, outcomes
    assert len(_ids(fund, f"pay:{code}")) == 1
    with fund.ctx():
        from app.fund import books
        state = books().state
        assert state.outstanding(code) == 0
        assert state.balance("Assets:Fund:Bank") == Decimal("4750.00")


def test_many_payments_race_never_overpay(fund):
    code = ask(fund, amount="400.00")
    with fund.ctx():
        requests.approve(fund.people["treasurer"], code, {})
    body = {"amount": "150.00", "account": "Assets:Fund:Bank"}
    outcomes = _race(fund, [("treasurer" if i % 2 else "treasurer2", requests.pay, (code, body))
                            for i in range(6)])
    assert sum(isinstance(o, dict) for o in outcomes) == 2  # 300 paid, 150 more would overpay
    with fund.ctx():
        from app.fund import books
        assert books().state.outstanding(code) == Decimal("100.00")
