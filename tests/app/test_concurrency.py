"""Two treasurers acting on one request at the same moment produce exactly one effect."""

from __future__ import annotations

import datetime as dt
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


# --- 32 at once, over HTTP (issue 7) --------------------------------------------------

def _storm(fund, n, who, method, path, body, **headers):
    """`n` threads send the same request at the same moment; return (status, json) each."""
    barrier = threading.Barrier(n)
    out = [None] * n

    def run(i):
        barrier.wait()
        out[i] = fund.api(who, method, path, json=body, **headers)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def test_32_identical_posts_with_one_idempotency_key_write_one_entry(fund):
    body = {"amount": "64.00", "account": "Assets:Fund:Bank", "category": "individual",
            "date": dt.date.today().isoformat(), "donor_consents_public": False}
    out = _storm(fund, 32, "treasurer", "POST", "/donations", body,
                 **{"Idempotency-Key": "storm-1"})
    statuses = sorted(s for s, _ in out)
    assert set(statuses) <= {201, 409}, statuses  # 409: the first is still being processed
    created = [b for s, b in out if s == 201]
    assert created and all(b == created[0] for b in created)  # one answer, replayed
    assert len(_ids(fund, "donation:")) == 1
    with fund.ctx():
        from app.fund import books
        assert books().state.balance("Assets:Fund:Bank") == Decimal("5064.00")
    status, again = fund.api("treasurer", "POST", "/donations", json=body,
                             **{"Idempotency-Key": "storm-1"})
    assert status == 201 and again == created[0]


def test_32_concurrent_approvals_of_one_request_have_one_effect(fund):
    code = ask(fund, amount="180.00")
    out = _storm(fund, 32, "treasurer", "POST", f"/requests/{code}/approve", {})
    ok = [b for s, b in out if s == 200]
    assert len(ok) == 1, sorted(s for s, _ in out)
    assert {s for s, _ in out} <= {200, 409}
    assert all(b["error"]["code"] in ("illegal_transition", "conflict")
               for s, b in out if s == 409)
    assert _ids(fund, f"approve:{code}") == [f"approve:{code}:1"]
    with fund.ctx():
        from app.fund import books
        assert books().state.outstanding(code) == Decimal("180.00")


# --- rules that span requests, with the money lock taken late (docs/performance.md) -------

def test_two_final_approvals_for_one_member_at_once_keep_the_member_cap(fund):
    """Each request alone fits the member's cap of 1,500.00, both together do not: approved
    at the same moment, exactly one is booked and the other is refused by the cap."""
    codes = [ask(fund, amount="1000.00"), ask(fund, amount="1000.00")]
    with fund.ctx():
        for code in codes:  # 1,000.00 needs two approvals: the first books nothing
            assert requests.approve(fund.people["treasurer"], code, {})["status"] == "submitted"
    outcomes = _race(fund, [("treasurer2", requests.approve, (code, {})) for code in codes])
    ok = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if isinstance(o, WorkflowError)]
    assert len(ok) == 1 and len(refused) == 1, outcomes
    assert refused[0].code == "member_cap"
    assert len(_ids(fund, "approve:")) == 1
    with fund.ctx():
        from app.fund import books
        assert books().state.committed() == Decimal("1000.00")


def test_a_payment_and_a_cancellation_of_one_request_at_once_agree_with_the_books(fund):
    """Whichever comes first, the request, the database and the books end in one story:
    paid then cancelled (nothing left to reverse), or cancelled then the payment refused."""
    code = ask(fund, amount="300.00")
    with fund.ctx():
        requests.approve(fund.people["treasurer"], code, {})
    outcomes = _race(fund, [
        ("treasurer", requests.pay, (code, {"amount": "300.00", "account": "Assets:Fund:Bank"})),
        ("treasurer2", requests.cancel, (code, {"reason": "Paid by another group"}))])
    with fund.ctx():
        from app.fund import books
        from app.workflow.check import run_check
        state = books().state
        paid = isinstance(outcomes[0], dict)
        assert state.balance("Assets:Fund:Bank") == Decimal("5000.00") - (300 if paid else 0)
        assert state.outstanding(code) == 0
        assert run_check().ok, str(run_check())


def test_check_and_money_steps_at_once_all_finish_and_agree(fund):
    """`carebooks check` holds the money lock while steps wait for it with their rows
    locked: nobody waits for anybody in a circle, and the books agree at the end."""
    from app.workflow.check import run_check

    codes = [ask(fund, who="member" if i % 2 else "member2", amount="100.00")
             for i in range(4)]
    with fund.ctx():
        for code in codes:
            requests.approve(fund.people["treasurer"], code, {})
    pay = {"amount": "100.00", "account": "Assets:Fund:Bank"}
    calls = [("treasurer", requests.pay, (code, pay)) for code in codes]
    calls += [("admin", lambda _who: run_check(), ()) for _ in range(2)]
    outcomes = _race(fund, calls)
    assert all(isinstance(o, dict) for o in outcomes[:4]), outcomes
    assert all(o is not None and o.ok for o in outcomes[4:]), [str(o) for o in outcomes[4:]]
    with fund.ctx():
        from app.fund import books
        assert books().state.balance("Assets:Fund:Bank") == Decimal("4600.00")
        assert run_check().ok
