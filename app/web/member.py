"""A member's pages: ask for aid, follow your requests, answer a question, withdraw."""

from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.fund import aid_categories
from app.web import attach, person, signed_in
from app.web.forms import (AnswerForm, EmptyForm, RequestForm, category_label,
                           payout_choices)
from app.workflow import receipts, requests
from app.workflow.errors import WorkflowError

bp = Blueprint("member", __name__, url_prefix="/my")


@bp.get("/requests")
@signed_in
def my_requests():
    """Your requests and where each one stands."""
    return render_template("member/list.html", items=requests.list_requests(person()))


@bp.route("/requests/new", methods=["GET", "POST"])
@signed_in
def ask():
    """Ask for aid."""
    form = RequestForm()
    form.category.choices = [(c, category_label(c)) for c in aid_categories()]
    form.payout_method.choices = payout_choices()
    if form.validate_on_submit():
        try:
            made = requests.submit(person(), {
                "amount": form.amount.data, "category": form.category.data,
                "needed_by": form.needed_by.data, "payout_method": form.payout_method.data,
                "story": form.story.data})
        except WorkflowError as exc:
            attach(form, exc)
        else:
            flash(_("Your request %(code)s was sent. A treasurer will look at it soon.",
                    code=made["code"]), "success")
            return redirect(url_for("member.detail", code=made["code"]), 303)
    elif not form.is_submitted():
        form.needed_by.data = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    status = 422 if form.errors or form.form_errors else 200
    return render_template("member/ask.html", form=form), status


@bp.get("/requests/<code>")
@signed_in
def detail(code: str):
    """One of your requests: its timeline in plain words."""
    item = requests.get(person(), code)
    return render_template("member/detail.html", item=item, answer_form=AnswerForm(),
                           withdraw_form=EmptyForm(), receipts=receipts.listing(code),
                           confirm_withdraw=request.args.get("confirm") == "withdraw")


@bp.get("/requests/<code>/receipts/<carebooks_id>.json")
@signed_in
def receipt(code: str, carebooks_id: str):
    """A receipt for one entry of your request (docs/verify.md)."""
    body = receipts.request_receipt(person(), code, carebooks_id)
    name = carebooks_id.replace(":", "-")
    return Response(json.dumps(body, indent=2) + "\n", mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="receipt-{name}.json"'})


@bp.post("/requests/<code>/answer")
@signed_in
def answer(code: str):
    """Answer a treasurer's question."""
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            requests.answer(person(), code, {"answer": form.answer.data})
        except WorkflowError as exc:
            if requests.get(person(), code)["status"] != "needs_info":
                flash(exc.message, "error")  # nothing waits for an answer: no form to show
                return redirect(url_for("member.detail", code=code), 303)
            attach(form, exc)
        else:
            flash(_("Thank you. Your answer was sent."), "success")
            return redirect(url_for("member.detail", code=code), 303)
    item = requests.get(person(), code)
    return render_template("member/detail.html", item=item, answer_form=form,
                           withdraw_form=EmptyForm(), receipts=receipts.listing(code)), 422


@bp.post("/requests/<code>/withdraw")
@signed_in
def withdraw(code: str):
    """Withdraw your request."""
    form = EmptyForm()
    if form.validate_on_submit():
        requests.withdraw(person(), code)
        flash(_("Your request was withdrawn."), "info")
    return redirect(url_for("member.detail", code=code), 303)
