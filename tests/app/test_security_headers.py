"""The browser's protections (app/security.py, docs/security.md): the headers on every
answer (pages, API, static files; anonymous and signed in), HSTS only over HTTPS, the
cookies in development and production, cross-site form posts, and the request size
limit. The last test opens every page in headless Chromium, over HTTPS with the
production settings, and fails on any Content-Security-Policy violation."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import threading
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

from app.security import HOST_COOKIE
from tests.app.conftest import PASSWORD, ask
from tests.app.test_access_matrix import (ADDRESS, MATRIX, ROLES, csrf_token,
                                          make_matrix_fund, path_for, sign_in)

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
MIB = 1024 * 1024


@pytest.fixture
def fund(tmp_path):
    f = make_matrix_fund(tmp_path)
    f.apps = []
    yield f
    for app in f.apps:
        app.extensions["carebooks.engine"].dispose()
    from app.workflow.check import run_check
    with f.ctx():
        report = run_check()
    assert report.ok, str(report)


def another_app(fund, **config):
    """The same fund (instance folder and database) under other settings."""
    from app import create_app

    settings = {"DATABASE_URL": fund.app.config["DATABASE_URL"], **config}
    app = create_app(instance=Path(fund.app.instance_path), test_config=settings)
    fund.apps.append(app)
    return app


def csp(resp) -> dict[str, list[str]]:
    policy = resp.headers.get("Content-Security-Policy", "")
    out = {}
    for part in filter(None, (p.strip() for p in policy.split(";"))):
        name, *values = part.split()
        out[name.lower()] = values
    return out


def assert_protected(resp, what: str) -> None:
    for name, value in HEADERS.items():
        assert resp.headers.get(name) == value, (what, name, resp.headers.get(name))
    policy = csp(resp)
    assert policy, f"{what}: no Content-Security-Policy"
    everything = " ".join(v for values in policy.values() for v in values)
    for bad in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "http:",
                "https:", "'strict-dynamic'"):
        assert bad not in everything.split(), (what, bad, policy)
    assert policy.get("default-src") in (["'none'"], ["'self'"]), (what, policy)
    assert policy.get("frame-ancestors") == ["'none'"], what
    assert policy.get("object-src") == ["'none'"], what
    assert policy.get("base-uri") == ["'none'"], what
    assert policy.get("form-action") == ["'self'"], what
    assert policy.get("script-src") in (["'none'"], ["'self'"]), what
    assert policy.get("style-src") == ["'self'"], what
    permissions = resp.headers.get("Permissions-Policy", "")
    for feature in ("camera", "microphone", "geolocation"):
        assert f"{feature}=()" in permissions, (what, permissions)


def set_cookies(resp) -> dict[str, str]:
    """Each Set-Cookie of a response, by cookie name, as sent."""
    out = {}
    for header in resp.headers.getlist("Set-Cookie"):
        out[header.split("=", 1)[0]] = header
    return out


def flags(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


def attributes(header: str) -> dict[str, str]:
    cookie = SimpleCookie()
    cookie.load(header)
    (morsel,) = cookie.values()
    return {k: v for k, v in morsel.items() if v}


# --- the headers -------------------------------------------------------------------------


def test_anonymous_answers_carry_every_header(fund):
    client = fund.app.test_client()
    for path in ("/", "/sign-in", "/reports", "/books.zip", "/reports/none.pdf", "/no-such-page",
                 "/static/carebooks.css", "/api/v1/summary", "/api/v1/openapi.json",
                 "/api/v1/requests", "/api/v1/nothing", "/treasurer/queue"):
        resp = client.get(path)
        assert resp.status_code < 500, path
        assert_protected(resp, path)
        assert "Strict-Transport-Security" not in resp.headers, path  # plain HTTP


def test_every_page_a_signed_in_person_sees_is_protected_and_not_stored(fund):
    code = ask(fund, amount="10.00")
    for role in ("member", "other", "treasurer", "admin"):
        client = sign_in(fund, {"member": "member", "other": "member2"}.get(role, role))
        index = ROLES.index(role)
        seen = 0
        for (method, rule), expected in MATRIX.items():
            if method != "GET" or rule.startswith("/api/"):
                continue
            path = path_for(fund, rule, code)
            resp = client.get(path)
            assert resp.status_code == expected[index], (role, path, resp.status_code)
            assert_protected(resp, f"{role} {path}")
            assert resp.headers.get("Cache-Control") == "no-store", (role, path)
            seen += resp.status_code == 200
        assert seen >= 5
        # a form post and its redirect, too
        token = csrf_token(client.get("/").get_data(as_text=True))
        resp = client.post("/language", data={"csrf_token": token, "lang": "es", "next": "/"})
        assert resp.status_code == 303 and resp.headers["Cache-Control"] == "no-store"
        # signing out: the answer itself is still not stored
        resp = client.post("/sign-out", data={"csrf_token": token})
        assert resp.status_code == 303 and resp.headers["Cache-Control"] == "no-store"
        assert "no-store" not in client.get("/").headers.get("Cache-Control", "")


def test_api_answers_that_need_a_token_are_not_stored(fund):
    code = ask(fund, amount="10.00")
    client = fund.app.test_client()
    for who, method, path, body in [
            ("member", "GET", "/api/v1/requests", None),
            ("member", "GET", f"/api/v1/requests/{code}", None),
            ("member2", "GET", f"/api/v1/requests/{code}", None),          # 404
            ("member", "GET", "/api/v1/donations", None),                   # 403
            ("treasurer", "GET", "/api/v1/donations", None),
            ("treasurer", "POST", f"/api/v1/requests/{code}/needs-info", {"question": "?"}),
            ("member", "POST", "/api/v1/requests", {}),                     # 422
            ("member", "GET", "/api/v1/summary", None),                     # sent a token
            (None, "GET", "/api/v1/requests", None),                        # 401
            (None, "POST", f"/api/v1/requests/{code}/approve", None)]:      # 401
        headers = fund.headers(who) if who else {}
        resp = client.open(path, method=method, json=body, headers=headers)
        assert resp.status_code < 500
        assert_protected(resp, f"{who} {method} {path}")
        assert resp.headers.get("Cache-Control") == "no-store", (who, path, resp.status_code)


def test_static_files_carry_the_headers(fund):
    anonymous = fund.app.test_client().get("/static/carebooks.css")
    assert anonymous.status_code == 200 and anonymous.mimetype == "text/css"
    assert_protected(anonymous, "static")
    signed_in = sign_in(fund, "member").get("/static/carebooks.css")
    assert_protected(signed_in, "static, signed in")
    assert signed_in.headers["Cache-Control"] == "no-store"


def test_the_policy_allows_only_what_the_pages_use(fund):
    """No inline style or script in any template (the policy would block it)."""
    templates = Path(__file__).resolve().parents[2] / "app" / "templates"
    for path in templates.rglob("*.html"):
        html = path.read_text()
        assert not re.search(r"<script\b", html, re.I), path
        assert not re.search(r"\sstyle\s*=", html, re.I), path
        assert not re.search(r"<style\b", html, re.I), path
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), path
        assert "javascript:" not in html.lower(), path


# --- HTTPS ----------------------------------------------------------------------------------


def test_hsts_only_over_https(fund):
    plain = fund.app.test_client().get("/")
    assert "Strict-Transport-Security" not in plain.headers
    for path in ("/", "/static/carebooks.css", "/api/v1/summary", "/no-such-page"):
        secure = fund.app.test_client().get(path, base_url="https://localhost")
        hsts = secure.headers.get("Strict-Transport-Security", "")
        age = re.search(r"max-age=(\d+)", hsts)
        assert age and int(age.group(1)) >= 31536000, (path, hsts)
        assert_protected(secure, path)


def test_forwarded_proto_counts_only_behind_a_proxy(fund):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    direct = fund.app.test_client().get("/", headers=forwarded)
    assert "Strict-Transport-Security" not in direct.headers  # anyone can send that header
    proxied = another_app(fund, TESTING=True, CAREBOOKS_BEHIND_PROXY="1")
    seen = {}

    @proxied.get("/_probe")  # only to read what the app believes about the request
    def _probe():
        from flask import request
        seen.update(addr=request.remote_addr, secure=request.is_secure)
        return "ok"

    resp = proxied.test_client().get("/", headers=forwarded)
    assert "Strict-Transport-Security" in resp.headers
    proxied.test_client().get("/_probe", headers=forwarded)
    assert seen == {"addr": "203.0.113.9", "secure": True}


# --- cookies ------------------------------------------------------------------------------


def test_cookies_are_httponly_and_lax_in_development(fund):
    resp = fund.app.test_client().get("/sign-in")
    cookie = set_cookies(resp)["session"]
    assert {"httponly", "samesite"} <= flags(cookie)
    assert attributes(cookie)["samesite"] == "Lax"
    assert "secure" not in flags(cookie)  # plain HTTP on a developer's machine


def test_production_cookies_are_secure_and_host_prefixed(fund):
    app = another_app(fund, TESTING=True, CAREBOOKS_ENV="production")
    assert app.config["SESSION_COOKIE_NAME"] == HOST_COOKIE == "__Host-carebooks"
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    https = "https://localhost"
    page = client.get("/sign-in", base_url=https)
    cookie = set_cookies(page)[HOST_COOKIE]
    assert {"secure", "httponly", "samesite", "path"} <= flags(cookie)
    assert "domain" not in flags(cookie)  # a __Host- cookie may name no domain
    assert attributes(cookie)["path"] == "/" and attributes(cookie)["samesite"] == "Lax"
    # signing in over HTTPS works without a Referer (the browser sends none: no-referrer)
    resp = client.post("/sign-in", base_url=https, data={
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "email": "member@example.org", "password": PASSWORD})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:400]
    signed = set_cookies(resp)[HOST_COOKIE]
    assert {"secure", "httponly"} <= flags(signed) and "domain" not in flags(signed)
    mine = client.get("/my/requests", base_url=https)
    assert mine.status_code == 200 and mine.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" in mine.headers


def test_https_without_the_variable_still_gets_secure_cookies(fund):
    """Neither debug nor testing, no CAREBOOKS_ENV: HTTPS requests get the production
    cookie; plain HTTP (a developer's machine) keeps the plain one."""
    app = another_app(fund, TESTING=False)
    secure = app.test_client().get("/sign-in", base_url="https://localhost")
    cookie = set_cookies(secure)[HOST_COOKIE]
    assert {"secure", "httponly"} <= flags(cookie) and attributes(cookie)["path"] == "/"
    plain = app.test_client().get("/sign-in")
    assert "secure" not in flags(set_cookies(plain)["session"])


def test_a_form_posted_from_another_site_is_refused(fund):
    client = sign_in(fund, "member")
    token = csrf_token(client.get("/my/requests/new").get_data(as_text=True))
    body = {"csrf_token": token, "amount": "10.00", "category": "rent",
            "needed_by": (dt.date.today() + dt.timedelta(days=3)).isoformat(),
            "payout_method": "bank", "story": "Bus fare."}
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                    {"Origin": "https://evil.example"}):
        resp = client.post("/my/requests/new", data=body, headers=headers)
        assert resp.status_code == 403, headers
    with fund.ctx():
        from app.workflow import requests
        assert requests.list_requests(fund.people["member"]) == []
    resp = client.post("/my/requests/new", data=body, headers={
        "Sec-Fetch-Site": "same-origin", "Origin": "null"})  # no-referrer: Origin is "null"
    assert resp.status_code == 303


