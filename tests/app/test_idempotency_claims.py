"""A retried POST after its process died gets an answer: replayed if its change committed,
run afresh if nothing did, never refused forever, never done twice (docs/api.md,
"Retrying"; app/workflow/claims.py).

A process death is made real where it matters: the owner of a claim is a process forked
for the purpose and gone by the time the retry comes. The full HTTP version, with gunicorn
and `carebooks serve` killed at random moments, is tests/fault/test_http_crashes.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os

import pytest
from sqlalchemy import func, insert, update
from sqlmodel import select

from app.api import idempotency
from app.models import Donation, IdempotencyKey, utcnow
from app.workflow import claims
from tests.app.conftest import ask

TODAY = dt.date.today()
BANK = "Assets:Fund:Bank"
DONATION = {"amount": "50.00", "account": BANK, "date": TODAY.isoformat(),
            "category": "individual", "donor_consents_public": False}


def dead_owner() -> str:
    """The owner a claim gets in a process that has since died (forked, then reaped)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: who it is, then gone
        os.write(write, claims.new_owner().encode())
        os._exit(0)
    os.close(write)
    owner = os.read(read, 512).decode()
    os.close(read)
    os.waitpid(pid, 0)
    return owner


def post(fund, who, path, body, key):
    """POST the exact bytes of `body` with `key`; the Flask test response."""
    raw = json.dumps(body).encode()
    return fund.client().post(f"/api/v1{path}", data=raw, content_type="application/json",
                              headers=fund.headers(who, **{"Idempotency-Key": key}))


def leave_claim(fund, who, path, body, key, owner, *, age=dt.timedelta(0)):
    """A claim as a request that never answered leaves it: in progress, held by `owner`."""
    raw = json.dumps(body).encode()
    digest = hashlib.sha256(b"POST " + f"/api/v1{path}".encode() + b"\n" + raw).hexdigest()
    stamp = utcnow() - age
    with fund.ctx():
        from app.db import session_scope
        with session_scope() as session:
            session.execute(insert(IdempotencyKey).values(
                person_id=fund.people[who].id, key=key, method="POST", path=f"/api/v1{path}",
                body_sha256=digest, status_code=None, response=None, created_at=stamp,
                owner=owner, claimed_at=stamp))


def donations(fund) -> int:
    with fund.ctx():
        from app.db import session_scope
        with session_scope() as session:
            return session.exec(select(func.count()).select_from(Donation)).one()


def key_row(fund, who, key) -> IdempotencyKey | None:
    with fund.ctx():
        from app.db import session_scope
        with session_scope() as session:
            return session.exec(select(IdempotencyKey).where(
                IdempotencyKey.person_id == fund.people[who].id,
                IdempotencyKey.key == key)).first()


# --- a dead owner, a live one, one that cannot be seen --------------------------------

def test_a_key_held_by_a_dead_process_is_taken_over_and_the_step_runs_once(fund):
    leave_claim(fund, "treasurer", "/donations", DONATION, "k-dead", dead_owner())
    resp = post(fund, "treasurer", "/donations", DONATION, "k-dead")
    assert resp.status_code == 201, resp.get_json()
    assert "Idempotent-Replayed" not in resp.headers
    assert donations(fund) == 1
    again = post(fund, "treasurer", "/donations", DONATION, "k-dead")
    assert again.status_code == 201 and again.get_json() == resp.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert donations(fund) == 1


def test_a_key_held_by_a_live_slow_request_still_answers_409(fund, monkeypatch):
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.3)
    leave_claim(fund, "treasurer", "/donations", DONATION, "k-live", claims.new_owner())
    resp = post(fund, "treasurer", "/donations", DONATION, "k-live")
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["error"]["code"] == "idempotency_in_progress"
    assert donations(fund) == 0


def test_a_key_held_on_another_host_waits_for_its_lease(fund, monkeypatch):
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.3)
    elsewhere = "other-host/00000000-0000-0000-0000-000000000000/4242/1234/abcd0123"
    leave_claim(fund, "treasurer", "/donations", DONATION, "k-far", elsewhere)
    assert post(fund, "treasurer", "/donations", DONATION, "k-far").status_code == 409
    leave_claim(fund, "treasurer", "/donations", DONATION, "k-old", elsewhere,
                age=claims.LEASE + dt.timedelta(seconds=5))
    resp = post(fund, "treasurer", "/donations", DONATION, "k-old")
    assert resp.status_code == 201, resp.get_json()
    assert donations(fund) == 1


