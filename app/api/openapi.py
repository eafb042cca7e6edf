"""The OpenAPI 3.1 document of /api/v1 (a test proves it matches the routes)."""

from __future__ import annotations

from ledger import PAYOUT_METHODS, Month

MONEY = {"type": "string", "pattern": r"^\d{1,12}(\.\d{1,2})?$", "examples": ["450.00"]}
DATE = {"type": "string", "format": "date"}
MONTH = {"type": "string", "pattern": f"^{Month.PATTERN.pattern}$", "examples": ["2026-11"]}
SIGNED = {"type": "string", "pattern": r"^-?\d{1,12}\.\d{2}$", "examples": ["-12.50"]}
NULLABLE_MONEY = {"anyOf": [MONEY, {"type": "null"}]}
CATEGORY = {"type": "string", "examples": ["rent"]}
ACCOUNT = {"type": "string", "pattern": r"^Assets:Fund:[A-Z][A-Za-z0-9-]*$",
           "examples": ["Assets:Fund:Bank"]}
REFERENCE = {"type": "string", "maxLength": 100,
             "description": "the bank's or processor's transaction id; kept encrypted, "
                            "never in the books"}
PAYMENT_NOTE = {"type": "string", "maxLength": 280}
STATUSES = ["submitted", "needs_info", "approved", "partially_paid", "paid", "denied",
            "withdrawn", "cancelled"]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(props: dict, required: list[str]) -> dict:
    return {"required": bool(required), "content": {"application/json": {"schema": {
        "type": "object", "properties": props, "required": required,
        "additionalProperties": False}}}}


def _answers(ok: int, schema: str, *errors: int) -> dict:
    out = {str(ok): {"description": "OK" if ok == 200 else "Created",
                     "content": {"application/json": {"schema": _ref(schema)}}}}
    for status in errors:
        out[str(status)] = {"description": "Error", "content": {
            "application/json": {"schema": _ref("Error")}}}
    return out


def _op(op_id: str, summary: str, ok: int, schema: str, errors: tuple, *, body=None,
        params=None, public: bool = False, post: bool = False) -> dict:
    op = {"operationId": op_id, "summary": summary, "responses": _answers(ok, schema, *errors)}
    if body:
        op["requestBody"] = body
    parameters = list(params or [])
    if post:
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
    if parameters:
        op["parameters"] = parameters
    if public:
        op["security"] = []
    return op


CODE = {"name": "code", "in": "path", "required": True,
        "schema": {"type": "string", "pattern": r"^[RD]-\d{4}-\d{4,6}$"}}
ERR = (400, 401, 403, 404, 409, 422)