# --- size ---------------------------------------------------------------------------------


def test_an_oversized_body_is_refused_with_413(fund):
    big = "x" * (MIB + 1)
    anon = fund.app.test_client()
    token = csrf_token(anon.get("/sign-in").get_data(as_text=True))
    resp = anon.post("/sign-in", data={"csrf_token": token, "email": big, "password": "x"})
    assert resp.status_code == 413 and resp.mimetype == "text/html"
    assert_protected(resp, "413 page")

    member = sign_in(fund, "member")
    token = csrf_token(member.get("/my/requests/new").get_data(as_text=True))
    form = {"csrf_token": token, "amount": "10.00", "category": "rent",
            "needed_by": (dt.date.today() + dt.timedelta(days=3)).isoformat(),
            "payout_method": "bank", "story": big}
    resp = member.post("/my/requests/new", data=form)
    assert resp.status_code == 413 and "too large" in resp.get_data(as_text=True)
    # just under the limit it is an ordinary refusal that names the field
    form["story"] = "x" * 400_000
    resp = member.post("/my/requests/new", data=form)
    assert resp.status_code == 422 and 'id="story-error"' in resp.get_data(as_text=True)

    body = ('{"amount": "10.00", "category": "rent", "needed_by": "2099-01-01", '
            '"payout_method": "bank", "story": "' + big + '"}')
    for extra in ({}, {"Idempotency-Key": "big-1"}):
        resp = anon.post("/api/v1/requests", data=body, content_type="application/json",
                         headers={**fund.headers("member"), **extra})
        assert resp.status_code == 413, extra
        assert resp.get_json()["error"]["code"] == "too_large"
        assert_protected(resp, "413 API")
    with fund.ctx():
        from app.workflow import requests
        assert requests.list_requests(fund.people["member"]) == []


