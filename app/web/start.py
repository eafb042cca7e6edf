"""The first-run page of a fund's books (issue 18): while no month is sealed, an admin (or
a treasurer) moves the day the books begin earlier and enters what each cash account held
that day, so the months since can be imported and sealed in order."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.fund import books
from app.web import attach, person, recent, signed_in
from app.web.forms import StartForm
from app.workflow.errors import WorkflowError
from app.workflow.start import move_start

bp = Blueprint("start", __name__, url_prefix="/admin/start")


def _allowed():
    me = person()
    if not (me.has("admin") or me.has("treasurer")):
        abort(403)


def _view(form, status: int = 200):
    state = books().state
    first = min(state.opens.values()) if state.opens else None
    accounts = [{"account": a, "leaf": a.rsplit(":", 1)[-1].lower(),
                 "opening": books().entry(f"opening:{a}") is not None,
                 "value": request.form.get(f"opening-{a.rsplit(':', 1)[-1].lower()}", "")}
                for a in state.cash_accounts()]
    return render_template("admin/start.html", form=form, first=first,
                           sealed=state.sealed_through, accounts=accounts), status


@bp.route("/", methods=["GET", "POST"])
@signed_in
@recent
def start_page():
    """Where the books begin; move it earlier with opening balances (nothing sealed yet)."""
    _allowed()
    form = StartForm()
    if form.validate_on_submit():
        openings = {a: v.strip() for a in books().state.cash_accounts()
                    if (v := request.form.get(f"opening-{a.rsplit(':', 1)[-1].lower()}", ""))
                    .strip()}
        try:
            made = move_start(person(), form.start.data or "", openings)
        except WorkflowError as exc:
            attach(form, exc)
        else:
            flash(_("The books now begin on %(day)s. Import the months since, oldest first, "
                    "then close each month in order.", day=made["start"]), "success")
            return redirect(url_for("start.start_page"), 303)
    elif form.is_submitted():
        form.form_errors.append(_("The form expired; please try again."))
    elif books().state.opens:
        form.start.data = min(books().state.opens.values()).isoformat()
    status = 422 if form.errors or form.form_errors else 200
    return _view(form, status)
