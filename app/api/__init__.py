"""The JSON API under /api/v1: bearer tokens, idempotent POSTs, one error shape.

Errors are `{"error": {"code": ..., "message": ..., "field": ...}}`; the status is chosen
here, from the kind of workflow error, and nowhere else.
"""

from __future__ import annotations

import json
import re

from flask import Blueprint, g, jsonify, request

from app.workflow import errors as wf
from app.workflow.inputs import has_surrogate
from ledger import BooksInvalid, LedgerError

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class MalformedJSON(wf.WorkflowError):
    """The body is not JSON at all (a 400, unlike a JSON value of the wrong shape)."""

    code = "bad_request"

STATUS: dict = {MalformedJSON: 400, wf.InvalidInput: 422, wf.NotFound: 404, wf.Unauthenticated: 401,
          wf.Forbidden: 403, wf.IllegalTransition: 409, wf.Conflict: 409,
          wf.PolicyRefused: 422, wf.BooksRefused: 422, wf.BooksUnavailable: 503,
          wf.SavedNotInBooks: 503}


def error_response(code: str, message: str, status: int, field: str | None = None):
    """The API's one error shape."""
    return jsonify({"error": {"code": code, "message": message, "field": field}}), status


@bp.errorhandler(wf.WorkflowError)
def workflow_error_response(exc: wf.WorkflowError):
    """The status and body for a workflow refusal."""
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
    return error_response(exc.code, exc.message, status, exc.field)


@bp.errorhandler(BooksInvalid)
def _books_invalid(exc: BooksInvalid):
    return error_response("books_invalid", exc.message, 503)


@bp.errorhandler(LedgerError)
def _ledger_error(exc: LedgerError):
    return error_response(exc.code, exc.message, 503)


@bp.errorhandler(400)
def _bad_request(exc):
    return error_response("bad_request", "the request is not valid", 400)


ROUTING = {404: ("not_found", "no such resource"),
           405: ("method_not_allowed", "this method is not allowed here"),
           413: ("too_large", "the request body is too large")}


def _routing_error(exc):
    """JSON for /api/ paths (routing errors happen before any blueprint is chosen; the
    app-level handler in app.web sends /api/ paths here)."""
    code, message = ROUTING[exc.code]
    return error_response(code, message, exc.code)


# The scope each call needs: a GET reads; a member's own requests need `request`;
# everything else a POST does is a treasurer's work and needs `money`.
REQUEST_SCOPE = frozenset({"api.create_request", "api.answer_request",
                           "api.withdraw_request"})


def needed_scope() -> str:
    """The token scope this request needs (app.workflow.tokens)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return "read"
    return "request" if request.endpoint in REQUEST_SCOPE else "money"


def current_person(session=None):
    """The person the bearer token names (cached for the request), or Unauthenticated;
    Forbidden when the token lacks the scope this call needs. Read in the caller's
    `session` when one is given (app.api.idempotency)."""
    from app.db import session_scope
    from app.workflow import tokens

    if "api_person" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise wf.Unauthenticated("send Authorization: Bearer <token> "
                                     "(make one with `carebooks token create EMAIL`)")
        if session is None:
            with session_scope() as own:
                g.api_person = _checked(own, token.strip(), tokens)
        else:
            g.api_person = _checked(session, token.strip(), tokens)
    return g.api_person


def _checked(session, token: str, tokens):
    from app.workflow import audit

    person, tok = tokens.find(token, session)
    scope = needed_scope()
    tokens.require_scope(session, person, tok, scope)
    if scope == "money":  # the step's events name the token (reset in _after_money)
        g.via_token = (audit.VIA_TOKEN.set(tok.id), person.id, tok.id)
    session.expunge(person)
    return person


@bp.teardown_request
def _after_money(_exc=None) -> None:
    """Forget the money token this request used (the thread serves other requests next)."""
    via = g.pop("via_token", None)
    if via is not None:
        from app.workflow import audit
        audit.VIA_TOKEN.reset(via[0])


@bp.after_request
def _refused_money_use(response):
    """A money-scope call that was refused records no step event: audit its use here, in a
    transaction of its own (refusals are rare; a successful step's events name the token)."""
    via = g.get("via_token")
    if via is not None and response.status_code >= 400:
        from app.db import session_scope
        from app.workflow import audit

        with session_scope() as session:
            audit.record(session, via[1], "token.money_refused", f"person:{via[1]}",
                         token=via[2], status=response.status_code)
    return response


MAX_DEPTH = 20
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def too_deep_field(raw: bytes) -> str | None:
    """The top-level field whose value nests deepest (None: the body itself), found by
    counting brackets outside strings; only asked when the parser gave up."""
    depth, last_key, deepest = 0, None, (0, None)
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > deepest[0]:
                deepest = (depth, last_key if depth > 1 else None)
        elif token in (b"]", b"}"):
            depth -= 1
        elif depth == 1:
            last_key = token[1:-1].decode("utf-8", "replace")
    return deepest[1] if deepest[1] and deepest[1].isprintable() else None


def check_value(field: str, value) -> None:
    """Refuse, naming the top-level `field`, a value that no text column can hold (a lone
    surrogate, which JSON can spell as \\ud800) or that nests past MAX_DEPTH."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise wf.InvalidInput(f"{field}: nested too deeply (at most {MAX_DEPTH} levels)",
                                  field=field)
        if isinstance(item, str):
            if has_surrogate(item):
                raise wf.InvalidInput(f"{field}: holds a lone surrogate (\\ud800-\\udfff), "
                                      "which is not a character", field=field)
        elif isinstance(item, dict):
            stack.extend((k, depth + 1) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def body(*allowed: str) -> dict:
    """The JSON object sent ({} when there is none), holding only the `allowed` fields."""
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except RecursionError:
        field = too_deep_field(raw)
        raise MalformedJSON(f"{field or 'body'}: nested too deeply (at most {MAX_DEPTH} "
                            "levels)", field=field) from None
    except ValueError:
        raise MalformedJSON("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise wf.InvalidInput("the body must be a JSON object", field=None)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise wf.InvalidInput(f"{unknown[0]}: not a field here; the fields are "
                              f"{', '.join(allowed) or 'none'}", field=unknown[0])
    for key, value in data.items():
        check_value(key, value)
    return data