# --- a real browser ------------------------------------------------------------------------


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Chromium logs a page answered 403/404 as a console error; those answers are expected.
EXPECTED = re.compile(r"Failed to load resource: the server responded with a status of 40[34]")


def _certificate(folder: Path) -> tuple[str, str]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(cert), str(key)


@pytest.mark.slow
def test_no_page_breaks_under_the_policy_in_chromium(fund, tmp_path):
    """Every page each role can open, in Chromium over HTTPS with production settings:
    no CSP violation and no other console error, the stylesheet and the chart styled, and
    the forms (sign in, ask, switch language) work."""
    if not Path(CHROMIUM).exists() or shutil.which("openssl") is None:
        message = "chromium or openssl is missing (`make test` installs chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    playwright = pytest.importorskip("playwright.sync_api")
    from werkzeug.serving import make_server

    app = another_app(fund, TESTING=True, CAREBOOKS_ENV="production")
    server = make_server("127.0.0.1", 0, app, threaded=True,
                         ssl_context=_certificate(tmp_path))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"https://127.0.0.1:{server.server_port}"
    code = ask(fund, amount="10.00")
    problems: list[str] = []
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-quic"])

            def tab(cookie: str | None = None):
                context = browser.new_context(ignore_https_errors=True)
                if cookie:
                    context.add_cookies([{"name": HOST_COOKIE, "value": cookie,
                                          "url": base, "secure": True, "httpOnly": True,
                                          "sameSite": "Lax"}])
                page = context.new_page()
                page.on("console", lambda m: problems.append(f"{page.url}: {m.type}: {m.text}")
                        if m.type in ("error", "warning") and not EXPECTED.match(m.text)
                        else None)
                page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))
                return page

            def visit(page, path: str, who: str):
                resp = page.goto(base + path)
                if resp.status >= 500:
                    problems.append(f"{who} {path}: {resp.status}")
                if "html" in (resp.headers.get("content-type") or ""):
                    sheets = page.evaluate("document.styleSheets.length && "
                                           "document.styleSheets[0].cssRules.length")
                    if not sheets:
                        problems.append(f"{who} {path}: the stylesheet did not load")

            # anonymous, then the member signs in with the real form and asks for help
            anon = tab()
            for path in ("/", "/sign-in", "/reports", "/no-such-page", "/my/requests"):
                visit(anon, path, "anon")
            anon.goto(base + "/")
            # the chart is styled by its classes (no month is published here, so no bars:
            # its axis is what is drawn)
            size = anon.evaluate("getComputedStyle(document.querySelector('.chart .axis'))"
                                 ".fontSize")
            assert size == "13px", size
            anon.goto(base + "/sign-in")
            anon.fill("input[name=email]", "member@example.org")
            anon.fill("input[name=password]", PASSWORD)
            anon.click("main button[type=submit]")
            assert anon.url.endswith("/my/requests"), anon.url
            anon.goto(base + "/my/requests/new")
            anon.fill("input[name=amount]", "12.00")
            anon.fill("textarea[name=story]", "The bus pass ran out.")
            anon.click("main button[type=submit]")
            assert re.search(r"/my/requests/R-\d{4}-\d+$", anon.url), anon.url
            anon.click("header form.lang button[lang=es]")
            assert anon.evaluate("document.documentElement.lang") == "es"

            # every GET page of every role (the matrix), signed in by cookie
            for role in ("member", "other", "treasurer", "admin"):
                client = sign_in(fund, {"other": "member2"}.get(role, role), app.test_client(),
                                 base_url=base)
                cookie = client.get_cookie(HOST_COOKIE, domain="127.0.0.1") or \
                    client.get_cookie(HOST_COOKIE)
                page = tab(cookie.value)
                for (method, rule), expected in sorted(MATRIX.items()):
                    if method == "GET" and not rule.startswith(("/api/", "/static/")) and \
                            not rule.endswith((".zip", ".json", ".csv", ".pdf")) and \
                            expected[ROLES.index(role)] != 303:   # downloads are no pages
                        visit(page, path_for(fund, rule, code), role)
            # the detector works: an inline style is refused, and the refusal is seen
            before = len(problems)
            anon.evaluate("document.head.insertAdjacentHTML('beforeend', "
                          "'<style>body{color:red}</style>')")
            anon.wait_for_timeout(200)
            refused = problems[before:]
            del problems[before:]
            assert any("Content Security Policy" in m for m in refused), refused
            browser.close()
    finally:
        server.shutdown()
    assert not problems, "\n".join(problems)
