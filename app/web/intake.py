"""Intake: filing a request on behalf of someone without email or an account (intake
volunteers and treasurers), and the requests one filed — never their story once filed."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from app.fund import aid_categories
from app.web import any_role, attach, person
from app.web.forms import PAYOUT_LABELS, REACH_LABELS, FileForForm, category_label
from app.workflow import intake
from app.workflow.errors import WorkflowError

bp = Blueprint("intake", __name__, url_prefix="/intake")
filer = any_role("intake", "treasurer")


@bp.get("/")
@filer
def filed():
    """The requests I filed for others, newest first."""
    return render_template("intake/list.html", items=intake.filed_by_me(person()))


@bp.route("/new", methods=["GET", "POST"])
@filer
def new():
    """File a request for someone (by phone, at a table): the person's name here, the
    request, and how they want to be reached."""
    form = FileForForm()
    form.category.choices = [(c, category_label(c)) for c in aid_categories()]
    form.payout_method.choices = list(PAYOUT_LABELS.items())
    form.reach_by.choices = [(k, REACH_LABELS[k]) for k in intake.REACH]
    if form.validate_on_submit():
        try:
            made = intake.file_for(person(), {
                "handle": form.handle.data, "amount": form.amount.data,
                "category": form.category.data, "needed_by": form.needed_by.data,
                "payout_method": form.payout_method.data, "story": form.story.data,
                "reach_by": form.reach_by.data, "contact": form.contact.data})
        except WorkflowError as exc:
            attach(form, exc)
        else:
            flash(_("The request %(code)s for %(handle)s was filed. A treasurer will look at "
                    "it soon.", code=made["code"], handle=made["member"]), "success")
            return redirect(url_for("intake.detail", code=made["code"]), 303)
    elif not form.is_submitted():
        form.needed_by.data = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    status = 422 if form.errors or form.form_errors else 200
    return render_template("intake/new.html", form=form), status


@bp.get("/requests/<code>")
@filer
def detail(code: str):
    """A request I filed: where it stands, and how to reach the person (no story)."""
    return render_template("intake/detail.html", item=intake.filed_one(person(), code))
