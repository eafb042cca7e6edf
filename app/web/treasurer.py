"""A treasurer's pages: the queue, a request (what approving would do, and why a button
is disabled), payments, donations, the dashboard, and closing a month."""

from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.fund import books, donation_categories
from app.web import attach, person, recent, role
from app.web.words import account_name
from app.web.filters import money, month_name
from app.web.forms import (ApproveForm, DonationForm, EmptyForm, PaymentForm, PaySeveralForm,
                           QuestionForm, ReasonForm, category_label)
from app.workflow import donations, monthend, months, payments, requests, summary
from app.workflow.errors import Conflict, IllegalTransition, WorkflowError
from reports.languages import LANGUAGES

bp = Blueprint("treasurer", __name__, url_prefix="/treasurer")
treasurer = role("treasurer")


@bp.get("/")
@treasurer
def dashboard():
    """What needs doing today first (waiting on you, second approvals, months to close),
    then cash, committed, available, this month in and out."""
    items = _open_requests()
    today = dt.date.today()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    d = summary.dashboard()
    todo = {
        "decide": [r for r in items if r["waits_on_me"] and r["status"] == "submitted"
                   and not r["approvals"]],
        "second": [r for r in items if r["waits_on_me"] and r["status"] == "submitted"
                   and r["approvals"]],
        "pay": [r for r in items if r["status"] in ("approved", "partially_paid")],
        "close": last_month if (d["sealed_through"] or "") < last_month else None,
    }
    return render_template("treasurer/dashboard.html", d=d, todo=todo,
                           w=monthend.waiting())


def _open_requests() -> list[dict]:
    """Open requests, soonest needed first, each marked with whether it waits on you."""
    items = [r for r in requests.list_requests(person())
             if r["status"] in ("submitted", "needs_info", "approved", "partially_paid")]
    me = person().handle
    for r in items:
        r["waits_on_me"] = (r["status"] in ("approved", "partially_paid")
                            or (r["status"] == "submitted" and r["member"] != me
                                and me not in [a["by"] for a in r["approvals"]]))
    return items


# The queue's filters: by how long a request has waited (days since it was asked).
AGES = {"": None, "3": 3, "7": 7, "30": 30}


@bp.get("/queue")
@treasurer
def queue():
    """Open requests, soonest needed first, with what each waits for; filtered by status,
    category and age, searched by code (a GET form: a filtered queue can be bookmarked)."""
    everything = _open_requests()
    status = request.args.get("status", "")
    category = request.args.get("category", "")
    age = request.args.get("age", "")
    code = request.args.get("code", "").strip().upper()
    items = everything
    if status == "mine":
        items = [r for r in items if r["waits_on_me"]]
    elif status:
        items = [r for r in items if r["status"] == status]
    if category:
        items = [r for r in items if r["category"] == category]
    if AGES.get(age):
        cutoff = dt.date.today() - dt.timedelta(days=AGES[age])
        items = [r for r in items if str(r.get("created_at", ""))[:10] <= cutoff.isoformat()]
    if code:
        items = [r for r in items if code in r["code"]]
    from app.fund import aid_categories
    return render_template("treasurer/queue.html", items=items, total=len(everything),
                           categories=aid_categories(),
                           chosen={"status": status, "category": category, "age": age,
                                   "code": code})


def _request_page(code: str, status: int = 200, **forms):
    item = requests.get(person(), code)
    preview = requests.approval_preview(person(), code)
    pay = forms.get("pay_form") or PaymentForm()
    pay.account.choices = account_choices()
    if not pay.is_submitted():
        pay.amount.data = item["outstanding"]
        pay.date.data = dt.date.today().isoformat()
        pay.account.data = payments.default_account(item["payout_method"])
    approve = forms.get("approve_form") or ApproveForm()
    if not approve.is_submitted():
        approve.amount.data = str(preview["amount"])
    return render_template(
        "treasurer/request.html", item=item, preview=preview, approve_form=approve,
        deny_form=forms.get("deny_form") or ReasonForm(prefix="deny"),
        ask_form=forms.get("ask_form") or QuestionForm(),
        cancel_form=forms.get("cancel_form") or ReasonForm(prefix="cancel"),
        pay_form=pay, confirm_cancel=forms.get("confirm_cancel", False)), status


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
    if form.validate_on_submit() and (form.reason.data or "").strip() \
            and request.form.get("confirmed") != "yes" \
            and requests.get(person(), code)["status"] in SHOWN["cancel_form"]:
        # check before undoing: what will happen, the reason the member will read
        return _request_page(code, 200, cancel_form=form, confirm_cancel=True)
    return _step(code, form, "cancel_form",
                 lambda: requests.cancel(person(), code, {"reason": form.reason.data}),
                 _("The approval of %(code)s was cancelled.", code=code))


