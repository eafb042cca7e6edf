"""The JSON API contract of /api/v1 (issue 3, "JSON API"), on SQLite and PostgreSQL.

Every route, its success answer and each error status that fits it; money as strings;
one error shape; members never see each other's requests; Idempotency-Key replays;
the public summary under the privacy rules; sealing months; donations and consent.
The `fund` fixture runs `carebooks check` at teardown, so every test here also proves
the database and the books still agree afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from tests.app.conftest import ask, months_back

TODAY = dt.date.today()
SOON = (TODAY + dt.timedelta(days=7)).isoformat()
CODE_RE = re.compile(r"^R-\d{4}-\d{4,}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


# --- helpers -------------------------------------------------------------------------

def call(fund, who, method, path, *, json_body=None, data=None, token=None, **headers):
    """One API call; returns the Flask test response (so headers can be read)."""
    hdrs = dict(headers)
    if token is not None:
        hdrs["Authorization"] = token
    elif who is not None:
        hdrs.update(fund.headers(who))
    kwargs = {"headers": hdrs}
    if data is not None:
        kwargs["data"] = data
    elif json_body is not None:
        kwargs["json"] = json_body
    return getattr(fund.client(), method.lower())(f"/api/v1{path}", **kwargs)


def assert_error(status, data, want_status, code=None, field="<any>", says=()):
    """The one error shape, exactly, with the given status/code/field/words."""
    assert status == want_status, (status, data)
    assert isinstance(data, dict) and set(data) == {"error"}, data
    err = data["error"]
    assert set(err) == {"code", "message", "field"}, err
    assert isinstance(err["code"], str) and err["code"], err
    assert isinstance(err["message"], str) and err["message"], err
    if code is not None:
        assert err["code"] == code, err
    if field != "<any>":
        assert err["field"] == field, err
    for word in (says if isinstance(says, (list, tuple)) else [says]):
        assert word.lower() in err["message"].lower(), (word, err)
    return err


def request_body(**over):
    body = {"amount": "200.00", "category": "rent", "needed_by": SOON,
            "payout_method": "bank", "story": "Rent is due and my shift was cut."}
    body.update(over)
    return body


def books_numbers(fund, code=None):
    """(number of carebooks-ids, cash, committed, outstanding of `code`) from the books."""
    with fund.ctx():
        from app.fund import books

        state = books().state
        return (len(state.ids), state.cash(), state.committed(),
                state.outstanding(code) if code else None)


def status_of(fund, code):
    status, data = fund.api("treasurer", "GET", f"/requests/{code}")
    assert status == 200, data
    return data["status"]


def month_str(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def donation_body(**over):
    body = {"amount": "50.00", "account": "Assets:Fund:Bank", "date": TODAY.isoformat(),
            "category": "individual", "donor_consents_public": False}
    body.update(over)
    return body


def add_members(fund, names):
    """Extra members (no password: no slow hashing) with API tokens."""
    from app.workflow.people import add_person, create_token

    with fund.ctx():
        for name in names:
            fund.people[name] = add_person(f"{name}@example.org", ["member"], handle=name)
            fund.tokens[name] = create_token(f"{name}@example.org")




@pytest.fixture
def no_propagation(fund):
    """Let a crash answer 500 (as in production) instead of raising into the test."""
    fund.app.config["PROPAGATE_EXCEPTIONS"] = False
    fund.app.testing = False
    yield fund


# --- 401: every route but the public ones needs a valid bearer token ------------------

def test_every_private_route_needs_a_valid_token(fund):
    code = ask(fund)
    before = books_numbers(fund)
    month = month_str(fund.start)
    routes = [("POST", "/requests", request_body()), ("GET", "/requests", None),
              ("GET", f"/requests/{code}", None),
              ("POST", f"/requests/{code}/approve", {}),
              ("POST", f"/requests/{code}/deny", {"reason": "no"}),
              ("POST", f"/requests/{code}/needs-info", {"question": "why?"}),
              ("POST", f"/requests/{code}/answer", {"answer": "because"}),
              ("POST", f"/requests/{code}/withdraw", None),
              ("POST", f"/requests/{code}/cancel", {"reason": "no"}),
              ("POST", f"/requests/{code}/payments",
               {"amount": "10.00", "account": "Assets:Fund:Bank"}),
              ("POST", "/donations", donation_body()), ("GET", "/donations", None),
              ("POST", "/donations/D-2026-0001/refund", None),
              ("POST", f"/months/{month}/seal",
               {"balances": {"Assets:Fund:Bank": "5000.00"}})]
    for method, path, body in routes:
        for token in (None, "Bearer cbk_not-a-real-token", f"Basic {fund.tokens['treasurer']}",
                      "Bearer "):
            resp = call(fund, None, method, path, json_body=body, token=token,
                        **({"Idempotency-Key": "k-401"} if method == "POST" else {}))
            err = assert_error(resp.status_code, resp.get_json(), 401, "unauthenticated",
                               field=None)
            assert "token" in err["message"].lower(), (method, path, err)
    # nothing happened: the request is untouched, nothing was written
    assert status_of(fund, code) == "submitted"
    assert books_numbers(fund) == before
    status, data = fund.api("treasurer", "GET", "/requests")
    assert [r["code"] for r in data["requests"]] == [code]
    # the OpenAPI document needs no token (the summary's anonymity is tested below)
    assert call(fund, None, "GET", "/openapi.json").status_code == 200


# --- requests: create, read, list --------------------------------------------------------

def test_submit_request_answers_201_with_money_as_strings(fund):
    status, data = fund.api("member", "POST", "/requests",
                            json=request_body(amount="450", story="  Rent.  "))
    assert status == 201, data
    assert CODE_RE.match(data["code"]), data
    assert data["code"].startswith(f"R-{TODAY.year}-")
    assert data["status"] == "submitted"
    assert data["amount"] == "450.00" and isinstance(data["amount"], str)
    assert data["paid_amount"] == "0.00" and data["outstanding"] == "0.00"
    assert data["approved_amount"] is None
    assert (data["category"], data["needed_by"], data["payout_method"]) == ("rent", SOON, "bank")
    assert data["member"] == "member" and data["story"] == "Rent."
    assert data["approvals"] == [] and data["approvals_needed"] == 1
    # GET answers the same request
    status, again = fund.api("member", "GET", f"/requests/{data['code']}")
    assert status == 200 and again["code"] == data["code"] and again["amount"] == "450.00"
    # a second request gets the next code
    second = ask(fund)
    assert int(second.rsplit("-", 1)[1]) == int(data["code"].rsplit("-", 1)[1]) + 1
    # asking writes nothing to the books (no money moved yet)
    assert books_numbers(fund)[2] == 0


@pytest.mark.parametrize("change, field, says", [
    ({"amount": 450}, "amount", "string"),
    ({"amount": 450.5}, "amount", "string"),
    ({"amount": None}, "amount", "required"),
    ({"amount": "-5.00"}, "amount", "more than zero"),
    ({"amount": "0.00"}, "amount", "more than zero"),
    ({"amount": "1.005"}, "amount", "decimals"),
    ({"amount": "lots"}, "amount", "not an amount like"),
    ({"amount": "NaN"}, "amount", "not an amount like"),
    ({"amount": "1e2"}, "amount", "not an amount like"),
    ({"amount": " 450.00 "}, "amount", "not an amount like"),
    ({"amout": "450.00"}, "amout", "not a field here"),
    ({"category": "yachts"}, "category", "must be one of"),
    ({"category": None}, "category", "must be one of"),
    ({"needed_by": "2026-02-30"}, "needed_by", "not a date"),
    ({"needed_by": (TODAY - dt.timedelta(days=1)).isoformat()}, "needed_by", "passed"),
    ({"needed_by": None}, "needed_by", "required"),
    ({"payout_method": "crypto"}, "payout_method", "must be one of"),
    ({"story": "   "}, "story", "required"),
    ({"story": "x" * 2001}, "story", "at most 2000"),
    ({"story": 42}, "story", "text"),
])
def test_submit_refuses_each_invalid_field_with_422_naming_it(fund, change, field, says):
    body = request_body(**change)
    body = {k: v for k, v in body.items() if v is not None}
    status, data = fund.api("member", "POST", "/requests", json=body)
    assert_error(status, data, 422, "invalid", field=field, says=says)
    status, data = fund.api("treasurer", "GET", "/requests")
    assert data["requests"] == []


def test_submit_over_the_request_cap_names_the_rule(fund):
    status, data = fund.api("member", "POST", "/requests", json=request_body(amount="1000.01"))
    assert_error(status, data, 422, "request_cap", field="amount",
                 says=["request cap", "1,000.01", "1,000.00"])
    # exactly at the cap is fine
    assert fund.api("member", "POST", "/requests", json=request_body(amount="1000.00"))[0] == 201


def test_a_body_that_is_not_a_json_object_is_refused(fund):
    resp = call(fund, "member", "POST", "/requests", data="[1, 2]",
                **{"Content-Type": "application/json"})
    assert_error(resp.status_code, resp.get_json(), 422, field=None, says="JSON object")
    resp = call(fund, "member", "POST", "/requests", data="x" * (2 * 1024 * 1024),
                **{"Content-Type": "application/json"})
    assert_error(resp.status_code, resp.get_json(), 413, "too_large", field=None)
    assert fund.api("treasurer", "GET", "/requests")[1]["requests"] == []


def test_malformed_json_is_400(fund):
    for path in ("/requests", "/donations"):
        resp = call(fund, "treasurer", "POST", path, data='{"amount": "450.00",',
                    **{"Content-Type": "application/json"})
        assert_error(resp.status_code, resp.get_json(), 400, "bad_request", field=None,
                     says="JSON")


def test_an_absurdly_large_amount_is_422_not_a_crash(no_propagation):
    """Found at 4d9e23f: "1e30" or 40 digits crashed (decimal.InvalidOperation) -> 500."""
    fund = no_propagation
    code = ask(fund)
    for amount in ("1e30", "9" * 40):
        status, data = fund.api("member", "POST", "/requests", json=request_body(amount=amount))
        assert_error(status, data, 422, field="amount")
        status, data = fund.api("treasurer", "POST", f"/requests/{code}/approve",
                                json={"amount": amount})
        assert_error(status, data, 422, field="amount")
        status, data = fund.api("treasurer", "POST", "/donations",
                                json=donation_body(amount=amount))
        assert_error(status, data, 422, field="amount")


def test_members_see_only_their_own_requests(fund):
    mine = ask(fund, "member", story="MEMBER-ONE-SECRET-STORY")
    theirs = ask(fund, "member2", story="MEMBER-TWO-SECRET-STORY")
    status, data = fund.api("member", "GET", "/requests")
    assert status == 200 and [r["code"] for r in data["requests"]] == [mine]
    status, data = fund.api("member2", "GET", "/requests")
    assert [r["code"] for r in data["requests"]] == [theirs]
    assert "MEMBER-ONE" not in json.dumps(data)
    # ... even when filtering by status
    status, data = fund.api("member2", "GET", "/requests?status=submitted")
    assert [r["code"] for r in data["requests"]] == [theirs]
    # a treasurer sees all, and can filter
    status, data = fund.api("treasurer", "GET", "/requests")
    assert sorted(r["code"] for r in data["requests"]) == sorted([mine, theirs])
    status, data = fund.api("treasurer", "GET", "/requests?status=approved")
    assert status == 200 and data["requests"] == []
    status, data = fund.api("treasurer", "GET", "/requests?status=bogus")
    assert_error(status, data, 422, "invalid", field="status", says="must be one of")
    # an admin who is not a treasurer reads no stories
    status, data = fund.api("admin", "GET", "/requests")
    assert status == 200 and data["requests"] == []


def test_another_members_request_is_the_same_404_as_one_that_does_not_exist(fund):
    mine = ask(fund, "member", story="MEMBER-ONE-SECRET-STORY")
    ghost = f"R-{TODAY.year}-9999"

    def answer(who, method, path, body=None):
        status, data = fund.api(who, method, path, json=body)
        return status, data

    probes = [("GET", "", None), ("POST", "/withdraw", None),
              ("POST", "/answer", {"answer": "hi"}), ("POST", "/approve", {}),
              ("POST", "/deny", {"reason": "x"}), ("POST", "/needs-info", {"question": "x"}),
              ("POST", "/cancel", {"reason": "x"}),
              ("POST", "/payments", {"amount": "10.00", "account": "Assets:Fund:Bank"})]
    for method, suffix, body in probes:
        s_real, d_real = answer("member2", method, f"/requests/{mine}{suffix}", body)
        s_ghost, d_ghost = answer("member2", method, f"/requests/{ghost}{suffix}", body)
        # a member's token has no money scope: a treasurer's action is refused before any
        # request is looked up, the same way for both codes (issue 16, item 3)
        want = (404, "not_found") if suffix in ("", "/withdraw", "/answer") \
            else (403, "forbidden")
        assert_error(s_real, d_real, *want)
        assert_error(s_ghost, d_ghost, *want)
        # the same answer, apart from echoing the code that was asked for
        same_real = json.dumps(d_real).replace(mine, "<code>")
        same_ghost = json.dumps(d_ghost).replace(ghost, "<code>")
        assert same_real == same_ghost, (method, suffix, d_real, d_ghost)
        assert "MEMBER-ONE" not in json.dumps(d_real)
    # an admin (not a treasurer) gets the same 404
    status, data = fund.api("admin", "GET", f"/requests/{mine}")
    assert_error(status, data, 404, "not_found")
    # and nothing changed
    assert status_of(fund, mine) == "submitted"
    # a treasurer asking for a code that does not exist gets a 404 too
    status, data = fund.api("treasurer", "GET", f"/requests/{ghost}")
    assert_error(status, data, 404, "not_found")


def test_unknown_donation_is_404(fund):
    status, data = fund.api("treasurer", "POST", f"/donations/D-{TODAY.year}-9999/refund")
    assert_error(status, data, 404, "not_found")


def test_unknown_api_path_and_wrong_method_answer_the_json_error_shape(fund):
    code = ask(fund)
    resp = call(fund, "treasurer", "GET", "/no-such-thing")
    assert_error(resp.status_code, resp.get_json(), 404, "not_found", field=None)
    resp = call(fund, "treasurer", "GET", f"/requests/{code}/approve")
    assert_error(resp.status_code, resp.get_json(), 405, "method_not_allowed", field=None)


# --- 403: the wrong role -----------------------------------------------------------------

def test_wrong_role_is_403_and_changes_nothing(fund):
    code = ask(fund)
    before = books_numbers(fund)
    for path, body in [("approve", {}), ("deny", {"reason": "x"}),
                       ("needs-info", {"question": "x"})]:
        status, data = fund.api("member", "POST", f"/requests/{code}/{path}", json=body)
        assert_error(status, data, 403, "forbidden", says="treasurer")
    # the treasurer may not withdraw for the member
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/withdraw")
    assert_error(status, data, 403, "forbidden", says="member")
    # nor answer the member's question
    assert fund.api("treasurer", "POST", f"/requests/{code}/needs-info",
                    json={"question": "Which month?"})[0] == 200
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/answer",
                            json={"answer": "November"})
    assert_error(status, data, 403, "forbidden", says="member")
    assert status_of(fund, code) == "needs_info"
    assert fund.api("member", "POST", f"/requests/{code}/answer",
                    json={"answer": "November"})[0] == 200
    assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    # the member may not pay or cancel their own approved request
    status, data = fund.api("member", "POST", f"/requests/{code}/payments",
                            json={"amount": "200.00", "account": "Assets:Fund:Bank"})
    assert_error(status, data, 403, "forbidden", says="treasurer")
    status, data = fund.api("member", "POST", f"/requests/{code}/cancel", json={"reason": "x"})
    assert_error(status, data, 403, "forbidden")
    assert status_of(fund, code) == "approved"
    approved = books_numbers(fund, code)
    assert approved[3] == Decimal("200.00") and approved[1] == before[1]
    # donations, refunds and seals are for treasurers (an admin is not one)
    for who in ("member", "admin"):
        status, data = fund.api(who, "POST", "/donations", json=donation_body())
        assert_error(status, data, 403, "forbidden", says="treasurer")
        status, data = fund.api(who, "GET", "/donations")
        assert_error(status, data, 403, "forbidden")
        status, data = fund.api(who, "POST", f"/donations/D-{TODAY.year}-0001/refund")
        assert_error(status, data, 403, "forbidden")
        status, data = fund.api(who, "POST", f"/months/{month_str(fund.start)}/seal",
                                json={"balances": {"Assets:Fund:Bank": "5000.00"}})
        assert_error(status, data, 403, "forbidden")
    assert books_numbers(fund, code) == approved
    with fund.ctx():
        from app.fund import books

        assert books().state.seals == []


# --- 409: transitions the life of a request does not allow -------------------------------

def test_illegal_transitions_are_409_and_change_nothing(fund):
    fresh = ask(fund)
    for path, body, who in [("payments", {"amount": "10.00", "account": "Assets:Fund:Bank"},
                             "treasurer"),
                            ("cancel", {"reason": "x"}, "treasurer"),
                            ("answer", {"answer": "x"}, "member")]:
        status, data = fund.api(who, "POST", f"/requests/{fresh}/{path}", json=body)
        assert_error(status, data, 409, "illegal_transition", says="waiting for a decision")
    assert status_of(fund, fresh) == "submitted"

    denied = ask(fund)
    assert fund.api("treasurer", "POST", f"/requests/{denied}/deny",
                    json={"reason": "Outside what the fund covers"})[0] == 200
    for path, body, who in [("approve", {}, "treasurer"), ("withdraw", None, "member"),
                            ("deny", {"reason": "again"}, "treasurer"),
                            ("needs-info", {"question": "?"}, "treasurer")]:
        status, data = fund.api(who, "POST", f"/requests/{denied}/{path}", json=body)
        assert_error(status, data, 409, "illegal_transition", says="denied")
    assert status_of(fund, denied) == "denied"

    paid = ask(fund, amount="100.00")
    assert fund.api("treasurer", "POST", f"/requests/{paid}/approve", json={})[0] == 200
    status, data = fund.api("member", "POST", f"/requests/{paid}/withdraw")
    assert_error(status, data, 409, "illegal_transition", says="approved")
    assert fund.api("treasurer", "POST", f"/requests/{paid}/payments",
                    json={"amount": "100.00", "account": "Assets:Fund:Bank"})[0] == 201
    before = books_numbers(fund, paid)
    for path, body in [("payments", {"amount": "1.00", "account": "Assets:Fund:Bank"}),
                       ("cancel", {"reason": "late"}), ("approve", {})]:
        status, data = fund.api("treasurer", "POST", f"/requests/{paid}/{path}", json=body)
        assert_error(status, data, 409, "illegal_transition", says="paid")
    assert status_of(fund, paid) == "paid"
    assert books_numbers(fund, paid) == before
    assert before[1] == Decimal("4900.00")


def test_the_same_treasurer_cannot_give_both_approvals(fund):
    code = ask(fund, amount="600.00")
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    assert status == 200 and data["status"] == "submitted", data
    assert data["approvals_needed"] == 2 and len(data["approvals"]) == 1
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    assert_error(status, data, 409, "already_approved", says="another treasurer")
    assert books_numbers(fund, code)[2:] == (Decimal(0), Decimal(0))


# --- a whole life through every request route --------------------------------------------

def test_question_answer_two_approvals_partial_payment_and_cancel(fund):
    code = ask(fund, amount="600.00", category="medical")
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/needs-info", json={})
    assert_error(status, data, 422, "invalid", field="question", says="required")
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/needs-info",
                            json={"question": "Is the bill in your name?"})
    assert status == 200 and data["status"] == "needs_info"
    assert [n["kind"] for n in data["notes"]] == ["question"]
    # the member sees the question and answers it
    status, data = fund.api("member", "GET", f"/requests/{code}")
    assert data["notes"][0]["body"] == "Is the bill in your name?"
    status, data = fund.api("member", "POST", f"/requests/{code}/answer", json={"answer": ""})
    assert_error(status, data, 422, "invalid", field="answer")
    status, data = fund.api("member", "POST", f"/requests/{code}/answer",
                            json={"answer": "Yes, it is."})
    assert status == 200 and data["status"] == "submitted"
    # 600.00 needs two approvals; the first books nothing
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    assert status == 200 and data["status"] == "submitted" and data["approvals_needed"] == 2
    assert books_numbers(fund, code)[2] == 0
    status, data = fund.api("treasurer2", "POST", f"/requests/{code}/approve",
                            json={"amount": "500.00"})
    assert_error(status, data, 422, "invalid", field="amount", says="same amount")
    status, data = fund.api("treasurer2", "POST", f"/requests/{code}/approve", json={})
    assert status == 200 and data["status"] == "approved", data
    assert data["approved_amount"] == "600.00" and data["outstanding"] == "600.00"
    assert [a["by"] for a in data["approvals"]] == ["treasurer", "treasurer2"]
    _, cash, committed, outstanding = books_numbers(fund, code)
    assert (cash, committed, outstanding) == (Decimal("5000.00"), Decimal("600.00"),
                                              Decimal("600.00"))
    # payments never exceed what is approved
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                            json={"amount": "600.01", "account": "Assets:Fund:Bank"})
    assert_error(status, data, 422, "exceeds_approved", field="amount",
                 says=["600.01", "600.00"])
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                            json={"amount": "250.00", "account": "Assets:Fund:Bank",
                                  "date": TODAY.isoformat()})
    assert status == 201 and data["status"] == "partially_paid", data
    assert (data["paid_amount"], data["outstanding"]) == ("250.00", "350.00")
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                            json={"amount": "350.01", "account": "Assets:Fund:Bank"})
    assert_error(status, data, 422, "exceeds_approved", field="amount")
    # cancel what is left: a reason is required, then the unpaid part is reversed
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/cancel", json={})
    assert_error(status, data, 422, "invalid", field="reason")
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/cancel",
                            json={"reason": "The clinic waived the rest."})
    assert status == 200 and data["status"] == "cancelled", data
    assert data["outstanding"] == "0.00" and data["paid_amount"] == "250.00"
    _, cash, committed, outstanding = books_numbers(fund, code)
    assert (cash, committed, outstanding) == (Decimal("4750.00"), Decimal(0), Decimal(0))
    status, data = fund.api("member", "GET", f"/requests/{code}")
    assert data["status"] == "cancelled"


def test_deny_and_withdraw(fund):
    denied = ask(fund)
    status, data = fund.api("treasurer", "POST", f"/requests/{denied}/deny", json={})
    assert_error(status, data, 422, "invalid", field="reason", says="required")
    status, data = fund.api("treasurer", "POST", f"/requests/{denied}/deny",
                            json={"reason": "x" * 1001})
    assert_error(status, data, 422, "invalid", field="reason", says="at most 1000")
    status, data = fund.api("treasurer", "POST", f"/requests/{denied}/deny",
                            json={"reason": "Covered by the city programme."})
    assert status == 200 and data["status"] == "denied"
    status, data = fund.api("member", "GET", f"/requests/{denied}")
    assert data["notes"][-1]["body"] == "Covered by the city programme."
    withdrawn = ask(fund)
    status, data = fund.api("member", "POST", f"/requests/{withdrawn}/withdraw")
    assert status == 200 and data["status"] == "withdrawn"
    ids, cash, committed, _ = books_numbers(fund)
    assert (cash, committed) == (Decimal("5000.00"), Decimal(0))
    with fund.ctx():
        from app.fund import books

        assert denied not in books().state.links and withdrawn not in books().state.links


# --- 422: the fund's policy refuses, naming the rule and the numbers ---------------------

def test_policy_refusals_name_the_rule(fund):
    own = ask(fund, "treasurer", amount="100.00")
    status, data = fund.api("treasurer", "POST", f"/requests/{own}/approve", json={})
    assert_error(status, data, 422, "self_approval", says="own request")
    assert status_of(fund, own) == "submitted"
    # another treasurer may approve it
    assert fund.api("treasurer2", "POST", f"/requests/{own}/approve", json={})[0] == 200

    code = ask(fund, amount="200.00")
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/approve",
                            json={"amount": "200.01"})
    assert_error(status, data, 422, "invalid", field="amount", says="more than")
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/approve",
                            json={"amount": 150})
    assert_error(status, data, 422, "invalid", field="amount", says="string")
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/approve",
                            json={"amount": "150.00"})
    assert status == 200 and data["approved_amount"] == "150.00"

    # member cap: 1,500.00 over 90 days
    for _ in range(3):
        c = ask(fund, amount="450.00")
        assert fund.api("treasurer", "POST", f"/requests/{c}/approve", json={})[0] == 200
    over = ask(fund, amount="200.00")
    before = books_numbers(fund)
    status, data = fund.api("treasurer", "POST", f"/requests/{over}/approve", json={})
    assert_error(status, data, 422, "member_cap",
                 says=["member cap: 1,500.00 USD of 1,500.00 USD", "last 90 days",
                       "needs 200.00 USD"])
    assert status_of(fund, over) == "submitted" and books_numbers(fund) == before


def test_payment_fields_are_validated(fund):
    code = ask(fund, amount="300.00")
    assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    for body, field, says in [
            ({"amount": 100, "account": "Assets:Fund:Bank"}, "amount", "string"),
            ({"account": "Assets:Fund:Bank"}, "amount", "required"),
            ({"amount": "100.00"}, "account", "must be one of"),
            ({"amount": "100.00", "account": "Assets:Fund:Gold"}, "account", "must be one of"),
            ({"amount": "100.00", "account": "Assets:Fund:Bank",
              "date": (TODAY + dt.timedelta(days=1)).isoformat()}, "date", "future"),
            ({"amount": "100.00", "account": "Assets:Fund:Bank", "date": "yesterday"},
             "date", "not a date")]:
        status, data = fund.api("treasurer", "POST", f"/requests/{code}/payments", json=body)
        assert_error(status, data, 422, "invalid", field=field, says=says)
    # the books refuse to pay out of an account that holds nothing, naming their rule
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                            json={"amount": "100.00", "account": "Assets:Fund:Cash"})
    assert_error(status, data, 422, "cash_below_zero", says="Assets:Fund:Cash")
    assert status_of(fund, code) == "approved"
    assert books_numbers(fund, code)[1:] == (Decimal("5000.00"), Decimal("300.00"),
                                             Decimal("300.00"))


def test_dates_are_yyyy_mm_dd_and_never_before_the_approval_they_settle(fund):
    """Issue 16 item 7 (failed on 0983efd: 20261201 and 2026-W49-1 were dates, and a
    payment dated the day before its approval was booked, outstanding -1.00)."""
    code = ask(fund, amount="300.00")
    for odd in ("20261201", "2026-W49-1", "2026-335", TODAY.strftime("%Y%m%d"),
                TODAY.isoformat() + "T00:00", " " + TODAY.isoformat(), "２０２６-１２-０１"):
        status, data = fund.api("member", "POST", "/requests", json=request_body(
            needed_by=odd))
        assert_error(status, data, 422, "invalid", field="needed_by", says="not a date")
        status, data = fund.api("treasurer", "POST", "/donations", json=donation_body(
            date=odd))
        assert_error(status, data, 422, "invalid", field="date", says="not a date")
    assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    before = books_numbers(fund, code)
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/payments", json={
        "amount": "100.00", "account": "Assets:Fund:Bank", "date": yesterday})
    assert_error(status, data, 422, "invalid", field="date", says="before the approval")
    assert books_numbers(fund, code) == before and status_of(fund, code) == "approved"
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/payments", json={
        "amount": "100.00", "account": "Assets:Fund:Bank", "date": TODAY.isoformat()})
    assert status == 201 and data["status"] == "partially_paid", data
    # a cancellation is dated the day it is made; asked for before the approval, refused
    with fund.ctx():
        from app.workflow import requests as wf_requests
        from app.workflow.errors import InvalidInput

        with pytest.raises(InvalidInput) as info:
            wf_requests.cancel(fund.people["treasurer"], code, {"reason": "Paid twice."},
                               today=TODAY - dt.timedelta(days=1))
        assert info.value.field == "date"
    assert status_of(fund, code) == "partially_paid"


# --- Idempotency-Key ---------------------------------------------------------------------

def test_same_key_same_body_replays_the_first_answer_and_writes_nothing_twice(fund):
    key = {"Idempotency-Key": "ask-2026-11-rent"}
    first = call(fund, "member", "POST", "/requests", json_body=request_body(), **key)
    assert first.status_code == 201
    assert first.headers.get("Idempotent-Replayed") is None
    again = call(fund, "member", "POST", "/requests", json_body=request_body(), **key)
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    code = first.get_json()["code"]
    status, data = fund.api("treasurer", "GET", "/requests")
    assert [r["code"] for r in data["requests"]] == [code]
    # the same key with another body is refused
    other = call(fund, "member", "POST", "/requests",
                 json_body=request_body(amount="201.00"), **key)
    assert_error(other.status_code, other.get_json(), 422, field="Idempotency-Key",
                 says="different request")
    # ... and so is the same key sent to another route
    other = call(fund, "member", "POST", f"/requests/{code}/withdraw", **key)
    assert_error(other.status_code, other.get_json(), 422, field="Idempotency-Key")
    assert status_of(fund, code) == "submitted"
    # keys belong to a person: another member's identical key and body is a new request,
    # never a replay of the first member's answer
    theirs = call(fund, "member2", "POST", "/requests", json_body=request_body(), **key)
    assert theirs.status_code == 201
    assert theirs.headers.get("Idempotent-Replayed") is None
    assert theirs.get_json()["code"] != code and theirs.get_json()["member"] == "member2"
    # a key must be 1 to 255 characters
    bad = call(fund, "member", "POST", "/requests", json_body=request_body(),
               **{"Idempotency-Key": "k" * 256})
    assert_error(bad.status_code, bad.get_json(), 422, field="Idempotency-Key")
    assert len(fund.api("treasurer", "GET", "/requests")[1]["requests"]) == 2


def test_replayed_approval_payment_and_donation_move_money_once(fund):
    code = ask(fund, amount="400.00")
    approve = call(fund, "treasurer", "POST", f"/requests/{code}/approve", json_body={},
                   **{"Idempotency-Key": "approve-1"})
    assert approve.status_code == 200
    after_approve = books_numbers(fund, code)
    replay = call(fund, "treasurer", "POST", f"/requests/{code}/approve", json_body={},
                  **{"Idempotency-Key": "approve-1"})
    assert (replay.status_code, replay.get_json()) == (200, approve.get_json())
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert books_numbers(fund, code) == after_approve

    pay = {"amount": "150.00", "account": "Assets:Fund:Bank"}
    first = call(fund, "treasurer", "POST", f"/requests/{code}/payments", json_body=pay,
                 **{"Idempotency-Key": "pay-1"})
    assert first.status_code == 201 and first.get_json()["paid_amount"] == "150.00"
    after_pay = books_numbers(fund, code)
    assert after_pay[0] == after_approve[0] + 1
    assert after_pay[1:] == (Decimal("4850.00"), Decimal("250.00"), Decimal("250.00"))
    for _ in range(3):
        again = call(fund, "treasurer", "POST", f"/requests/{code}/payments", json_body=pay,
                     **{"Idempotency-Key": "pay-1"})
        assert (again.status_code, again.get_json()) == (201, first.get_json())
        assert again.headers.get("Idempotent-Replayed") == "true"
    assert books_numbers(fund, code) == after_pay
    status, data = fund.api("treasurer", "GET", f"/requests/{code}")
    assert data["paid_amount"] == "150.00" and data["status"] == "partially_paid"
    # a new key is a new payment
    second = call(fund, "treasurer", "POST", f"/requests/{code}/payments", json_body=pay,
                  **{"Idempotency-Key": "pay-2"})
    assert second.status_code == 201 and second.get_json()["paid_amount"] == "300.00"

    don = donation_body(amount="75.00")
    first = call(fund, "treasurer", "POST", "/donations", json_body=don,
                 **{"Idempotency-Key": "don-1"})
    assert first.status_code == 201
    after_don = books_numbers(fund)
    again = call(fund, "treasurer", "POST", "/donations", json_body=don,
                 **{"Idempotency-Key": "don-1"})
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert books_numbers(fund) == after_don
    assert len(fund.api("treasurer", "GET", "/donations")[1]["donations"]) == 1


class Crash(Exception):
    """Stands for the process dying at that point."""


@pytest.mark.parametrize("failure", ["crash", "books unwritable"])
def test_a_write_that_failed_after_its_commit_is_replayed_not_done_again(fund, monkeypatch,
                                                                         failure):
    """The step committed, then the append failed: the process died there (the client
    saw no answer), or the books refused the write (503, saved_not_in_books: "do not do
    this again"). The donation stands and its entry waits in the outbox; a retry with the
    same key is told what was done and records nothing twice."""
    from ledger import Books, LedgerError

    def fail(self, entry):
        if failure == "crash":
            raise Crash()
        raise LedgerError("No space left on device")

    don = donation_body(amount="75.00")
    monkeypatch.setattr(Books, "post", fail)
    if failure == "crash":
        with pytest.raises(Crash):
            call(fund, "treasurer", "POST", "/donations", json_body=don,
                 **{"Idempotency-Key": "don-x"})
    else:
        first = call(fund, "treasurer", "POST", "/donations", json_body=don,
                     **{"Idempotency-Key": "don-x"})
        assert first.status_code == 503
        assert first.get_json()["error"]["code"] == "saved_not_in_books"
    monkeypatch.undo()
    again = call(fund, "treasurer", "POST", "/donations", json_body=don,
                 **{"Idempotency-Key": "don-x"})
    assert again.status_code == 201, again.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["amount"] == "75.00"
    assert len(fund.api("treasurer", "GET", "/donations")[1]["donations"]) == 1
    with fund.ctx():
        from app.workflow.check import run_check

        report = run_check()  # the waiting entry goes to the books, once
        assert report.ok and "1 pending entry settled" in str(report), str(report)


def test_a_refusal_is_replayed_as_the_same_refusal(fund):
    code = ask(fund, amount="100.00")
    assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    before = books_numbers(fund, code)
    pay = {"amount": "999.00", "account": "Assets:Fund:Bank"}
    first = call(fund, "treasurer", "POST", f"/requests/{code}/payments", json_body=pay,
                 **{"Idempotency-Key": "too-much"})
    assert_error(first.status_code, first.get_json(), 422, "exceeds_approved", field="amount")
    again = call(fund, "treasurer", "POST", f"/requests/{code}/payments", json_body=pay,
                 **{"Idempotency-Key": "too-much"})
    assert (again.status_code, again.get_json()) == (422, first.get_json())
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert books_numbers(fund, code) == before
    # a policy refusal at submission, too
    big = request_body(amount="5000.00")
    first = call(fund, "member", "POST", "/requests", json_body=big, **{"Idempotency-Key": "b"})
    assert_error(first.status_code, first.get_json(), 422, "request_cap", field="amount")
    again = call(fund, "member", "POST", "/requests", json_body=big, **{"Idempotency-Key": "b"})
    assert (again.status_code, again.get_json()) == (422, first.get_json())
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(fund.api("treasurer", "GET", "/requests")[1]["requests"]) == 1
    # fixing the body and using a fresh key works
    ok = call(fund, "treasurer", "POST", f"/requests/{code}/payments",
              json_body={"amount": "100.00", "account": "Assets:Fund:Bank"},
              **{"Idempotency-Key": "right-amount"})
    assert ok.status_code == 201 and ok.get_json()["status"] == "paid"


# --- the public summary ------------------------------------------------------------------

def test_summary_refuses_a_bad_month(fund):
    for bad in ("2026-13", "2026-00", "nope", "2026-1", "2026-01-01", "2026-01%0A"):
        status, data = fund.api(None, "GET", f"/summary?month={bad}")
        assert_error(status, data, 422, "invalid", field="month", says="YYYY-MM")


def test_summary_is_public_and_shows_exact_money_only_of_published_months(fund):
    month = month_str(fund.start)
    status, data = fund.api(None, "GET", f"/summary?month={month}")
    assert status == 200, data
    assert data["month"] == month and data["currency"] == "USD"
    # a stranger: no exact live money, the band of what is available yesterday
    assert data["exact"] is False and data["published"] is False
    for name in ("balances", "cash", "outstanding", "available", "donations", "aid_paid"):
        assert data[name] is None, name
    assert data["live"]["available"] == {"from": "5000", "to": "10000"}
    assert data["privacy"]["k"] == 5
    # a member sees what the public sees; a treasurer and an admin see everything
    assert fund.api("member", "GET", f"/summary?month={month}")[1] == data
    for who in ("treasurer", "admin"):
        status, full = fund.api(who, "GET", f"/summary?month={month}")
        bank = full["balances"]["Assets:Fund:Bank"]
        assert (Decimal(bank["opening"]), Decimal(bank["closing"])) == (0, Decimal("5000.00"))
        assert Decimal(full["outstanding"]) == 0 and Decimal(full["available"]) == 5000
        assert full["exact"] is True and full["sealed"] is False and full["seal_hash"] is None
        assert full["donations"]["count"] == 0
    # no month: this month
    status, data = fund.api(None, "GET", "/summary")
    assert status == 200 and data["month"] == month_str(TODAY)
    # once sealed and published, the month's exact figures are public, with the seal
    status, seal = fund.api("treasurer", "POST", f"/months/{month}/seal",
                            json={"balances": {"Assets:Fund:Bank": "5000.00"}})
    assert status == 201, seal
    assert fund.api(None, "GET", f"/summary?month={month}")[1]["published"] is False
    with fund.ctx():
        from app.workflow import reports
        reports.publish(fund.people["treasurer"], month)
    status, data = fund.api(None, "GET", f"/summary?month={month}")
    assert data["published"] is True and data["seal_hash"] == seal["seal_hash"]
    assert data["cash"] == {"opening": "0.00", "closing": "5000.00"}
    # what is approved and unpaid at a month's end (and so available) is never public exactly
    assert data["available"] is None and data["outstanding"] is None
    assert data["balances"] is None


def test_summary_money_is_a_string_to_the_cent(fund):
    code = ask(fund, amount="120.00", category="food")
    assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    assert fund.api("treasurer", "POST", "/donations",
                    json=donation_body(amount="40.00", fee="1.10"))[0] == 201
    for month in (month_str(fund.start), month_str(TODAY)):
        status, data = fund.api("treasurer", "GET", f"/summary?month={month}")
        assert status == 200, data
        money = [data["outstanding"], data["available"], data["donations"]["total"],
                 data["donations"]["fees"]]
        money += [v for pair in data["balances"].values() for v in pair.values()]
        for value in money:
            assert isinstance(value, str) and re.fullmatch(r"-?\d+\.\d{2}", value), (month, data)


def test_summary_month_out_of_the_calendar_is_422_not_a_crash(no_propagation):
    fund = no_propagation
    for bad in ("0000-01", "0001-01", "9999-12"):
        status, data = fund.api(None, "GET", f"/summary?month={bad}")
        assert_error(status, data, 422, field="month")


def test_summary_hides_a_category_with_fewer_than_5_recipients(fund):
    names = ["neighbour-c", "neighbour-d", "neighbour-e"]
    add_members(fund, names)
    people = ["member", "member2", *names]
    amounts = ["110.00", "120.00", "130.00", "140.00", "150.00"]
    codes = [ask(fund, who, amount=amt, category="food", story=f"SECRET-STORY-{who}")
             for who, amt in zip(people, amounts)]
    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")

    def food_row(data, table="aid_approved"):
        return next(r for r in data[table]["rows"] if r["category"] == "food")

    for code in codes[:4]:
        assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    # the public sees nothing of a month that is not published, not even that it has aid
    status, public = fund.api(None, "GET", f"/summary?month={month}")
    assert status == 200 and public["aid_approved"] is None and public["outstanding"] is None
    status, data = fund.api("treasurer", "GET", f"/summary?month={month}")
    assert status == 200
    row = food_row(data)
    assert row["recipients"] is None and row["total"] is None and row["median"] is None
    # four people owed what was approved: the approved table would give it away against
    # the paid one, so all of it is hidden (reports.figures._difference_safe)
    assert row["note"] == "hidden to protect privacy"
    assert data["aid_approved"]["total"]["total"] is None
    assert data["aid_approved"]["other"]["total"] is None
    text = json.dumps(data["aid_approved"])
    for amt in ("110", "120", "130", "140", "500"):
        assert amt not in text, (amt, text)
    whole = json.dumps(data)
    assert "SECRET-STORY" not in whole and "neighbour" not in whole

    # the fifth distinct recipient makes the category safe to show (rounded to 10)
    assert fund.api("treasurer", "POST", f"/requests/{codes[4]}/approve", json={})[0] == 200
    status, data = fund.api("treasurer", "GET", f"/summary?month={month}")
    row = food_row(data)
    assert row["recipients"] == 5 and row["total"] == "650" and row["median"] == "130"
    assert data["aid_approved"]["total"]["recipients"] == 5
    assert data["aid_approved"]["total"]["total"] == "650"
    assert data["outstanding"] == "650.00" and data["available"] == "4350.00"
    # nothing paid yet: the paid table shows zero recipients, not hidden figures
    assert food_row(data, "aid_paid")["recipients"] == 0


# --- sealing months ----------------------------------------------------------------------

def test_seal_months_in_order_with_the_right_balances(fund):
    first, second = month_str(fund.start), month_str(months_back(TODAY, 1))
    bank = {"balances": {"Assets:Fund:Bank": "5000.00"}}
    status, data = fund.api("treasurer", "POST", f"/months/{second}/seal", json=bank)
    assert_error(status, data, 422, "seal_order", says=first)
    status, data = fund.api("treasurer", "POST", f"/months/{first}/seal",
                            json={"balances": {"Assets:Fund:Bank": "4999.99"}})
    assert_error(status, data, 422, "statement_mismatch", field="balances",
                 says=["Assets:Fund:Bank", "4,999.99", "5,000.00"])
    status, data = fund.api("treasurer", "POST", f"/months/{first}/seal",
                            json={"balances": {}})
    assert_error(status, data, 422, field="balances", says="Assets:Fund:Bank")
    status, data = fund.api("treasurer", "POST", f"/months/{first}/seal",
                            json={"balances": {"Assets:Fund:Bank": 5000}})
    assert_error(status, data, 422, "invalid", field="balances.Assets:Fund:Bank",
                 says="string")
    status, data = fund.api("treasurer", "POST", f"/months/{first}/seal", json={})
    assert_error(status, data, 422, "invalid", field="balances")
    status, data = fund.api("treasurer", "POST", f"/months/{first}/seal",
                            json={"balances": {"Assets:Fund:Gold": "1.00",
                                               "Assets:Fund:Bank": "5000.00"}})
    assert_error(status, data, 422, field="balances", says="Assets:Fund:Gold")
    status, data = fund.api("treasurer", "POST", "/months/2026-13/seal", json=bank)
    assert_error(status, data, 422, "invalid", field="month")
    with fund.ctx():
        from app.fund import books

        assert books().state.seals == []

    status, one = fund.api("treasurer", "POST", f"/months/{first}/seal", json=bank)
    assert status == 201, one
    assert one["month"] == first and HEX64.match(one["seal_hash"])
    assert HEX64.match(one["file_sha256"]) and one["previous"] == "0" * 64
    assert one["balances"] == {"Assets:Fund:Bank": "5000.00"}
    # sealing it again is out of order
    status, data = fund.api("treasurer", "POST", f"/months/{first}/seal", json=bank)
    assert_error(status, data, 422, "seal_order", says=second)
    # the next month chains on the first
    status, two = fund.api("treasurer", "POST", f"/months/{second}/seal", json=bank)
    assert status == 201, two
    assert two["previous"] == one["seal_hash"] and HEX64.match(two["seal_hash"])
    assert two["seal_hash"] != one["seal_hash"]
    # this month is not over
    status, data = fund.api("treasurer", "POST", f"/months/{month_str(TODAY)}/seal", json=bank)
    assert_error(status, data, 422, "month_not_over", field="month")
    # and nothing can be booked in a sealed month any more
    status, data = fund.api("treasurer", "POST", "/donations",
                            json=donation_body(date=fund.start.replace(day=15).isoformat()))
    assert_error(status, data, 422, says="sealed")
    assert fund.api("treasurer", "GET", "/donations")[1]["donations"] == []
    seals = Path(fund.app.config["BOOKS_DIR"], "seals.beancount").read_text()
    assert one["seal_hash"] in seals and two["seal_hash"] in seals


# --- donations ---------------------------------------------------------------------------

def _month_file(fund, day: dt.date) -> str:
    return (Path(fund.app.config["BOOKS_DIR"]) / f"{day.year:04d}"
            / f"{day.year:04d}-{day.month:02d}.beancount").read_text(encoding="utf-8")


def test_donor_name_is_kept_only_with_consent(fund):
    status, data = fund.api("treasurer", "POST", "/donations", json=donation_body(
        amount="50.00", fee="1.75", account="Assets:Fund:PayPal",
        donor_name="Rosa Martínez", donor_consents_public=False))
    assert status == 201, data
    anon = data["code"]
    assert re.match(r"^D-\d{4}-\d{4,}$", anon)
    assert data["donor_name"] is None and data["donor_consents_public"] is False
    assert (data["amount"], data["fee"], data["refunded"]) == ("50.00", "1.75", "0.00")
    status, data = fund.api("treasurer", "POST", "/donations", json=donation_body(
        amount="120.00", donor_name="Ana Lima", donor_consents_public=True,
        category="event"))
    assert status == 201 and data["donor_name"] == "Ana Lima", data
    named = data["code"]
    status, data = fund.api("treasurer", "GET", "/donations")
    assert status == 200
    by_code = {d["code"]: d for d in data["donations"]}
    assert set(by_code) == {anon, named}
    assert by_code[anon]["donor_name"] is None
    assert by_code[named]["donor_name"] == "Ana Lima"
    assert "Rosa" not in json.dumps(data)
    # the books: "Anonymous" without consent, the name with it; the fee is booked
    text = _month_file(fund, TODAY)
    assert "Rosa" not in text and "Martínez" not in text
    anon_entry = text[text.index(f"^{anon}"):].split("\n\n")[0]
    assert 'donor: "Anonymous"' in anon_entry, anon_entry
    named_entry = text[text.index(f"^{named}"):].split("\n\n")[0]
    assert 'donor: "Ana Lima"' in named_entry, named_entry
    with fund.ctx():
        from app.fund import books

        state = books().state
        assert state.balance("Assets:Fund:PayPal") == Decimal("48.25")
        assert state.balance("Expenses:Operations:Fees") == Decimal("1.75")
        assert state.balance("Assets:Fund:Bank") == Decimal("5120.00")


@pytest.mark.parametrize("change, field, says", [
    ({"amount": 50}, "amount", "string"),
    ({"amount": "0.00"}, "amount", "more than zero"),
    ({"fee": "50.00"}, "fee", "less than"),
    ({"fee": 1.5}, "fee", "string"),
    ({"account": "Assets:Fund:Gold"}, "account", "must be one of"),
    ({"date": (TODAY + dt.timedelta(days=1)).isoformat()}, "date", "future"),
    ({"date": None}, "date", "required"),
    ({"category": "rent"}, "category", "must be one of"),
    ({"donor_consents_public": None}, "donor_consents_public", "true or false"),
    ({"donor_consents_public": "yes"}, "donor_consents_public", "true or false"),
    ({"donor_name": "Robert'); DROP\n", "donor_consents_public": True}, "donor_name",
     "not allowed"),
    # issue 16 item 8 (failed on 0983efd: blank names were booked and published)
    ({"donor_name": "\u3164", "donor_consents_public": True}, "donor_name", "donor_name"),
    ({"donor_name": "\u115f\u3164", "donor_consents_public": True}, "donor_name",
     "donor_name"),
    ({"donor_name": "\u034f", "donor_consents_public": True}, "donor_name", "donor_name"),
])
def test_donation_fields_are_validated(fund, change, field, says):
    body = {k: v for k, v in donation_body(**change).items() if v is not None}
    status, data = fund.api("treasurer", "POST", "/donations", json=body)
    assert_error(status, data, 422, "invalid", field=field, says=says)
    assert fund.api("treasurer", "GET", "/donations")[1]["donations"] == []
    assert books_numbers(fund)[1] == Decimal("5000.00")


def test_a_donation_too_large_for_the_database_is_422_on_both_databases(no_propagation):
    """Found at 4d9e23f: 13 digits were stored on SQLite (201) and crashed PostgreSQL's
    NUMERIC(14,2) (DataError, 500): the two databases must answer the same."""
    fund = no_propagation
    status, data = fund.api("treasurer", "POST", "/donations",
                            json=donation_body(amount="9999999999999.00"))
    assert_error(status, data, 422, field="amount", says="large")
    # the largest amount the contract allows (12 digits) is stored exactly on both
    status, data = fund.api("treasurer", "POST", "/donations",
                            json=donation_body(amount="999999999999.99"))
    assert status == 201 and data["amount"] == "999999999999.99", data
    status, data = fund.api("treasurer", "GET", "/donations")
    assert [d["amount"] for d in data["donations"]] == ["999999999999.99"]


def test_refund_a_donation(fund):
    status, data = fund.api("treasurer", "POST", "/donations",
                            json=donation_body(amount="80.00"))
    code = data["code"]
    status, data = fund.api("treasurer", "POST", f"/donations/{code}/refund",
                            json={"amount": "80.01"})
    assert_error(status, data, 422, "invalid", field="amount", says="more than")
    status, data = fund.api("treasurer", "POST", f"/donations/{code}/refund",
                            json={"amount": "30.00"})
    assert status == 200 and data["refunded"] == "30.00", data
    assert books_numbers(fund)[1] == Decimal("5050.00")
    # no body: what is left
    status, data = fund.api("treasurer", "POST", f"/donations/{code}/refund")
    assert status == 200 and data["refunded"] == "80.00" and data["amount"] == "80.00"
    assert books_numbers(fund)[1] == Decimal("5000.00")
    status, data = fund.api("treasurer", "POST", f"/donations/{code}/refund")
    assert_error(status, data, 422, "invalid", says="already fully refunded")
    assert books_numbers(fund)[1] == Decimal("5000.00")
    status, data = fund.api("treasurer", "GET", "/donations")
    assert data["donations"][0]["refunded"] == "80.00"
    with fund.ctx():
        from app.fund import books

        assert books().state.balance("Income:Donations:Individual") == Decimal(0)
