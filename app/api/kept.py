"""The community's read of the public summary, answered without Flask's request machinery
while its answer is kept.

`GET /api/v1/summary` is what the transparency page and anyone checking the fund poll;
under load it is most of the requests. Its answer is already kept per month for the
books' current state (app.workflow.summary), so the time of a read went on Flask around
it: a request context, the session, the rate limiter, the security headers, the response
object — about as much CPU again as the read itself (docs/performance.md).

`KeptSummary` wraps the app's WSGI callable. A read it can answer is one a stranger
sends: `GET`, no cookie, no token, and a query that is empty or exactly `month=YYYY-MM`.
It answers with the summary's kept JSON and the headers Flask itself sent the last time
it answered such a read (over the same scheme), so every header — the security
headers, Content-Type, Vary — is Flask's own. Anything else, and any read it cannot
answer that way (no headers seen yet, a month refused, the books unreadable), goes to
Flask as before, which then answers, or refuses, in its usual words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from flask import Flask

from app.workflow import summary

PATH = "/api/v1/summary"
_QUERY = re.compile(r"(?:month=(\d{4}-\d{2}))?")
# Headers Flask's answer must not carry for it to be answered to anyone else.
_PERSONAL = {"set-cookie", "cache-control", "www-authenticate"}


class KeptSummary:
    """WSGI middleware: strangers' summary reads from the kept answer (module doc)."""

    def __init__(self, app: Flask, inner: Callable) -> None:
        self.app = app
        self.inner = inner
        # (scheme, forwarded scheme) -> the headers of Flask's last 200 answer to a
        # stranger (HSTS is sent on HTTPS only; nothing else in them depends on the read)
        self.headers: dict[tuple, list[tuple[str, str]]] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        get = environ.get
        if (get("PATH_INFO") != PATH or get("REQUEST_METHOD") != "GET"
                or "HTTP_COOKIE" in environ or "HTTP_AUTHORIZATION" in environ):
            return self.inner(environ, start_response)
        query = get("QUERY_STRING", "")
        found = _QUERY.fullmatch(query)
        if found is None:
            return self.inner(environ, start_response)
        slot = (get("wsgi.url_scheme"), get("HTTP_X_FORWARDED_PROTO"))
        headers = self.headers.get(slot)
        if headers is not None:
            body = self._kept(found[1])
            if body is not None:
                start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
                return [body]
        return self.inner(environ, self._keeping(slot, start_response))

    def _kept(self, month: str | None) -> bytes | None:
        """The summary's JSON, worked out if the books changed; None if Flask should
        answer (a month refused, the books or the database unreadable: it says why)."""
        try:
            with self.app.app_context():
                return summary.summary_json(month)
        except Exception:  # noqa: BLE001  (Flask meets it again, and answers or logs it)
            return None

    def _keeping(self, slot: tuple, start_response: Callable) -> Callable:
        """`start_response` that keeps the headers of Flask's 200 answer to a stranger."""

        def keep(status: str, headers: list, exc_info=None):
            names = {name.lower() for name, _ in headers}
            if status.startswith("200 ") and not names & _PERSONAL:
                self.headers[slot] = [(n, v) for n, v in headers
                                      if n.lower() != "content-length"]
            return start_response(status, headers, exc_info)

        return keep


def init_app(app: Flask) -> None:
    """Put the summary's kept answer in front of the app (outermost: it sees the
    request as the server sent it)."""
    app.wsgi_app = KeptSummary(app, app.wsgi_app)
