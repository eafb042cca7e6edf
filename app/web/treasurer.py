"""A treasurer's pages: the queue, a request (what approving would do, and why a button
is disabled), payments, donations, the dashboard, and closing a month."""

from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.fund import books, donation_categories
from app.web import attach, person, recent, role
from app.web.forms import (ApproveForm, DonationForm, EmptyForm, PaymentForm, QuestionForm,
                           ReasonForm, category_label)
from app.workflow import donations, months, requests, summary
from app.workflow.errors import Conflict, IllegalTransition, WorkflowError

bp = Blueprint("treasurer", __name__, url_prefix="/treasurer")
treasurer = role("treasurer")


@bp.get("/")
@treasurer
def dashboard():
    """Cash, committed, available, this month in and out."""
    return render_template("treasurer/dashboard.html", d=summary.dashboard())


@bp.get("/queue")
@treasurer
def queue():
    """Open requests, soonest needed first, with what each waits for."""
    items = [r for r in requests.list_requests(person())
             if r["status"] in ("submitted", "needs_info", "approved", "partially_paid")]
    me = person().handle
    for r in items:
        r["waits_on_me"] = (r["status"] in ("approved", "partially_paid")
                            or (r["status"] == "submitted" and r["member"] != me
                                and me not in [a["by"] for a in r["approvals"]]))
    return render_template("treasurer/queue.html", items=items)


def _request_page(code: str, status: int = 200, **forms):
    item = requests.get(person(), code)
    preview = requests.approval_preview(person(), code)
    pay = forms.get("pay_form") or PaymentForm()
    pay.account.choices = [(a, a) for a in books().state.cash_accounts()]
    if not pay.is_submitted():
        pay.amount.data = item["outstanding"]
        pay.date.data = dt.date.today().isoformat()
    approve = forms.get("approve_form") or ApproveForm()
    if not approve.is_submitted():
        approve.amount.data = str(preview["amount"])
    return render_template(
        "treasurer/request.html", item=item, preview=preview, approve_form=approve,
        deny_form=forms.get("deny_form") or ReasonForm(prefix="deny"),
        ask_form=forms.get("ask_form") or QuestionForm(),
        cancel_form=forms.get("cancel_form") or ReasonForm(prefix="cancel"),
        pay_form=pay), status


@bp.get("/requests/<code>")
@treasurer
def request_page(code: str):
    """One request, with what approving would do before anyone clicks."""
    return _request_page(code)


def _step(code: str, form, form_name: str, call, done: str):
    if form.validate_on_submit():
        try:
            call()
        except (IllegalTransition, Conflict) as exc:
            # the request moved on (another treasurer, a second click): its page now shows
            # other forms, so say why here and show it as it is
            flash(exc.message, "error")
            return redirect(url_for("treasurer.request_page", code=code), 303)
        except WorkflowError as exc:
            status = requests.get(person(), code)["status"]
            if status not in SHOWN[form_name]:  # that form is not on the page now
                flash(exc.message, "error")
                return redirect(url_for("treasurer.request_page", code=code), 303)
            attach(form, exc)
        else:
            flash(done, "success")
            return redirect(url_for("treasurer.request_page", code=code), 303)
    return _request_page(code, 422, **{form_name: form})


# Which form the request page shows in which status (templates/treasurer/request.html).
SHOWN = {"approve_form": {"submitted"}, "ask_form": {"submitted"},
         "deny_form": {"submitted", "needs_info"},
         "pay_form": {"approved", "partially_paid"},
         "cancel_form": {"approved", "partially_paid"}}


@bp.post("/requests/<code>/approve")
@treasurer
@recent
def approve(code: str):
    form = ApproveForm()
    return _step(code, form, "approve_form",
                 lambda: requests.approve(person(), code, {"amount": form.amount.data or None}),
                 _("Your approval of %(code)s is recorded.", code=code))


@bp.post("/requests/<code>/deny")
@treasurer
def deny(code: str):
    form = ReasonForm(prefix="deny")
    return _step(code, form, "deny_form",
                 lambda: requests.deny(person(), code, {"reason": form.reason.data}),
                 _("%(code)s was denied; the member sees your reason.", code=code))


@bp.post("/requests/<code>/ask")
@treasurer
def ask(code: str):
    form = QuestionForm()
    return _step(code, form, "ask_form",
                 lambda: requests.ask(person(), code, {"question": form.question.data}),
                 _("Your question was sent to the member."))


@bp.post("/requests/<code>/cancel")
@treasurer
@recent
def cancel(code: str):
    form = ReasonForm(prefix="cancel")
    return _step(code, form, "cancel_form",
                 lambda: requests.cancel(person(), code, {"reason": form.reason.data}),
                 _("The approval of %(code)s was cancelled.", code=code))


