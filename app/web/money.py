"""A treasurer's Money page (issue 18): the fund's money movements other than aid and
donations — a transfer between its own accounts, a running cost, a donation given back,
an aid payment that came back — each one form, one workflow call, and a redirect."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from app.fund import books
from app.web import attach, person, recent, role
from app.web.forms import CostForm, RefundForm, ReturnedForm, TransferForm
from app.workflow import donations, movements
from app.workflow.errors import WorkflowError

bp = Blueprint("money", __name__, url_prefix="/treasurer/money")
treasurer = role("treasurer")
_FORMS = {"transfer": TransferForm, "cost": CostForm, "refund": RefundForm,
          "returned": ReturnedForm}


def _forms(**given) -> dict:
    cash = [(a, a) for a in books().state.cash_accounts()]
    today = dt.date.today().isoformat()
    forms = {name: given.get(name) or cls(prefix=name) for name, cls in _FORMS.items()}
    forms["transfer"].from_account.choices = cash
    forms["transfer"].to_account.choices = cash
    forms["cost"].account.choices = cash
    forms["cost"].kind.choices = [(k, _("Fees") if k == "fees" else _("Other"))
                                  for k in movements.cost_kinds()]
    forms["returned"].account.choices = [("", _("The account it was paid from"))] + cash
    for name in ("transfer", "cost", "returned"):
        if name not in given:  # a form sent back keeps what was typed
            forms[name].date.data = today
    return forms


def _page(status: int = 200, **given):
    return render_template("treasurer/money.html", forms=_forms(**given),
                           items=movements.recent(person())), status


@bp.get("/")
@treasurer
def money_page():
    """The four forms and the latest transfers and running costs."""
    return _page()


def _step(name: str, call, done):
    form = _FORMS[name](prefix=name)
    _forms(**{name: form})  # its choices, before it is validated
    if form.validate_on_submit():
        try:
            made = call(form)
        except WorkflowError as exc:
            attach(form, exc)
        else:
            flash(done(made), "success")
            return redirect(url_for("money.money_page"), 303)
    elif not form.errors:
        form.form_errors.append(_("The form expired; please try again."))
    return _page(422, **{name: form})


@bp.post("/transfer")
@treasurer
@recent
def transfer():
    return _step("transfer", lambda f: movements.transfer(person(), {
        "amount": f.amount.data, "fee": f.fee.data or None, "from_account": f.from_account.data,
        "to_account": f.to_account.data, "date": f.date.data or None}),
        lambda m: _("Transfer %(code)s is recorded in the books.", code=m["code"]))


@bp.post("/cost")
@treasurer
@recent
def cost():
    return _step("cost", lambda f: movements.cost(person(), {
        "amount": f.amount.data, "kind": f.kind.data, "account": f.account.data,
        "date": f.date.data or None}),
        lambda m: _("Cost %(code)s is recorded in the books.", code=m["code"]))


@bp.post("/refund")
@treasurer
@recent
def refund():
    return _step("refund", lambda f: donations.refund(
        person(), (f.code.data or "").strip(), {"amount": f.amount.data or None}),
        lambda m: _("%(code)s: %(amount)s refunded in all.", code=m["code"],
                    amount=m["refunded"]))


@bp.post("/returned")
@treasurer
@recent
def returned():
    return _step("returned", lambda f: movements.return_payment(
        person(), (f.code.data or "").strip(), {
            "amount": f.amount.data or None, "account": f.account.data or None,
            "date": f.date.data or None}),
        lambda m: _("%(code)s is owed again: pay it anew or cancel the approval.",
                    code=m["code"]))