def test_a_claim_from_before_owners_were_kept_is_judged_by_its_age(fund, monkeypatch):
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.3)
    leave_claim(fund, "treasurer", "/donations", DONATION, "k-fresh", None)
    assert post(fund, "treasurer", "/donations", DONATION, "k-fresh").status_code == 409
    leave_claim(fund, "treasurer", "/donations", DONATION, "k-stale", None,
                age=claims.LEASE + dt.timedelta(seconds=5))
    assert post(fund, "treasurer", "/donations", DONATION, "k-stale").status_code == 201


def test_another_body_with_a_dead_claims_key_is_still_refused(fund):
    leave_claim(fund, "treasurer", "/donations", DONATION, "k-body", dead_owner())
    resp = post(fund, "treasurer", "/donations", {**DONATION, "amount": "51.00"}, "k-body")
    assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "Idempotency-Key"
    assert donations(fund) == 0


def test_a_request_whose_claim_was_taken_over_rolls_its_change_back(fund, monkeypatch):
    """The owner judged gone was alive after all (a lease ran out): when it comes to
    commit, the claim is someone else's, and its donation is not recorded."""
    real = claims.store_answer

    def taken_meanwhile(session, person_id, key, owner, status, text):
        session.connection().execute(update(IdempotencyKey).where(
            IdempotencyKey.key == key).values(owner="someone/else/1/2/3"))
        real(session, person_id, key, owner, status, text)

    monkeypatch.setattr(claims, "store_answer", taken_meanwhile)
    resp = post(fund, "treasurer", "/donations", DONATION, "k-lost")
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["error"]["code"] == "idempotency_in_progress"
    assert donations(fund) == 0
    with fund.ctx():
        from app.fund import books
        assert not [e for e in books().state.ids if e.startswith("donation:")]


def test_a_starting_server_frees_the_keys_of_dead_requests_only(fund):
    from app.workflow.outbox import recover_on_start

    leave_claim(fund, "treasurer", "/donations", DONATION, "k-1", dead_owner())
    leave_claim(fund, "treasurer", "/donations", DONATION, "k-2", claims.new_owner())
    far = "other-host/00000000-0000-0000-0000-000000000000/4242/1234/abcd0123"
    leave_claim(fund, "treasurer", "/donations", DONATION, "k-3", far)
    with fund.ctx():
        said = recover_on_start()
    assert "1 idempotency key of dead requests freed" in said, said
    assert key_row(fund, "treasurer", "k-1") is None
    assert key_row(fund, "treasurer", "k-2") is not None
    assert key_row(fund, "treasurer", "k-3") is not None


# --- every POST keeps its answer with its change --------------------------------------

