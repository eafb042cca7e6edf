"""The OpenAPI 3.1 document at /api/v1/openapi.json: valid, in step with the routes the app
really serves, and describing the JSON the API really answers."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from app import create_app
from tests.app.conftest import ask

IGNORED_METHODS = {"HEAD", "OPTIONS"}




@pytest.fixture
def bare_app(tmp_path):
    """The app alone: no database or books are needed to list routes or serve the document."""
    return create_app(instance=tmp_path / "instance",
                      test_config={"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
                                   "TESTING": True})


def served_document(app) -> dict:
    resp = app.test_client().get("/api/v1/openapi.json")  # no token: the document is public
    assert resp.status_code == 200, resp.data[:200]
    assert resp.mimetype == "application/json"
    return resp.get_json()


def routes_of(app) -> set[tuple[str, str]]:
    """(path, method) for every rule under /api/v1, with <conv:name> written {name}."""
    pairs = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - IGNORED_METHODS:
            pairs.add((path, method.lower()))
    return pairs


def documented(doc: dict) -> set[tuple[str, str]]:
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return {(path, method) for path, item in doc["paths"].items()
            for method in item if method in methods}


def schema_validator(doc: dict, name: str) -> Draft202012Validator:
    """A validator for components/schemas/NAME, its $refs resolved within the document."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return Draft202012Validator(schema, format_checker=FormatChecker())


def body_validator(doc: dict, path: str, method: str) -> Draft202012Validator:
    """A validator for the documented request body of one operation."""
    schema = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": doc["components"]},
                                format_checker=FormatChecker())


def assert_valid(validator: Draft202012Validator, instance) -> None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors)


# --- the document itself -----------------------------------------------------------------

def test_the_document_is_valid_openapi_3_1(bare_app):
    doc = served_document(bare_app)
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema
    # operation ids are unique (clients generate method names from them)
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()
           if isinstance(op, dict) and "operationId" in op]
    assert len(ids) == len(set(ids))


def test_documented_paths_and_methods_are_exactly_the_routes(bare_app):
    doc = served_document(bare_app)
    served, described = routes_of(bare_app), documented(doc)
    assert served - described == set(), f"routes missing from the OpenAPI document: " \
                                        f"{sorted(served - described)}"
    assert described - served == set(), f"documented but not served: " \
                                        f"{sorted(described - served)}"
    # the routes the issue asks for are all there (so "equal" is not "equally empty")
    for pair in [("/api/v1/requests", "post"), ("/api/v1/requests", "get"),
                 ("/api/v1/requests/{code}", "get"),
                 ("/api/v1/requests/{code}/approve", "post"),
                 ("/api/v1/requests/{code}/deny", "post"),
                 ("/api/v1/requests/{code}/needs-info", "post"),
                 ("/api/v1/requests/{code}/answer", "post"),
                 ("/api/v1/requests/{code}/withdraw", "post"),
                 ("/api/v1/requests/{code}/cancel", "post"),
                 ("/api/v1/requests/{code}/payments", "post"),
                 ("/api/v1/donations", "post"), ("/api/v1/donations", "get"),
                 ("/api/v1/donations/{code}/refund", "post"),
                 ("/api/v1/summary", "get"), ("/api/v1/months/{month}/seal", "post")]:
        assert pair in served, pair


def test_an_undocumented_route_would_be_caught(bare_app):
    """The comparison above is not vacuous: a new route shows up as a difference."""
    bare_app.add_url_rule("/api/v1/requests/<code>/secret", "secret", lambda code: "",
                          methods=["POST"])
    missing = routes_of(bare_app) - documented(served_document(bare_app))
    assert missing == {("/api/v1/requests/{code}/secret", "post")}


