"""Strangers' reads of the public summary and of the transparency page, answered without
Flask's request machinery while their answer is kept.

`GET /api/v1/summary` and `GET /` are what a link shared widely brings: under load they
are most of the requests. Their public answers are kept per process until the day, a
seal, a published report or the privacy policy changes (app.workflow.summary), so the
time of a read went on Flask around it: a request context, the session, the rate
limiter, the security headers, the response object — about as much CPU again as the
read itself (docs/performance.md).

`KeptSummary` wraps the app's WSGI callable. A read it can answer is one a stranger
sends: `GET`, no cookie, no token, and for the summary a query that is empty or exactly
`month=YYYY-MM`, for the page no query at all. It answers with the kept body, its
`ETag` and `Cache-Control` (or `304 Not Modified` to an `If-None-Match` that names it),
and the other headers Flask itself sent the last time it answered such a read (over the
same scheme), so every security header, Content-Type and Vary is Flask's own. Anything
else, and any read it cannot answer that way (no headers seen yet, a month refused, the
page not rendered yet in that language, the books unreadable), goes to Flask as before,
which then answers, or refuses, in its usual words.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable

from flask import Flask
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from app.i18n import DEFAULT, LANGUAGES
from app.web.cache import headers as caching, not_modified
from app.workflow import stamp, summary

PATH = "/api/v1/summary"
PAGE = "/"
_QUERY = re.compile(r"(?:month=(\d{4}-\d{2}))?")
# Headers Flask's answer must not carry for it to be answered to anyone else.
_PERSONAL = {"set-cookie", "www-authenticate"}
# Headers that belong to one answer, not to every answer of the kind.
_OWN = {"content-length", "etag", "cache-control"}


# The full check (the books readable, the privacy policy) runs at least this often; in
# between, a kept answer holds while the day and the public files' signatures hold.
RECHECK_SECONDS = 1.0
_LANGS: dict[str, str] = {}   # Accept-Language header -> language (a browser sends few)


def _lang(environ: dict) -> str:
    """The language Flask would choose for a stranger (app.i18n.select_locale)."""
    header = environ.get("HTTP_ACCEPT_LANGUAGE")
    if not header:
        return DEFAULT
    lang = _LANGS.get(header)
    if lang is None:
        lang = parse_accept_header(header, LanguageAccept).best_match(list(LANGUAGES)) \
            or DEFAULT
        if len(_LANGS) >= 512:
            _LANGS.clear()
        _LANGS[header] = lang
    return lang


class KeptSummary:
    """WSGI middleware: strangers' summary and page reads from the kept answer."""

    def __init__(self, app: Flask, inner: Callable) -> None:
        self.app = app
        self.inner = inner
        # (path, scheme, forwarded scheme) -> the headers of Flask's last 200 answer to a
        # stranger (HSTS is sent on HTTPS only; nothing else in them depends on the read)
        self.headers: dict[tuple, list[tuple[str, str]]] = {}
        # (path, month or language) -> (answer, its day, the public files' signature when
        # it was found current, when to check it in full again)
        self.fresh: dict[tuple, tuple] = {}
        self.paths: tuple[str, ...] | None = None   # stamp.public_paths(), once known

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        get = environ.get
        path = get("PATH_INFO")
        if (path not in (PATH, PAGE) or get("REQUEST_METHOD") != "GET"
                or "HTTP_COOKIE" in environ or "HTTP_AUTHORIZATION" in environ):
            return self.inner(environ, start_response)
        query = get("QUERY_STRING", "")
        found = _QUERY.fullmatch(query) if path == PATH else None
        if (found is None) if path == PATH else query:
            return self.inner(environ, start_response)
        slot = (path, get("wsgi.url_scheme"), get("HTTP_X_FORWARDED_PROTO"))
        headers = self.headers.get(slot)
        if headers is not None:
            which = (path, found[1] if found else _lang(environ))
            answer = self._fresh(which)
            if answer is None:
                answer = self._kept(which)
            if answer is not None:
                if not_modified(answer, get("HTTP_IF_NONE_MATCH")):
                    start_response("304 Not Modified", [*headers, *caching(answer)])
                    return [b""]
                start_response("200 OK", [*headers, *caching(answer),
                                          ("Content-Length", str(len(answer.body)))])
                return [answer.body]
        return self.inner(environ, self._keeping(slot, start_response))

    def _fresh(self, which: tuple) -> summary.Answer | None:
        """The answer found current less than RECHECK_SECONDS ago, if the day and the
        public files are still what they were then (no app context, no key worked out:
        a few `os.stat`s). None: work it out (`_kept`)."""
        hit = self.fresh.get(which)
        if hit is None:
            return None
        answer, day, signature, until = hit
        if (time.monotonic() >= until or summary.today() != day
                or stamp.signature(self.paths) != signature):
            return None
        return answer

    def _kept(self, which: tuple) -> summary.Answer | None:
        """The kept answer, worked out if it is stale (the summary only); None if Flask
        should answer (a month refused, the books or the database unreadable: it says why;
        the page not rendered yet in this language)."""
        path, what = which
        try:
            with self.app.app_context():
                if self.paths is None:
                    self.paths = stamp.public_paths()
                # taken before the answer: a change meanwhile is seen by the next read
                day, signature = summary.today(), stamp.signature(self.paths)
                answer = (summary.public_answer(what) if path == PATH
                          else summary.kept_page(what))
        except Exception:  # noqa: BLE001  (Flask meets it again, and answers or logs it)
            return None
        if answer is not None:
            self.fresh[which] = (answer, day, signature, time.monotonic() + RECHECK_SECONDS)
        return answer

    def _keeping(self, slot: tuple, start_response: Callable) -> Callable:
        """`start_response` that keeps the headers of Flask's 200 answer to a stranger."""

        def keep(status: str, headers: list, exc_info=None):
            names = {name.lower() for name, _ in headers}
            public = any(n.lower() == "cache-control" and v.startswith("public")
                         for n, v in headers)
            if status.startswith("200 ") and public and not names & _PERSONAL:
                self.headers[slot] = [(n, v) for n, v in headers if n.lower() not in _OWN
                                      and n.lower() != "vary"]
            return start_response(status, headers, exc_info)

        return keep


def init_app(app: Flask) -> None:
    """Put the kept answers in front of the app (outermost: it sees the request as the
    server sent it)."""
    app.wsgi_app = KeptSummary(app, app.wsgi_app)
