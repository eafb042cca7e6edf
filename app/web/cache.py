"""Public answers that anyone may cache: an `ETag`, a `Cache-Control` that lasts until
the next daily update, and `304 Not Modified` to a conditional GET that already holds
the answer (docs/performance.md, "A link shared widely")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response, request

if TYPE_CHECKING:
    from app.workflow.summary import Answer

VARY = "Accept-Language, Cookie, Authorization"


def headers(answer: Answer) -> list[tuple[str, str]]:
    """The caching headers of a public answer."""
    return [("ETag", answer.etag),
            ("Cache-Control", f"public, max-age={answer.max_age()}"),
            ("Vary", VARY)]


def not_modified(answer: Answer, if_none_match: str | None) -> bool:
    """True when the client's `If-None-Match` already names this answer."""
    if not if_none_match:
        return False
    tags = {t.strip() for t in if_none_match.split(",")}
    return "*" in tags or answer.etag in tags or ("W/" + answer.etag) in tags


def cacheable(answer: Answer, mimetype: str) -> Response:
    """The answer as a response: 304 when the client holds it, else the body."""
    if not_modified(answer, request.headers.get("If-None-Match")):
        response = Response(status=304)
    else:
        response = Response(answer.body, mimetype=mimetype)
    for name, value in headers(answer):
        response.headers[name] = value
    return response