def test_path_parameters_and_idempotency_are_documented(bare_app):
    doc = served_document(bare_app)
    for path, item in doc["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for method, op in item.items():
            params = op.get("parameters", [])
            in_path = {p["name"] for p in params if p["in"] == "path"}
            assert in_path == names, (path, method, in_path)
            if method == "post":
                headers = {p["name"] for p in params if p["in"] == "header"}
                assert "Idempotency-Key" in headers, (path, method)
            # every answer but the document itself declares the error shape
            if path not in ("/api/v1/openapi.json",):
                errors = [s for s in op["responses"] if s.startswith(("4", "5"))]
                assert errors, (path, method)
                for status in errors:
                    ref = op["responses"][status]["content"]["application/json"]["schema"]
                    assert ref == {"$ref": "#/components/schemas/Error"}, (path, status)
    # the public operations say so; the rest need the bearer token
    assert doc["paths"]["/api/v1/summary"]["get"]["security"] == []
    assert doc["security"] == [{"bearer": []}]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


# --- the document describes what the API really answers ----------------------------------

def test_real_answers_match_their_schemas(fund):
    doc = served_document(fund.app)
    request_v = schema_validator(doc, "Request")
    # what the tests send is what the document says may be sent
    soon = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    ask_body = {"amount": "450.00", "category": "rent", "needed_by": soon,
                "payout_method": "bank", "story": "Rent is due and my shift was cut."}
    assert_valid(body_validator(doc, "/api/v1/requests", "post"), ask_body)
    # money as a number is outside the documented body, as the API refuses it
    assert list(body_validator(doc, "/api/v1/requests", "post").iter_errors(
        {**ask_body, "amount": 450}))

    code = ask(fund, amount="450.00")
    status, data = fund.api("member", "GET", f"/requests/{code}")
    assert status == 200
    assert_valid(request_v, data)
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    assert status == 200 and data["approved_amount"] == "450.00"
    assert_valid(request_v, data)
    pay = {"amount": "200.00", "account": "Assets:Fund:Bank"}
    assert_valid(body_validator(doc, "/api/v1/requests/{code}/payments", "post"), pay)
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/payments", json=pay)
    assert status == 201 and data["status"] == "partially_paid"
    assert_valid(request_v, data)
    status, data = fund.api("treasurer", "GET", "/requests")
    assert status == 200 and len(data["requests"]) == 1
    assert_valid(schema_validator(doc, "RequestList"), data)

    donation = {"amount": "50.00", "fee": "1.75", "account": "Assets:Fund:PayPal",
                "date": dt.date.today().isoformat(), "category": "individual",
                "donor_name": "Rosa", "donor_consents_public": False}
    assert_valid(body_validator(doc, "/api/v1/donations", "post"), donation)
    status, data = fund.api("treasurer", "POST", "/donations", json=donation)
    assert status == 201
    assert_valid(schema_validator(doc, "Donation"), data)
    status, data = fund.api("treasurer", "GET", "/donations")
    assert status == 200 and len(data["donations"]) == 1
    assert_valid(schema_validator(doc, "DonationList"), data)

    error_v = schema_validator(doc, "Error")
    for who, method, path, body, want in [
            ("member2", "GET", f"/requests/{code}", None, 404),
            ("member", "POST", "/donations", donation, 403),
            ("member", "POST", "/requests", {**ask_body, "amount": 450}, 422),
            ("treasurer", "POST", f"/requests/{code}/approve", {}, 409)]:
        status, data = fund.api(who, method, path, json=body)
        assert status == want, (path, status, data)
        assert_valid(error_v, data)
        assert str(want) in doc["paths"][f"/api/v1{path.replace(code, '{code}')}"][
            method.lower()]["responses"], (path, want)
    resp = fund.client().get("/api/v1/requests")
    assert resp.status_code == 401
    assert_valid(error_v, resp.get_json())
    # the invalid-field answer names the field the document calls it
    status, data = fund.api("member", "POST", "/requests", json={**ask_body, "amount": 450})
    assert data["error"]["field"] in doc["components"]["schemas"]["Request"]["properties"]

    month = f"{fund.start.year:04d}-{fund.start.month:02d}"
    seal_body = {"balances": {"Assets:Fund:Bank": "5000.00"}}
    assert_valid(body_validator(doc, "/api/v1/months/{month}/seal", "post"), seal_body)
    status, data = fund.api("treasurer", "POST", f"/months/{month}/seal", json=seal_body)
    assert status == 201, data
    assert_valid(schema_validator(doc, "Seal"), data)


def test_the_summary_matches_its_schema(fund):
    doc = served_document(fund.app)
    code = ask(fund, amount="120.00", category="food")
    assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    status, data = fund.api(None, "GET", "/summary")
    assert status == 200, data
    assert_valid(schema_validator(doc, "Summary"), data)  # the public view (nulls)
    status, data = fund.api("treasurer", "GET", "/summary")
    assert status == 200, data
    assert_valid(schema_validator(doc, "Summary"), data)  # the full view
    for table in ("aid_approved", "aid_paid"):
        for row in data[table]["rows"]:
            assert_valid(schema_validator(doc, "Cell"), row)
    status, data = fund.api(None, "GET", "/summary?month=2026-13")
    assert status == 422
    assert_valid(schema_validator(doc, "Error"), data)