@bp.post("/requests/<code>/pay")
@treasurer
@recent
def pay(code: str):
    form = PaymentForm()
    form.account.choices = [(a, a) for a in books().state.cash_accounts()]
    return _step(code, form, "pay_form",
                 lambda: requests.pay(person(), code, {"amount": form.amount.data,
                                                       "account": form.account.data,
                                                       "date": form.date.data or None}),
                 _("The payment is recorded in the books."))


@bp.route("/donations", methods=["GET", "POST"])
@treasurer
def donations_page():
    """Record a donation; the list of donations."""
    form = DonationForm()
    form.account.choices = [(a, a) for a in books().state.cash_accounts()]
    form.category.choices = [(c, category_label(c)) for c in donation_categories()]
    if form.validate_on_submit():
        try:
            made = donations.record(person(), {
                "amount": form.amount.data, "fee": form.fee.data or None,
                "account": form.account.data, "date": form.date.data,
                "category": form.category.data, "donor_name": form.donor_name.data or None,
                "donor_consents_public": bool(form.donor_consents_public.data)})
        except WorkflowError as exc:
            attach(form, exc)
        else:
            flash(_("Donation %(code)s is recorded.", code=made["code"]), "success")
            return redirect(url_for("treasurer.donations_page"), 303)
    elif not form.is_submitted():
        form.date.data = dt.date.today().isoformat()
    status = 422 if form.errors or form.form_errors else 200
    return render_template("treasurer/donations.html", form=form,
                           items=donations.list_donations(person())), status


@bp.get("/donations/<code>/receipts.json")
@treasurer
def donation_receipts(code: str):
    """A donation's receipts, for the treasurer to send to the donor (docs/verify.md)."""
    from app.workflow import receipts

    body = receipts.donation_receipts(person(), code)
    return Response(json.dumps(body, indent=2) + "\n", mimetype="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="receipts-{code}.json"'})


@bp.route("/close", methods=["GET", "POST"])
@treasurer
@recent
def close():
    """Close a month: enter each statement balance, see the differences, then seal."""
    form = EmptyForm()
    entered = {k[len("bal-"):]: v.strip() for k, v in request.form.items()
               if k.startswith("bal-")}
    preview = months.close_preview(entered)
    errors: list[str] = []
    if request.method == "POST" and form.validate_on_submit():
        if request.form.get("action") == "seal":
            balances = {a["account"]: (entered.get(a["account"]) or "0")
                        for a in preview["accounts"]}
            try:
                sealed = months.seal(person(), preview["month"], {"balances": balances})
            except WorkflowError as exc:
                errors.append(exc.message)
            else:
                flash(_("%(month)s is sealed. Seal: %(hash)s", month=sealed["month"],
                        hash=sealed["seal_hash"]), "success")
                return redirect(url_for("treasurer.close"), 303)
    elif request.method == "POST":
        errors.append(_("The form expired; please try again."))
    status = 422 if errors else 200
    return render_template("treasurer/close.html", form=form, preview=preview,
                           entered=entered, errors=errors), status




@bp.route("/reports", methods=["GET", "POST"])
@treasurer
@recent
def reports_page():
    """Publish a sealed month's report; a new version of a published month needs a reason."""
    from app.web.forms import PublishForm
    from app.workflow import reports

    form = PublishForm()
    state = books().state
    sealed = [s.month for s in reversed(state.seals)]
    form.month.choices = [(m, m) for m in sealed]
    if form.validate_on_submit() or (form.is_submitted() and not sealed):
        try:
            reports.publish(person(), form.month.data or "", paper=form.paper.data or "a4",
                            reason=form.reason.data or None)
        except WorkflowError as exc:
            if not sealed:  # the form is not on the page: say it above
                flash(exc.message, "error")
                return redirect(url_for("treasurer.reports_page"), 303)
            attach(form, exc)
        else:
            flash(_("The report for %(month)s is published.", month=form.month.data),
                  "success")
            return redirect(url_for("treasurer.reports_page"), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("treasurer/reports.html", form=form, sealed=sealed,
                           archive=reports.archive()), status


@bp.post("/people/<handle>/claim-code")
@treasurer
@recent
def claim_code(handle: str):
    """Print a one-time code that gives a person without email an account (a new code
    ends the earlier one). Shown once, on this answer: it is not stored, only its hash."""
    from app.workflow import intake

    if not EmptyForm().validate_on_submit():
        return redirect(url_for("treasurer.queue"), 303)
    sheet = intake.claim_sheet(intake.new_claim_code(person(), handle))
    resp = Response(render_template("treasurer/claim_sheet.html", sheet=sheet))
    resp.headers["Cache-Control"] = "no-store"
    return resp
