"""Bodies no parser or database should choke on (issue 16, item 6): deeply nested JSON and
lone surrogates, on every POST of the API and every form of the pages.

Failed on 0983efd: `[` x 50,000 gave a RecursionError (500), and `"\\ud800"` in a story, a
question or a reason gave a UnicodeEncodeError on insert (500). Each must be a 400 or 422
that names the field, and change nothing.
"""

from __future__ import annotations

import json

import pytest

from app.api.openapi import spec
from tests.app.conftest import ask
from tests.app.test_access_matrix import csrf_token, sign_in

LONE = "Rent \ud800 is due"

# Every POST of the API: the fields its schema has, who may use it, the request status
# its code must be in (None: no code in the path).
POSTS = []
for _path, _methods in spec()["paths"].items():
    for _method, _op in _methods.items():
        if _method != "post":
            continue
        _schema = ((_op.get("requestBody") or {}).get("content", {})
                   .get("application/json", {}).get("schema", {}))
        POSTS.append((_path[len("/api/v1"):], sorted(_schema.get("properties", {}))))

MEMBER_POSTS = ("/requests", "/requests/{code}/answer", "/requests/{code}/withdraw")


def _books_bytes(fund) -> dict:
    from pathlib import Path

    root = Path(fund.app.config["BOOKS_DIR"])
    return {p: p.read_bytes() for p in root.rglob("*.beancount")}


def _fill(fund, path: str) -> tuple[str, str]:
    """A real path for `path` and who may call it."""
    who = "member" if path in MEMBER_POSTS else "treasurer"
    if "{code}" in path:
        code = ask(fund, amount="20.00")
        if path.endswith("/answer"):
            assert fund.api("treasurer2", "POST", f"/requests/{code}/needs-info",
                            json={"question": "Which bill?"})[0] == 200
        elif path.endswith(("/payments", "/cancel")):
            assert fund.api("treasurer2", "POST", f"/requests/{code}/approve",
                            json={})[0] == 200
        elif path.startswith("/donations"):
            status, data = fund.api("treasurer", "POST", "/donations", json={
                "amount": "30.00", "account": "Assets:Fund:Bank", "category": "individual",
                "date": fund.start.isoformat(), "donor_consents_public": False})
            assert status == 201, data
            code = data["code"]
        path = path.replace("{code}", code)
    if "{month}" in path:
        path = path.replace("{month}", fund.start.strftime("%Y-%m"))
    return path, who


def _raw_post(fund, who: str, path: str, raw: bytes):
    resp = fund.client().post(f"/api/v1{path}", data=raw,
                              headers={**fund.headers(who),
                                       "Content-Type": "application/json"})
    return resp.status_code, resp.get_json()


@pytest.mark.parametrize("path, fields", POSTS, ids=[p for p, _ in POSTS])
def test_every_api_post_refuses_deep_nesting_and_lone_surrogates(fund, path, fields):
    real, who = _fill(fund, path)
    before = _books_bytes(fund)
    # the body itself nested 50,000 deep: a 400, no field to name
    status, data = _raw_post(fund, who, real, b"[" * 50_000)
    assert status == 400 and data["error"]["code"] == "bad_request", (status, data)
    for field in fields:
        # a field nested 50,000 deep (the parser gives up) or 21 deep (it does not)
        for depth in (50_000, 21):
            raw = b'{"%s": %s1%s}' % (field.encode(), b"[" * depth, b"]" * depth)
            status, data = _raw_post(fund, who, real, raw)
            assert status in (400, 422) and data["error"]["field"] == field, (depth, data)
        # a lone surrogate, spelt as JSON spells it, alone or inside a list or an object
        for value in (LONE, [LONE], {"Assets:Fund:Bank": LONE}):
            raw = json.dumps({field: value}).encode()
            assert b"\\ud800" in raw
            status, data = _raw_post(fund, who, real, raw)
            assert status == 422 and data["error"]["field"] == field, (value, data)
            assert "surrogate" in data["error"]["message"]
    assert _books_bytes(fund) == before


def test_a_lone_surrogate_in_a_story_question_or_reason_is_named(fund):
    """The three fields that reached the database on 0983efd."""
    status, data = fund.api("member", "POST", "/requests", json={
        "amount": "20.00", "category": "rent", "payout_method": "bank",
        "needed_by": fund.start.replace(year=fund.start.year + 1).isoformat(),
        "story": LONE})
    assert status == 422 and data["error"]["field"] == "story", data
    code = ask(fund, amount="20.00")
    for action, field in (("needs-info", "question"), ("deny", "reason")):
        status, data = fund.api("treasurer", "POST", f"/requests/{code}/{action}",
                                json={field: LONE})
        assert status == 422 and data["error"]["field"] == field, data
    status, data = fund.api("member", "GET", f"/requests/{code}")
    assert data["status"] == "submitted"


# --- the pages' forms: raw bytes that are not UTF-8, or that spell a surrogate -----------

FORMS = [("member", "/my/requests/new", ["amount", "category", "needed_by",
                                         "payout_method", "story"]),
         ("treasurer", "/treasurer/requests/{code}/ask", ["question"]),
         ("treasurer", "/treasurer/requests/{code}/deny", ["deny-reason"]),
         ("treasurer", "/treasurer/donations", ["amount", "account", "date", "category",
                                                "donor_name", "donor_consents_public"]),
         ("member", "/account/password", ["current", "new"])]


@pytest.mark.parametrize("who, path, fields", FORMS, ids=[p for _, p, _ in FORMS])
def test_forms_survive_bytes_that_are_no_text(fund, who, path, fields):
    """A form's bytes that spell a surrogate in UTF-8, or are no UTF-8 at all."""
    client = sign_in(fund, who)
    token = csrf_token(client.get("/").get_data(as_text=True))
    for spelling in (b"%ED%A0%80", b"%FF%FE", b"Rent%ED%B0%80"):
        real = path.replace("{code}", ask(fund, amount="20.00")) if "{code}" in path else path
        raw = b"&".join([b"csrf_token=" + token.encode()]
                        + [f.encode() + b"=" + spelling for f in fields])
        resp = client.post(real, data=raw, content_type="application/x-www-form-urlencoded")
        assert resp.status_code in (200, 303, 422), (spelling, resp.status_code)


def test_signing_in_with_an_email_no_column_can_hold_is_a_plain_refusal(fund):
    """Found by the form fuzzing on PostgreSQL once it sent more shapes: a NUL in the
    email reached the lookup and PostgreSQL refused it (a 500)."""
    from tests.app.test_access_matrix import csrf_token

    client = fund.app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.79"
    token = csrf_token(client.get("/sign-in").get_data(as_text=True))
    for email in (b"a%00b%40example.org", b"%ED%A0%80%40example.org", b"member%00"):
        resp = client.post("/sign-in", data=b"csrf_token=" + token.encode() + b"&email="
                           + email + b"&password=whatever+it+is",
                           content_type="application/x-www-form-urlencoded")
        assert resp.status_code == 422, resp.status_code
