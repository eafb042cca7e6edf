"""Signing in (password, then a one-time code for treasurers and admins), signing out,
confirming it is still you before money moves, changing a password, choosing a
language, and accepting an invitation."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import (Blueprint, flash, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.fund import books
from app.i18n import LANGUAGES
from app.models import Person
from app.web import WebUser, attach, csrf, person, require_filled, signed_in
from app.web.forms import (AcceptInvitationForm, ClaimForm, CodeForm, ConfirmForm, EmptyForm,
                           LanguageForm, NotifyForm, PasswordChangeForm, ResetForm, SignInForm)
from app.web.limits import (PER_CODE, address_limit, account_limit, code_limit, limiter,
                            signed_in_account_key, signed_in_code_key)
from app.workflow import people, sessions
from app.workflow.errors import NotFound, Unauthenticated, WorkflowError

bp = Blueprint("account", __name__)
PENDING_SECONDS = 300


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
        return url_for("admin.home")  # the admin's dashboard
    if user.has("intake"):
        return url_for("intake.filed")
    return url_for("member.my_requests")


def _finish(person_id: int):
    """Both factors passed: a new server-side session, then where they were going."""
    target = session.get("next")
    token = sessions.start_session(person_id)
    session.clear()
    with_person = _person(person_id)
    login_user(WebUser(with_person, token))
    return redirect(_safe_next(target) if target else home_for(current_user), 303)


def _person(person_id: int) -> Person:
    from app.db import session_scope
    with session_scope() as s:
        return s.get(Person, person_id)


def _pending() -> int | None:
    """The person who passed the password step in the last five minutes, if any."""
    pending = session.get("pending")
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        return None
    return pending["id"]


def _ticket() -> str | None:
    """The one-time key that opens the password's key held between the sign-in steps."""
    return (session.get("pending") or {}).get("ticket")


@bp.route("/sign-in", methods=["GET", "POST"])
@address_limit()
@account_limit()
def sign_in():
    """Step one: email and password."""
    form = SignInForm()
    if form.validate_on_submit():
        try:
            who = sessions.check_password(form.email.data or "", form.password.data or "")
        except Unauthenticated as exc:
            form.form_errors.append(exc.message)
            require_filled(form)
        else:
            target = request.args.get("next")
            session.clear()
            if target:
                session["next"] = target
            if not who.needs_second_factor:
                return _finish(who.id)
            # the password's key, held for the next step: its one-time key in this cookie
            ticket = sessions.factor_ticket(who.id, form.password.data or "")
            session["pending"] = {"id": who.id, "at": time.time(), "ticket": ticket}
            step = "account.code" if who.has_second_factor else "account.setup"
            return redirect(url_for(step), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("account/sign_in.html", form=form), status


@bp.route("/sign-in/code", methods=["GET", "POST"])
@code_limit(lambda: f"code:{_pending()}")
def code():
    """Step two: the six-digit code from the authenticator app (or a recovery code)."""
    person_id = _pending()
    if person_id is None:
        return redirect(url_for("account.sign_in"), 303)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            sessions.check_second_factor(person_id, form.code.data or "", _ticket())
        except Unauthenticated as exc:
            attach(form, WorkflowError(exc.message, field="code"))
        else:
            return _finish(person_id)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("account/code.html", form=form), status


@bp.route("/sign-in/setup", methods=["GET", "POST"])
@limiter.limit(PER_CODE, methods=["POST"], key_func=lambda: f"setup:{_pending()}")  # own
def setup():
    """First sign-in of a treasurer or admin: connect an authenticator app."""
    person_id = _pending()
    if person_id is None:
        return redirect(url_for("account.sign_in"), 303)
    who = _person(person_id)
    if who.has_second_factor:
        return redirect(url_for("account.code"), 303)
    # server-side, wrapped under the password's key; not in the cookie
    secret = sessions.setup_secret(person_id, _ticket())
    form = CodeForm()
    form.code.label.text = _("The 6-digit code from your authenticator app")  # no recovery codes yet
    if form.validate_on_submit():
        try:
            codes = sessions.confirm_totp(person_id, secret, form.code.data or "",
                                          ticket=_ticket())
        except Unauthenticated as exc:
            attach(form, WorkflowError(exc.message, field="code"))
        else:
            _finish(person_id)
            sessions.keep_shown_once(current_user.token, codes)  # in the session's row
            return redirect(url_for("account.recovery_codes"), 303)
    status = 422 if form.errors or form.form_errors else 200
    uri = sessions.totp_uri(secret, sessions.login_of(who), books().title)
    return render_template("account/setup.html", form=form, secret=secret, uri=uri,
                           qr=qr_svg(uri, _("QR code to scan with your authenticator app"))), status


def qr_svg(text: str, title: str):
    """`text` as a QR code, an SVG drawn here (segno): nothing is fetched from elsewhere,
    and the key never leaves the page."""
    import io

    import segno
    from markupsafe import Markup

    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", xmldecl=False, svgns=True, nl=False,
                                     border=2, svgclass="qr", lineclass=None, omitsize=True,
                                     title=title)
    return Markup(out.getvalue().decode().replace("<svg ", '<svg role="img" ', 1))


