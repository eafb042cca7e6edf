"""Browser-facing protections applied to every response (see docs/security.md).

- Response headers: a Content-Security-Policy with no `unsafe-inline` (the app has no
  scripts at all, and its styles are one same-origin stylesheet), `nosniff`,
  `Referrer-Policy: no-referrer`, `Cache-Control: no-store` for anyone signed in (and for
  the API's token-guarded answers), HSTS over HTTPS, COOP, CORP and a Permissions-Policy.
- Cookies: always HttpOnly and SameSite=Lax; Secure and named `__Host-carebooks` in
  production. Production is `CAREBOOKS_ENV=production`; without it, an app that is neither
  in debug nor testing mode still marks its cookies Secure (and uses the `__Host-` name)
  on every request that came over HTTPS, so a deployment that forgot the variable does
  not send its session over plain HTTP.
- Behind a reverse proxy (`CAREBOOKS_BEHIND_PROXY=1`), werkzeug's ProxyFix trusts one hop
  of `X-Forwarded-For/-Proto/-Host`, so `request.is_secure` and the client's address are
  right. Without it those headers are ignored (anyone could send them).
- Cross-site form posts are refused from the browser's own `Sec-Fetch-Site`/`Origin`
  headers. This replaces Flask-WTF's HTTPS Referer check, which cannot work with
  `Referrer-Policy: no-referrer` (the browser sends no Referer, so every form would fail).
  The CSRF token is still required on every form but the language switch (its form is
  on the cacheable public page, which holds nothing personal: app.web.forms.LanguageForm).
"""

from __future__ import annotations

import os

from flask import Flask, abort, g, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = "; ".join([
    "default-src 'none'",
    "script-src 'none'",         # no JavaScript anywhere (docs/web.md)
    "style-src 'self'",          # one stylesheet; no style attributes, no <style>
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
])
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=63072000; includeSubDomains"
HOST_COOKIE = "__Host-carebooks"
PLAIN_COOKIE = "session"
ALWAYS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": PERMISSIONS,
}
# API answers anyone may read without a token (everything else under /api/ needs one).
PUBLIC_API = {"api.get_summary", "api.openapi"}


def is_production(app: Flask) -> bool:
    """`CAREBOOKS_ENV=production` (environment, or the app's config for tests)."""
    value = app.config.get("CAREBOOKS_ENV", os.environ.get("CAREBOOKS_ENV", ""))
    return str(value).strip().lower() == "production"


def secure_cookies(app: Flask) -> bool:
    """Whether this response's cookies are Secure and `__Host-` named.

    Always in production; otherwise on HTTPS requests when not debugging or testing.
    """
    if is_production(app):
        return True
    if app.debug or app.testing:
        return False
    return has_request_context() and request.is_secure


class HttpsAwareSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the name and Secure flag chosen per request."""

    def get_cookie_name(self, app: Flask) -> str:
        return HOST_COOKIE if secure_cookies(app) else app.config["SESSION_COOKIE_NAME"]

    def get_cookie_secure(self, app: Flask) -> bool:
        return secure_cookies(app) or bool(app.config["SESSION_COOKIE_SECURE"])

    def get_cookie_path(self, app: Flask) -> str:
        return "/" if secure_cookies(app) else super().get_cookie_path(app)

    def get_cookie_domain(self, app: Flask) -> str | None:
        return None if secure_cookies(app) else super().get_cookie_domain(app)


def _signed_in() -> bool:
    """The request carries a session naming a person (Flask-Login's `_user_id`)."""
    return bool(g.get("carebooks_signed_in")) or "_user_id" in session


def _needs_token(endpoint: str | None) -> bool:
    return request.path.startswith("/api/") and (
        endpoint not in PUBLIC_API or "Authorization" in request.headers)


def _refuse_cross_site() -> None:
    """A state-changing request a browser sent from another site is refused (403)."""
    if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith("/api/"):
        return
    site = request.headers.get("Sec-Fetch-Site")
    if site in ("cross-site", "same-site"):
        abort(403)
    origin = request.headers.get("Origin")
    if origin and origin != "null" and origin != request.host_url.rstrip("/"):
        abort(403)


def init_app(app: Flask) -> None:
    """Attach the response headers and cookie settings."""
    behind_proxy = app.config.get("CAREBOOKS_BEHIND_PROXY",
                                  os.environ.get("CAREBOOKS_BEHIND_PROXY", ""))
    if str(behind_proxy).strip().lower() in ("1", "true", "yes"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    production = is_production(app)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # Replaced by _refuse_cross_site: with no Referer sent, it would refuse every form.
        WTF_CSRF_SSL_STRICT=False,
    )
    if production:
        app.config.update(SESSION_COOKIE_NAME=HOST_COOKIE, SESSION_COOKIE_SECURE=True,
                          SESSION_COOKIE_PATH="/", SESSION_COOKIE_DOMAIN=None,
                          REMEMBER_COOKIE_SECURE=True)
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = HttpsAwareSessions()

    @app.before_request
    def _before():
        g.carebooks_signed_in = "_user_id" in session
        _refuse_cross_site()

    @app.after_request
    def _headers(response):
        for name, value in ALWAYS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if _signed_in() or _needs_token(request.endpoint):
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response
