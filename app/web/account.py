"""Signing in and out, choosing a language, and accepting an invitation."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.i18n import LANGUAGES
from app.web import WebUser, attach, signed_in
from app.web.forms import AcceptInvitationForm, EmptyForm, LanguageForm, SignInForm
from app.workflow import people, sessions
from app.workflow.errors import NotFound, Unauthenticated, WorkflowError

bp = Blueprint("account", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never another origin)."""
    if target and target.startswith("/") and not target.startswith("//") \
            and not urlsplit(target).netloc:
        return target
    return url_for("public.transparency")


def home_for(user) -> str:
    """Where a person lands after signing in."""
    if user.has("treasurer"):
        return url_for("treasurer.queue")
    if user.has("admin"):
        return url_for("admin.people_page")
    return url_for("member.my_requests")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Sign in with email and password."""
    form = SignInForm()
    if form.validate_on_submit():
        try:
            token, who = sessions.sign_in(form.email.data or "", form.password.data or "")
        except Unauthenticated as exc:
            form.form_errors.append(exc.message)
        else:
            session.clear()
            login_user(WebUser(who, token))
            target = request.args.get("next")
            return redirect(_safe_next(target) if target else home_for(current_user), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("account/sign_in.html", form=form), status


@bp.post("/sign-out")
@signed_in
def sign_out():
    """End this session on the server too."""
    form = EmptyForm()
    if form.validate_on_submit():
        sessions.sign_out(current_user.token)
        logout_user()
        session.clear()
        flash(_("You are signed out."), "info")
    return redirect(url_for("public.transparency"), 303)


@bp.post("/language")
def language():
    """Switch the language (kept in the session)."""
    form = LanguageForm()
    if form.validate_on_submit() and form.lang.data in LANGUAGES:
        session["lang"] = form.lang.data
    return redirect(_safe_next(form.next.data), 303)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept(token: str):
    """Create your account from a one-time invitation link."""
    try:
        invitation = people.invitation_for(token)
    except NotFound as exc:
        return render_template("account/invitation_gone.html", message=exc.message), 404
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            people.accept_invitation(token, form.password.data or "", form.handle.data or None)
        except WorkflowError as exc:
            attach(form, exc)
        else:
            flash(_("Your account is ready. Please sign in."), "info")
            return redirect(url_for("account.sign_in"), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("account/accept.html", form=form, email=invitation.email), status