@bp.get("/account/recovery-codes")
@signed_in
def recovery_codes():
    """The recovery codes, shown once right after the second factor is set up."""
    codes = sessions.take_shown_once(current_user.token)
    if not codes:
        return redirect(home_for(current_user), 303)
    return render_template("account/recovery_codes.html", codes=codes, home=home_for(current_user))


@bp.route("/account/confirm", methods=["GET", "POST"])
@signed_in
@address_limit()
@account_limit(signed_in_account_key)
@code_limit(signed_in_code_key)
def confirm():
    """Prove it is still you before approving, paying, sealing or changing the policy."""
    form = ConfirmForm()
    target = request.values.get("next")
    if form.validate_on_submit():
        try:
            sessions.confirm_again(current_user.token, form.password.data or "",
                                   form.code.data or None)
        except Unauthenticated as exc:
            form.form_errors.append(exc.message)
            require_filled(form)
        else:
            from flask import session
            pending = session.pop("pending", None)
            if pending and _safe_next(pending.get("path")) == pending.get("path"):
                # the action asked for before confirming, filled, one click from done
                return render_template("account/continue.html", pending=pending,
                                       back=_safe_next(target))
            flash(_("Thank you. You can go on."), "success")
            return redirect(_safe_next(target), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("account/confirm.html", form=form, next=target,
                           needs_code=person().needs_second_factor), status


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
@address_limit()
@account_limit(signed_in_account_key)
def password():
    """Change your password; every session of yours ends, this one too."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            sessions.change_password(person().id, form.current.data or "", form.new.data or "")
        except Unauthenticated as exc:
            attach(form, WorkflowError(exc.message, field="current"))
        except WorkflowError as exc:
            exc.field = "new" if exc.field == "password" else exc.field
            attach(form, exc)
        else:
            logout_user()
            session.clear()
            flash(_("Your password is changed. Please sign in again."), "success")
            return redirect(url_for("account.sign_in"), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("account/password.html", form=form), status


@bp.get("/account/tokens")
@signed_in
def tokens_page():
    """Your API tokens (an admin sees everyone's), each with a button to revoke it."""
    from app.workflow import tokens

    me = person()
    rows = tokens.list_tokens(me, everyone=me.has("admin"))
    return render_template("account/tokens.html", tokens=rows, form=EmptyForm())


@bp.post("/account/tokens/<int:token_id>/revoke")
@signed_in
def revoke_token(token_id: int):
    """Revoke a token: it stops working at once."""
    from app.workflow import tokens

    if EmptyForm().validate_on_submit():
        tokens.revoke(person(), token_id)
        flash(_("The token is revoked."), "success")
    return redirect(url_for("account.tokens_page"), 303)


@bp.route("/account/notifications", methods=["GET", "POST"])
@signed_in
def notifications():
    """Choose how you are told there is news: not at all, by email, or (treasurers) a
    daily digest (docs/notifications.md)."""
    from app.workflow import notify

    me = person()
    form = NotifyForm()
    choices = [("none", _("Not at all: I will sign in to look")),
               ("email", _("An email that says only that there is news"))]
    if me.has("treasurer"):
        choices.append(("digest", _("One email a day with counts only")))
    if not me.email:  # nothing can be sent to someone without an address
        choices = choices[:1]
    form.notify.choices = choices
    form.lang.choices = list(LANGUAGES.items())
    if form.validate_on_submit():
        try:
            notify.set_choice(me.id, form.notify.data, form.lang.data)
        except WorkflowError as exc:
            attach(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("account.notifications"), 303)
    elif request.method == "GET":
        form.notify.data, form.lang.data = me.notify, me.lang
    status = 422 if form.errors or form.form_errors else 200
    return render_template("account/notifications.html", form=form,
                           no_email=not me.email), status


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
@csrf.exempt
def language():
    """Switch the language (kept in the session)."""
    form = LanguageForm()
    if form.validate_on_submit() and form.lang.data in LANGUAGES:
        session["lang"] = form.lang.data
    return redirect(_safe_next(form.next.data), 303)


@bp.get("/invitation/<token>")
def open_invitation(token: str):
    """The link an admin gave: its token is traded for a secret held in this browser's
    session, and the browser goes on to /invitation — the token never reaches a second
    access-log line, and the one it reached works no more."""
    try:
        secret = people.open_invitation(token)
    except NotFound as exc:
        return render_template("account/invitation_gone.html", message=exc.message), 404
    session["invitation"] = secret
    return redirect(url_for("account.accept"), 303)


@bp.route("/invitation", methods=["GET", "POST"])
def accept():
    """Create your account from the invitation opened in this browser."""
    secret = session.get("invitation") or ""
    try:
        invitation = people.invitation_for(secret)
    except NotFound as exc:
        return render_template("account/invitation_gone.html", message=exc.message), 404
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            people.accept_invitation(secret, form.password.data or "",
                                     form.handle.data or None)
        except WorkflowError as exc:
            attach(form, exc)
        else:
            session.pop("invitation", None)
            flash(_("Your account is ready. Please sign in."), "info")
            return redirect(url_for("account.sign_in"), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("account/accept.html", form=form, email=invitation.email), status


# -- people without email: a printed claim code, and recovery codes (app/workflow/intake.py)

@bp.route("/claim", methods=["GET", "POST"])
@address_limit()
def claim():
    """Trade the code on a printed sheet for an account: choose a passphrase; then the
    recovery codes are shown once."""
    from app.workflow import intake

    form = ClaimForm()
    if form.validate_on_submit():
        try:
            who, codes = intake.claim(form.code.data or "", form.password.data or "")
        except WorkflowError as exc:
            attach(form, exc)
        else:
            session.clear()
            if who.needs_second_factor:  # signs in the usual way, with the code step
                return _codes_page(codes, who.handle)
            token = sessions.start_session(who.id)
            login_user(WebUser(_person(who.id), token))
            sessions.keep_shown_once(token, codes)
            return redirect(url_for("account.claim_codes"), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("account/claim.html", form=form), status


def _codes_page(codes: list[str], handle: str):
    return render_template("account/claim_codes.html", codes=codes, handle=handle)


@bp.get("/claim/codes")
@signed_in
def claim_codes():
    """The recovery codes, shown once right after an account is claimed."""
    codes = sessions.take_shown_once(current_user.token)
    if not codes:
        return redirect(home_for(current_user), 303)
    return _codes_page(codes, person().handle)


@bp.route("/recover", methods=["GET", "POST"])
@address_limit()
@account_limit(lambda: "account:" + (request.form.get("handle") or "").strip().lower())
def recover():
    """A forgotten passphrase (people without email): your name here, one recovery code,
    and a new passphrase."""
    from app.workflow import intake

    form = ResetForm()
    if form.validate_on_submit():
        try:
            intake.reset_passphrase(form.handle.data or "", form.code.data or "",
                                    form.password.data or "")
        except Unauthenticated as exc:
            form.form_errors.append(exc.message)
        except WorkflowError as exc:
            attach(form, exc)
        else:
            flash(_("Your passphrase is changed. Please sign in with it."), "success")
            return redirect(url_for("account.sign_in"), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("account/recover.html", form=form), status
