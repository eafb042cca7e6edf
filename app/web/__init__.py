"""The pages: sign-in, members, treasurers, admins and the community.

Server-rendered, working without JavaScript. Every form is a Flask-WTF form with a CSRF
token, answered with POST-redirect-GET; nothing changes on GET. A route parses the form,
calls one workflow function, and renders; refusals from the workflow are shown next to
the field they name, in an error summary linked to it.
"""

from __future__ import annotations

import functools

from flask import Flask, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFProtect

from app.models import Person, Role
from app.workflow.errors import Unauthenticated, WorkflowError
from ledger import LedgerError

login_manager = LoginManager()
csrf = CSRFProtect()


class WebUser(UserMixin):
    """The signed-in person; `get_id` is the session token, so the server can end it."""

    def __init__(self, person: Person, token: str):
        self.person = person
        self.token = token

    def get_id(self) -> str:
        return self.token

    def has(self, role: Role | str) -> bool:
        return self.person.has(role)


@login_manager.user_loader
def _load(token: str):
    from app.workflow.sessions import person_for_session

    try:
        person, _row = person_for_session(token)
    except Unauthenticated:
        return None
    return WebUser(person, token)


def person() -> Person:
    """The signed-in person (routes are wrapped in `signed_in` or `role`)."""
    return current_user.person


def signed_in(view):
    """Send anyone not signed in to the sign-in page, then back here."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("account.sign_in", next=request.path), 303)
        return view(*args, **kwargs)

    return wrapper


def role(name: str):
    """Only people holding role `name` (403 for others, sign-in for anonymous)."""

    def decorate(view):
        @functools.wraps(view)
        @signed_in
        def wrapper(*args, **kwargs):
            if not current_user.has(name):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def any_role(*names: str):
    """Only people holding one of `names` (403 for others, sign-in for anonymous)."""

    def decorate(view):
        @functools.wraps(view)
        @signed_in
        def wrapper(*args, **kwargs):
            if not any(current_user.has(n) for n in names):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def recent(view):
    """Approving, paying, sealing and policy changes need a sign-in at most 15 minutes old;
    otherwise ask again (password, and the code for treasurers and admins), then come back."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        from app.workflow.sessions import is_recent

        if request.method == "POST" and not is_recent(current_user.token):
            # where to come back to: this page if it can be shown (GET), else the page the
            # form was on — browsers send no Referer here (Referrer-Policy: no-referrer)
            rule = request.url_rule
            back = request.path if rule and "GET" in rule.methods \
                else request.path.rsplit("/", 1)[0]
            flash(_("For this, please confirm it is you (it has been more than 15 minutes)."),
                  "info")
            keep_pending(request.path)
            return redirect(url_for("account.confirm", next=back), 303)
        return view(*args, **kwargs)

    return wrapper


PENDING_MAX = 3000  # characters of form data kept in the (signed) session cookie


def keep_pending(path: str) -> None:
    """Keep what a refused-for-age POST carried (not its CSRF token, not files), so that
    after confirming it is you the same action is shown again, filled, one click away."""
    from flask import session

    fields = [(k, v) for k, v in request.form.items(multi=True) if k != "csrf_token"]
    if sum(len(k) + len(v) for k, v in fields) <= PENDING_MAX and not request.files:
        session["pending"] = {"path": path, "fields": fields}


def require_filled(form) -> None:
    """Every required field (app.web.forms.Required) left empty gets its own error, so a
    form sent empty shows every missing answer at once, not only the workflow's first."""
    for field in form:
        if not field.flags.required or field.type == "CSRFTokenField":
            continue
        value = field.data
        if value in (None, "", [], False) or (isinstance(value, str) and not value.strip()) \
                or (field.type == "FileField" and not getattr(value, "filename", None)):
            if not field.errors:
                field.errors = [_("This is required.")]


