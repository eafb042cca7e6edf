"""The custody pages (issue 21): whether the fund is locked, the unlock form (K shares),
lock now, and shred (K shares and a typed confirmation). Treasurers and admins only; a
POST needs a recent sign-in. Shares typed here are used once, in memory, and never kept.
"""

from __future__ import annotations

import functools

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField

from app import custody
from app.custody.shares import ShareError
from app.web import person, recent, signed_in
from app.workflow import custody as steps

bp = Blueprint("custody", __name__, url_prefix="/custody")


class SharesForm(FlaskForm):
    shares = TextAreaField(_l("Shares, one a line"),
                           render_kw={"rows": 4, "autocomplete": "off", "spellcheck": "false"})


class ShredForm(SharesForm):
    confirm = BooleanField(_l("I understand every story, note and donor name is destroyed "
                              "forever"))


def keyholder(view):
    """Treasurers and admins only."""

    @functools.wraps(view)
    @signed_in
    def wrapper(*args, **kwargs):
        if not (current_user.has("treasurer") or current_user.has("admin")):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _lines(form: SharesForm) -> list[str]:
    return [line for line in (form.shares.data or "").splitlines() if line.strip()]


def _page(status: int = 200, unlock_form=None, shred_form=None):
    current = custody.current()
    return render_template("custody/index.html", custody=current,
                           unlocked=custody.is_unlocked(),
                           unlock_form=unlock_form or SharesForm(prefix="u"),
                           shred_form=shred_form or ShredForm(prefix="s")), status


@bp.get("")
@keyholder
def index():
    """The fund's custody state, and the forms to unlock, lock and shred."""
    return _page()


@bp.post("/unlock")
@keyholder
@recent
def unlock():
    form = SharesForm(prefix="u")
    current = custody.current()
    if current is None or current.split is None:  # no form on the page: say so above it
        form.validate_on_submit()
        form.form_errors.append(_("This fund has no custody key to unlock."))
    elif form.validate_on_submit():
        try:
            current = custody.unlock(_lines(form))
        except ShareError as exc:
            form.shares.errors = [str(exc)]
        else:
            steps.record("custody.unlocked", person().id, key=current.key_id)
            flash(_("Unlocked: stories and notes can be read until the fund locks again."),
                  "success")
            return redirect(url_for("custody.index"), 303)
    return _page(422, unlock_form=form)


@bp.post("/lock")
@keyholder
def lock():
    steps.lock_all()
    steps.record("custody.locked", person().id)
    flash(_("Locked."), "success")
    return redirect(url_for("custody.index"), 303)


@bp.post("/shred")
@keyholder
@recent
def shred():
    form = ShredForm(prefix="s")
    current = custody.current()
    if current is None or current.split is None:  # no form on the page: say so above it
        form.validate_on_submit()
        form.form_errors.append(_("This fund has no custody key to shred."))
    elif form.validate_on_submit():
        if not form.confirm.data:
            form.confirm.errors = [_("Tick the box: shredding cannot be undone.")]
        else:
            try:
                custody.open_with_shares(current, _lines(form))
            except ShareError as exc:
                form.shares.errors = [str(exc)]
            else:
                steps.shred()
                steps.record("custody.shredded", person().id, key=current.key_id)
                flash(_("The key is destroyed. No story, note or donor name sealed to it can "
                        "be read again. Destroy older backups too."), "success")
                return redirect(url_for("custody.index"), 303)
    return _page(422, shred_form=form)