def spec() -> dict:
    """The document served at /api/v1/openapi.json."""
    methods = {"type": "string", "enum": list(PAYOUT_METHODS)}
    req_ops = {
        "approve": ("approveRequest", "Approve (treasurer)",
                    _body({"amount": MONEY}, [])),
        "deny": ("denyRequest", "Deny with a reason (treasurer)",
                 _body({"reason": {"type": "string", "maxLength": 1000}}, ["reason"])),
        "needs-info": ("askRequest", "Ask the member a question (treasurer)",
                       _body({"question": {"type": "string", "maxLength": 1000}}, ["question"])),
        "answer": ("answerRequest", "Answer a question (member)",
                   _body({"answer": {"type": "string", "maxLength": 1000}}, ["answer"])),
        "withdraw": ("withdrawRequest", "Withdraw (member)", None),
        "cancel": ("cancelRequest", "Cancel an approval (treasurer)",
                   _body({"reason": {"type": "string", "maxLength": 1000}}, ["reason"])),
    }
    paths: dict = {
        "/api/v1/requests": {
            "post": _op("createRequest", "Ask for aid (member)", 201, "Request", ERR, post=True,
                        body=_body({"amount": MONEY, "category": CATEGORY, "needed_by": DATE,
                                    "payout_method": methods,
                                    "story": {"type": "string", "minLength": 1,
                                              "maxLength": 2000}},
                                   ["amount", "category", "needed_by", "payout_method",
                                    "story"])),
            "get": _op("listRequests", "Own requests; all for a treasurer", 200, "RequestList",
                       (401, 422), params=[{"name": "status", "in": "query", "required": False,
                                            "schema": {"type": "string", "enum": STATUSES}}]),
        },
        "/api/v1/requests/{code}": {
            "get": _op("getRequest", "One request", 200, "Request", (401, 404), params=[CODE])},
        "/api/v1/requests/{code}/payments": {
            "post": _op("payRequest", "Record a payment (treasurer)", 201, "Request", ERR,
                        params=[CODE], post=True,
                        body=_body({"amount": MONEY, "account": ACCOUNT, "date": DATE,
                                    "reference": REFERENCE, "note": PAYMENT_NOTE},
                                   ["amount", "account"]))},
        "/api/v1/payments": {
            "post": _op("paySeveral", "Pay several approved requests from one account, all "
                        "or nothing (treasurer)", 201, "PaymentBatch", ERR, post=True,
                        body=_body({
                            "account": ACCOUNT, "date": DATE,
                            "batch": {"type": "string", "pattern": r"^[A-Za-z0-9_-]{8,40}$",
                                      "description": "names the action: sent again, it "
                                                     "pays nothing twice"},
                            "reference": REFERENCE, "note": PAYMENT_NOTE,
                            "payments": {"type": "array", "minItems": 1, "maxItems": 100,
                                         "items": {"type": "object", "required": ["code"],
                                                   "additionalProperties": False,
                                                   "properties": {
                                                       "code": {"type": "string"},
                                                       "amount": MONEY,
                                                       "reference": REFERENCE,
                                                       "note": PAYMENT_NOTE}}}},
                            ["account", "payments"]))},
        "/api/v1/donations": {
            "post": _op("createDonation", "Record a donation (treasurer)", 201, "Donation", ERR,
                        post=True, body=_body({
                            "amount": MONEY, "fee": MONEY, "account": ACCOUNT, "date": DATE,
                            "category": CATEGORY,
                            "donor_name": {"type": ["string", "null"], "maxLength": 60},
                            "donor_consents_public": {"type": "boolean"}},
                            ["amount", "account", "date", "category", "donor_consents_public"])),
            "get": _op("listDonations", "All donations (treasurer)", 200, "DonationList",
                       (401, 403))},
        "/api/v1/donations/{code}/refund": {
            "post": _op("refundDonation", "Refund what is left of a donation (treasurer)", 200,
                        "Donation", ERR, params=[CODE], post=True,
                        body={"required": False, "content": {"application/json": {"schema": {
                            "type": "object", "properties": {"amount": MONEY},
                            "additionalProperties": False}}}})},
        "/api/v1/requests/{code}/returned": {
            "post": _op("returnPayment", "Record that a payment came back, e.g. it bounced "
                        "(treasurer)", 200, "Request", ERR, params=[CODE], post=True,
                        body={"required": False, "content": {"application/json": {"schema": {
                            "type": "object", "properties": {
                                "amount": MONEY, "account": ACCOUNT, "date": DATE},
                            "additionalProperties": False}}}})},
        "/api/v1/transfers": {
            "post": _op("createTransfer", "Move money between the fund's own cash accounts, "
                        "less an optional fee (treasurer)", 201, "Transfer", ERR, post=True,
                        body=_body({"amount": MONEY, "fee": MONEY, "from_account": ACCOUNT,
                                    "to_account": ACCOUNT, "date": DATE},
                                   ["amount", "from_account", "to_account"]))},
        "/api/v1/costs": {
            "post": _op("createCost", "Pay a running cost of the fund (treasurer)", 201,
                        "Cost", ERR, post=True,
                        body=_body({"amount": MONEY, "account": ACCOUNT, "date": DATE,
                                    "kind": {"type": "string", "examples": ["fees", "other"]}},
                                   ["amount", "account"]))},
        "/api/v1/movements": {
            "get": _op("listMovements", "The latest transfers and running costs (treasurer)",
                       200, "MovementList", (401, 403))},
        "/api/v1/summary": {
            "get": _op("getSummary", "A month's public figures", 200, "Summary", (422,),
                       public=True, params=[{"name": "month", "in": "query", "required": False,
                                             "schema": MONTH}])},
        "/api/v1/months/{month}/seal": {
            "post": _op("sealMonth", "Seal a month with statement balances (treasurer)", 201,
                        "Seal", ERR, post=True,
                        params=[{"name": "month", "in": "path", "required": True,
                                 "schema": MONTH}],
                        body=_body({"balances": {"type": "object",
                                                 "additionalProperties": MONEY}},
                                   ["balances"]))},
        "/api/v1/openapi.json": {
            "get": {"operationId": "getOpenApi", "summary": "This document", "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1",
                                          "content": {"application/json": {
                                              "schema": {"type": "object"}}}}}}},
    }
    for action, (op_id, summary, body) in req_ops.items():
        paths[f"/api/v1/requests/{{code}}/{action}"] = {
            "post": _op(op_id, summary, 200, "Request", ERR, params=[CODE], post=True,
                        body=body)}
    group = {"type": "object", "properties": {
        "rows": {"type": "array", "items": _ref("Cell")},
        "other": {"anyOf": [_ref("Cell"), {"type": "null"}]}, "total": _ref("Cell")}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Carebooks API", "version": "1",
                 "description": "Requests, approvals, payments, donations, transfers "
                                "and running costs of a mutual aid fund. Money is a string (\"450.00\")."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message", "field"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                   "field": {"type": ["string", "null"]}}}}},
                "Request": {"type": "object", "required": ["code", "status", "amount"],
                            "properties": {
                                "code": {"type": "string"},
                                "status": {"type": "string", "enum": STATUSES},
                                "member": {"type": ["string", "null"]},
                                "amount": MONEY, "category": CATEGORY, "needed_by": DATE,
                                "payout_method": methods,
                                "story": {"type": "string"},
                                "approvals": {"type": "array", "items": {"type": "object"}},
                                "approvals_needed": {"type": "integer"},
                                "approved_amount": NULLABLE_MONEY, "paid_amount": MONEY,
                                "outstanding": MONEY,
                                "notes": {"type": "array", "items": {"type": "object"}},
                                "payments": {"type": "array", "items": {"type": "object"}},
                                "approved_at": {"type": ["string", "null"]},
                                "purge_on": {"type": ["string", "null"]},
                                "filed_by": {"type": ["string", "null"]},
                                "reach_by": {"type": ["string", "null"],
                                             "enum": ["phone", "in_person", "contact", None]},
                                "contact": {"type": ["string", "null"]},
                                "created_at": {"type": "string"},
                                "updated_at": {"type": "string"}}},
                "RequestList": {"type": "object", "properties": {
                    "requests": {"type": "array", "items": _ref("Request")}}},
                "Donation": {"type": "object", "required": ["code", "amount"], "properties": {
                    "code": {"type": "string"}, "date": DATE, "amount": MONEY, "fee": MONEY,
                    "account": ACCOUNT, "category": CATEGORY,
                    "donor_name": {"type": ["string", "null"]},
                    "donor_consents_public": {"type": "boolean"}, "refunded": MONEY}},
                "DonationList": {"type": "object", "properties": {
                    "donations": {"type": "array", "items": _ref("Donation")}}},
                "Cell": {"type": "object", "properties": {
                    "category": {"type": "string"},
                    "recipients": {"type": ["integer", "null"]},
                    "total": {"type": ["string", "null"]},
                    "median": {"type": ["string", "null"]}, "note": {"type": "string"}}},
                "Band": {"type": "object", "description": "an amount in [from, to); null: "
                         "no bound on that side", "properties": {
                             "from": {"type": ["string", "null"]},
                             "to": {"type": ["string", "null"]}}},
                "Summary": {"type": "object", "description": (
                    "A month's figures. Treasurers and admins (with a token) get every "
                    "figure, exact (`exact: true`). Anyone else gets `live` (what was "
                    "available to promise at the end of yesterday, as a band) and, only "
                    "for a sealed month whose report is published, its figures under the "
                    "privacy rules; the rest is null (docs/privacy.md)."), "properties": {
                    "month": {"type": "string"}, "currency": {"type": "string"},
                    "exact": {"type": "boolean"}, "published": {"type": "boolean"},
                    "live": {"type": "object", "properties": {
                        "as_of": {"type": "string", "format": "date"},
                        "next_update": {"type": "string", "format": "date"},
                        "available": _ref("Band")}},
                    "balances": {"type": ["object", "null"]},
                    "cash": {"type": ["object", "null"]},
                    "donations": {"type": ["object", "null"]},
                    "aid_approved": {"anyOf": [group, {"type": "null"}]},
                    "aid_paid": {"anyOf": [group, {"type": "null"}]},
                    "cancelled": {"anyOf": [_ref("Cell"), {"type": "null"}]},
                    "outstanding": NULLABLE_MONEY,
                    "available": {"type": ["string", "null"]}, "sealed": {"type": "boolean"},
                    "seal_hash": {"type": ["string", "null"]},
                    "privacy": {"type": "object"},
                    "periods": {"type": "array", "description": (
                        "Every closed publication period, oldest first: months merged "
                        "until their aid covers k people (docs/privacy.md); exact totals, "
                        "as the community's books hold them."), "items": {
                        "type": "object", "properties": {
                            "period": {"type": "string"}, "from": {"type": "string"},
                            "to": {"type": "string"}, "recipients": {"type": "integer"},
                            "donations": SIGNED, "fees": SIGNED, "aid_approved": SIGNED,
                            "aid_paid": SIGNED, "cash": SIGNED}}}}},
                "Transfer": {"type": "object", "required": ["code", "amount"],
                             "properties": {
                                 "code": {"type": "string", "pattern": r"^T-\d{4}-\d{4,6}$"},
                                 "date": DATE, "from_account": ACCOUNT, "to_account": ACCOUNT,
                                 "amount": MONEY, "fee": MONEY, "arrived": MONEY}},
                "Cost": {"type": "object", "required": ["code", "amount"], "properties": {
                    "code": {"type": "string", "pattern": r"^C-\d{4}-\d{4,6}$"},
                    "date": DATE, "kind": {"type": "string"}, "account": ACCOUNT,
                    "amount": MONEY}},
                "MovementList": {"type": "object", "properties": {
                    "movements": {"type": "array", "items": {"type": "object"}}}},
                "PaymentBatch": {"type": "object", "properties": {
                    "batch": {"type": "string"}, "account": ACCOUNT, "date": DATE,
                    "total": MONEY, "paid": {"type": "array", "items": {
                        "type": "object", "properties": {
                            "code": {"type": "string"}, "amount": MONEY,
                            "status": {"type": "string", "enum": STATUSES}}}}}},
                "Seal": {"type": "object", "properties": {
                    "month": {"type": "string"}, "file_sha256": {"type": "string"},
                    "previous": {"type": "string"}, "seal_hash": {"type": "string"},
                    "balances": {"type": "object"}}},
            },
        },
    }