def attach(form, exc: WorkflowError, fields: dict | None = None) -> None:
    """Show a workflow refusal next to the field it names (or above the form); a refusal
    that gathers several (`exc.errors`, app.workflow.inputs.gather) shows every one.
    `fields` maps the workflow's field names to the form's where they differ."""
    from app.web.words import refusal

    for one in getattr(exc, "errors", None) or [exc]:
        message = refusal(one)
        name = (fields or {}).get(one.field, one.field)
        field = getattr(form, name, None) if name else None
        if field is not None and hasattr(field, "errors"):
            prefix = f"{one.field}: "
            if message.startswith(prefix):
                message = message[len(prefix):]
            if isinstance(field.errors, tuple):
                field.errors = list(field.errors)
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)
    require_filled(form)


def _http_error(exc):
    if request.path.startswith("/api/"):
        from app.api import _routing_error
        return _routing_error(exc)
    messages = {403: _("This page is not for your role."),
                404: _("There is nothing here."),
                405: _("That is not how this page is used."),
                413: _("What you sent is too large.")}
    return render_template("error.html", message=messages.get(exc.code, exc.description),
                           status=exc.code), exc.code


def init_app(app: Flask) -> None:
    """Register login, CSRF and every page blueprint."""
    from app.web import account, admin, auditor, imports, intake, member, public, treasurer

    from app.web import limits

    limits.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "account.sign_in"
    csrf.init_app(app)
    for bp in (public.bp, account.bp, member.bp, treasurer.bp, imports.bp, admin.bp,
               auditor.bp, intake.bp):
        app.register_blueprint(bp)
    from app.web import custody  # issue 21
    from app.web import exports, money, start  # issue 18

    for bp in (custody.bp, money.bp, start.bp, exports.bp):
        app.register_blueprint(bp)
    from app.api import bp as api_bp
    csrf.exempt(api_bp)  # bearer tokens, no cookies

    @app.errorhandler(WorkflowError)
    def _refused(exc: WorkflowError):
        """A refusal outside a form (a guessed code, a button pressed twice): a plain page."""
        from app.api import STATUS, workflow_error_response

        if request.path.startswith("/api/"):
            return workflow_error_response(exc)
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        from app.web.words import refusal
        return render_template("error.html", message=refusal(exc), status=status), status

    @app.errorhandler(LedgerError)
    def _books_down(exc: LedgerError):
        """The books cannot be read or written (a torn file, a full disk, writes stopped):
        say so plainly, with the ledger's own words, instead of a crash page."""
        from app.api import _ledger_error

        if request.path.startswith("/api/"):
            return _ledger_error(exc)
        return render_template("error.html", message=exc.message, status=503), 503

    for code in (403, 404, 405, 413):
        app.register_error_handler(code, _http_error)

    @app.after_request
    def _audit_denied(response):
        """Every refused access (401, 403) goes to the audit log: who, what, not why."""
        guessed = (response.status_code == 404 and "code" in (request.view_args or {})
                   and (current_user.is_authenticated or "api_person" in g))
        if response.status_code in (401, 403) or guessed:  # a guessed or someone else's code
            from app.db import session_scope
            from app.workflow import audit

            who = (current_user.person.id if current_user.is_authenticated
                   else g.api_person.id if "api_person" in g else None)
            try:
                with session_scope() as session:
                    audit.record(session, who, "access.denied", request.path[:64],
                                 method=request.method, status=response.status_code)
            except Exception:  # noqa: BLE001  (never turn a refusal into a crash)
                app.logger.exception("could not audit a refused access")
        return response

    @app.before_request
    def _notices():
        """Changes of who holds power, told to every other admin and treasurer on their
        next page view (app.workflow.roles)."""
        if request.method != "GET" or request.path.startswith(("/api/", "/static/")) \
                or not current_user.is_authenticated \
                or not (current_user.has(Role.admin) or current_user.has(Role.treasurer)):
            return
        from app.workflow.roles import notice_text, take_notices

        for kind, params in take_notices(current_user.person.id):
            flash(notice_text(kind, params), "info")

    @app.context_processor
    def _user():
        from app.fund import books
        try:
            name = books().title
        except Exception:  # noqa: BLE001  (the books' own error page says what is wrong)
            name = "Carebooks"
        return {"me": current_user if current_user.is_authenticated else None,
                "Role": Role, "fund_name": name}

    from app.web import chart, filters
    filters.init_app(app)
    chart.init_app(app)