@bp.post("/requests/<code>/pay")
@treasurer
@recent
def pay(code: str):
    form = PaymentForm()
    form.account.choices = account_choices()
    return _step(code, form, "pay_form",
                 lambda: requests.pay(person(), code, {"amount": form.amount.data,
                                                       "account": form.account.data,
                                                       "date": form.date.data or None,
                                                       "reference": form.reference.data,
                                                       "note": form.note.data}),
                 _("The payment is recorded in the books."))


def account_choices() -> list[tuple[str, str]]:
    """Each cash account, labelled with what it holds now."""
    cur = books().currency
    return [(a, _("%(account)s (holds %(balance)s)", account=account_name(a), balance=money(v, cur)))
            for a, v in payments.balances()]


@bp.route("/pay", methods=["GET", "POST"])
@treasurer
@recent
def pay_several():
    """Pay several approved requests from one account in one action."""
    form = PaySeveralForm()
    form.account.choices = account_choices()
    items = payments.payable(person())
    chosen = request.form.getlist("code")
    errors: list[str] = []
    if form.validate_on_submit():
        if not chosen:
            errors.append(_("Requests to pay: choose at least one"))
        else:
            try:
                done = payments.pay_many(person(), {
                    "account": form.account.data, "date": form.date.data or None,
                    "batch": form.batch.data or None, "reference": form.reference.data,
                    "note": form.note.data, "payments": [{"code": c} for c in chosen]})
            except WorkflowError as exc:
                if exc.field in ("account", "date", "reference", "note"):
                    attach(form, exc)
                else:
                    errors.append(exc.message)
            else:
                flash(_("%(n)s payment(s), %(total)s in all, are recorded in the books.",
                        n=len(done["paid"]), total=money(done["total"], books().currency)),
                      "success")
                return redirect(url_for("treasurer.pay_several"), 303)
    elif form.is_submitted():
        errors.append(_("The form expired; please try again."))
    if not form.is_submitted():
        form.date.data = dt.date.today().isoformat()
        methods = {i["account"] for i in items if i["account"] and not i["own"]}
        if len(methods) == 1:
            form.account.data = methods.pop()
    if not form.batch.data or not form.is_submitted():
        form.batch.data = payments.new_batch()
    status = 422 if errors or form.errors else 200
    return render_template("treasurer/pay.html", form=form, items=items, chosen=chosen,
                           errors=errors), status


