"""The JSON API under /api/v1: bearer tokens, idempotent POSTs, one error shape.

Errors are `{"error": {"code": ..., "message": ..., "field": ...}}`; the status is chosen
here, from the kind of workflow error, and nowhere else.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from app.workflow import errors as wf
from ledger import BooksInvalid, LedgerError

bp = Blueprint("api", __name__, url_prefix="/api/v1")

STATUS = {wf.InvalidInput: 422, wf.NotFound: 404, wf.Unauthenticated: 401,
          wf.Forbidden: 403, wf.IllegalTransition: 409, wf.Conflict: 409,
          wf.PolicyRefused: 422, wf.BooksRefused: 422}


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
    return error_response(exc.rule.replace("-", "_"), exc.message, 503)


@bp.errorhandler(400)
def _bad_request(exc):
    return error_response("bad_request", "the request body is not valid JSON", 400)


@bp.errorhandler(404)
def _not_found(exc):
    return error_response("not_found", "no such resource", 404)


@bp.errorhandler(405)
def _method(exc):
    return error_response("method_not_allowed", "method not allowed here", 405)


@bp.errorhandler(413)
def _too_large(exc):
    return error_response("too_large", "the request body is too large", 413)


def current_person():
    """The person the bearer token names (cached for the request), or Unauthenticated."""
    from app.workflow.people import person_for_token

    if "api_person" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise wf.Unauthenticated("send Authorization: Bearer <token> "
                                     "(make one with `carebooks token create EMAIL`)")
        g.api_person = person_for_token(token.strip())
    return g.api_person


def body() -> dict:
    """The JSON object sent, or {} when there is no body; InvalidInput if it is not an object."""
    if not request.get_data():
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise wf.InvalidInput("the body must be a JSON object", field=None)
    return data


from app.api import routes  # noqa: E402,F401  (registers the routes on bp)