def _setup(fund, route: str):
    """(who, path, body) for one POST route, with the fund made ready for it."""
    month = f"{fund.start.year:04d}-{fund.start.month:02d}"
    if route == "submit":
        return "member", "/requests", {
            "amount": "120.00", "category": "food", "payout_method": "bank",
            "needed_by": (TODAY + dt.timedelta(days=5)).isoformat(), "story": "Groceries."}
    if route == "donate":
        return "treasurer", "/donations", DONATION
    if route == "refund":
        status, don = fund.api("treasurer", "POST", "/donations", json=DONATION)
        assert status == 201, don
        return "treasurer", f"/donations/{don['code']}/refund", {}
    if route == "seal":
        return "treasurer", f"/months/{month}/seal", {"balances": {BANK: "5000.00"}}
    if route == "transfer":
        return "treasurer", "/transfers", {"amount": "40.00", "fee": "1.00",
                                           "from_account": BANK,
                                           "to_account": "Assets:Fund:PayPal"}
    if route == "cost":
        return "treasurer", "/costs", {"amount": "12.00", "account": BANK, "kind": "fees"}
    code = ask(fund, amount="120.00")
    if route in ("cancel", "pay", "pay-several", "returned"):
        assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    if route == "returned":
        assert fund.api("treasurer", "POST", f"/requests/{code}/payments",
                        json={"amount": "120.00", "account": BANK})[0] == 201
    if route == "answer":
        assert fund.api("treasurer", "POST", f"/requests/{code}/needs-info",
                        json={"question": "Which week?"})[0] == 200
    return {
        "approve": ("treasurer", f"/requests/{code}/approve", {}),
        "deny": ("treasurer", f"/requests/{code}/deny", {"reason": "Out of scope."}),
        "needs-info": ("treasurer", f"/requests/{code}/needs-info", {"question": "When?"}),
        "answer": ("member", f"/requests/{code}/answer", {"answer": "The first week."}),
        "withdraw": ("member", f"/requests/{code}/withdraw", {}),
        "cancel": ("treasurer", f"/requests/{code}/cancel", {"reason": "Paid elsewhere."}),
        "pay": ("treasurer", f"/requests/{code}/payments", {"amount": "120.00",
                                                             "account": BANK}),
        "pay-several": ("treasurer", "/payments", {"account": BANK,
                                                  "payments": [{"code": code}]}),
        "returned": ("treasurer", f"/requests/{code}/returned", {}),
    }[route]


ROUTES = {"submit": "api.create_request", "approve": "api.approve_request",
          "deny": "api.deny_request", "needs-info": "api.ask_request",
          "answer": "api.answer_request", "withdraw": "api.withdraw_request",
          "cancel": "api.cancel_request", "pay": "api.pay_request",
          "pay-several": "api.pay_several",
          "donate": "api.create_donation", "refund": "api.refund_donation",
          "transfer": "api.create_transfer", "cost": "api.create_cost",
          "returned": "api.return_payment", "seal": "api.seal_month"}


def test_the_routes_below_are_every_idempotent_post(fund):
    idempotent = {rule.endpoint for rule in fund.app.url_map.iter_rules()
                  if "POST" in rule.methods and rule.endpoint.startswith("api.")}
    assert idempotent == set(ROUTES.values())


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_process_killed_after_the_step_committed_gets_its_answer_replayed(fund, route,
                                                                             monkeypatch):
    """Killed after the step's commit and before the wrapper stored anything more: the
    answer must already be in the step's transaction; the retry replays it and does
    nothing again (otherwise a deny or a seal would now answer 409 or 422, and a
    donation would be recorded twice)."""
    who, path, body = _setup(fund, route)
    monkeypatch.setattr(idempotency._Answer, "finish", lambda self, resp: None)
    first = post(fund, who, path, body, f"k-{route}")
    assert first.status_code in (200, 201), first.get_json()
    monkeypatch.undo()
    row = key_row(fund, who, f"k-{route}")
    assert row.status_code == first.status_code, "the answer was not stored with the change"
    with fund.ctx():
        from app.db import session_scope
        with session_scope() as session:  # its process is gone now
            session.execute(update(IdempotencyKey).where(IdempotencyKey.id == row.id)
                            .values(owner=dead_owner()))
    before = donations(fund)
    again = post(fund, who, path, body, f"k-{route}")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert (again.status_code, again.get_json()) == (first.status_code, first.get_json())
    assert donations(fund) == before


def test_a_seal_written_by_a_process_that_died_before_answering_is_its_answer(fund):
    """Killed after the seal reached the books and before the database commit: the retry
    finds the month sealed, with the balances it asked for, and answers that seal."""
    month = f"{fund.start.year:04d}-{fund.start.month:02d}"
    body = {"balances": {BANK: "5000.00"}}
    with fund.ctx():
        from decimal import Decimal

        from app.fund import books
        seal = books().seal(month, {BANK: Decimal("5000.00")})
    leave_claim(fund, "treasurer", f"/months/{month}/seal", body, "k-seal", dead_owner())
    resp = post(fund, "treasurer", f"/months/{month}/seal", body, "k-seal")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["seal_hash"] == seal.seal_hash
    # anyone else asking for it again is told the order, as before
    other = post(fund, "treasurer", f"/months/{month}/seal", body, "k-seal-2")
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "seal_order"