@bp.route("/donations", methods=["GET", "POST"])
@treasurer
def donations_page():
    """Record a donation; the list of donations."""
    form = DonationForm()
    form.account.choices = [(a, account_name(a)) for a in books().state.cash_accounts()]
    form.category.choices = [(c, category_label(c)) for c in donation_categories()]
    if form.validate_on_submit():
        try:
            made = donations.record(person(), {
                "amount": form.amount.data, "fee": form.fee.data or None,
                "account": form.account.data, "date": form.date.data,
                "category": form.category.data, "donor_name": form.donor_name.data or None,
                "donor_consents_public": bool(form.donor_consents_public.data)},
                unconsented_name="refuse")
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
    """Close a month: each statement balance, the differences, then a confirmation, the
    seal, and on to the report's preview and publishing."""
    form = EmptyForm()
    from app.web.forms import normal_amount

    posted = {k[len("bal-"):]: normal_amount(v) for k, v in request.form.items()
              if k.startswith("bal-")}
    month = months.close_preview()["month"]
    entered = posted if request.method == "POST" else monthend.saved_statements(month)
    preview = months.close_preview(entered)
    errors: list[tuple[str | None, str]] = []  # (the field's id, the sentence)
    action = request.form.get("action")
    if request.method == "POST" and form.validate_on_submit():
        monthend.save_statements(person(), month, posted)
        if action in ("seal", "confirm") and preview["over"]:
            balances, problems = monthend.balances_for_seal(preview, entered, account_name)
            errors = [(f"bal-{i}", message) for i, _a, message in problems]
            errors += [(f"bal-{i}", _("Statement balance for %(account)s: statement mismatch, "
                                      "%(difference)s from the books; reconcile it with the "
                                      "statement file to find why before sealing",
                                      account=account_name(a["account"]),
                                      difference=money(a["difference"], preview["currency"])))
                       for i, a in enumerate(preview["accounts"], start=1)
                       if a["difference"] not in (None, 0)]
            if not errors and action == "seal":
                return render_template("treasurer/close_confirm.html", form=form,
                                       preview=preview, balances=balances)
            if not errors:
                try:
                    sealed = months.seal(person(), month, {"balances": balances})
                except WorkflowError as exc:
                    errors.append((None, exc.message))
                else:
                    flash(_("%(month)s is sealed. Seal: %(hash)s", month=sealed["month"],
                            hash=sealed["seal_hash"]), "success")
                    return redirect(url_for("treasurer.reports_page",
                                            month=sealed["month"]), 303)
    elif request.method == "POST":
        errors.append((None, _("The form expired; please try again.")))
    status = 422 if errors else 200
    return render_template("treasurer/close.html", form=form, preview=preview,
                           entered=entered, errors=errors, w=monthend.waiting()), status


@bp.route("/reports", methods=["GET", "POST"])
@treasurer
@recent
def reports_page():
    """A sealed month's report: preview it in both languages, see what is already
    published, publish it; a new version of a published month needs a reason."""
    from app.web.forms import PublishForm
    from app.workflow import reports

    form = PublishForm()
    state = books().state
    sealed = [s.month for s in reversed(state.seals)]
    form.month.choices = [(m, m) for m in sealed]
    if form.validate_on_submit() or (form.is_submitted() and not sealed):
        try:
            reports.publish(person(), form.month.data or "", paper=form.paper.data or None,
                            reason=form.reason.data or None)
        except WorkflowError as exc:
            if not sealed:  # the form is not on the page: say it above
                flash(exc.message, "error")
                return redirect(url_for("treasurer.reports_page"), 303)
            attach(form, exc)
        else:
            flash(_("The report for %(month)s is published.", month=month_name(form.month.data)),
                  "success")
            return redirect(url_for("treasurer.reports_page", month=form.month.data), 303)
    if not form.is_submitted():
        asked = request.args.get("month")
        form.month.data = asked if asked in sealed else (sealed[0] if sealed else None)
        form.paper.data = request.args.get("paper") if request.args.get("paper") in \
            reports.PAPERS else reports.default_paper()
    month = form.month.data if form.month.data in sealed else None
    status = 422 if form.errors or form.form_errors else 200
    return render_template("treasurer/reports.html", form=form, sealed=sealed, month=month,
                           published=reports.archive(month) if month else [],
                           langs=LANGUAGES), status


@bp.get("/reports/<month>/preview-<lang>.pdf")
@treasurer
def report_preview(month: str, lang: str):
    """The report of a sealed month as it would be published, not published."""
    from app.workflow import reports
    from app.workflow.errors import PolicyRefused

    if month not in {s.month for s in books().state.seals}:
        raise PolicyRefused(_("report: %(month)s is not sealed yet; close the month first",
                              month=month), code="month_not_sealed", field="month")
    paper = request.args.get("paper") or None
    pdf = reports.render(month, lang=lang, paper=paper)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="preview-{month}-{lang}.pdf"',
        "Cache-Control": "no-store"})


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
