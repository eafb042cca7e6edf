"""The custody pages (issue 21): whether the fund is locked, the unlock form (K shares),
lock now, split the key (or re-split it with K current shares), each holder's share shown
once, and shred (K shares and a ticked box). Treasurers and admins only; a POST needs a
recent sign-in. Shares typed here are used once, in memory, and never kept; shares made
here wait in the server's locked memory page until their holder sees them, then are gone.
"""

from __future__ import annotations

import functools

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from markupsafe import Markup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, TextAreaField
from wtforms.validators import Optional

from app import custody
from app.custody.shares import ShareError
from app.web import person, recent, signed_in
from app.workflow import custody as steps

bp = Blueprint("custody", __name__, url_prefix="/custody")


class SharesForm(FlaskForm):
    shares = TextAreaField(_l("Shares, one a line"),
                           render_kw={"rows": 4, "autocomplete": "off", "spellcheck": "false"})


class SplitForm(FlaskForm):
    needed = IntegerField(_l("Shares needed to unlock"), validators=[Optional()],
                          render_kw={"inputmode": "numeric"})


class ResplitForm(SharesForm):
    needed = IntegerField(_l("Shares needed to unlock, from now on"),
                          validators=[Optional()], render_kw={"inputmode": "numeric"})


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


def _page(status: int = 200, unlock_form=None, shred_form=None, split_form=None,
          resplit_form=None):
    from app.custody import memory
    from app.db import engine

    current = custody.current()
    people = dict(steps.holders(engine()))
    waiting = memory.waiting_shares()
    waiting_for = [people.get(pid, "?") for pid in waiting[2]] if waiting else []
    return render_template("custody/index.html", custody=current,
                           unlocked=custody.is_unlocked(), holders=list(people.values()),
                           waiting_for=waiting_for,
                           mine_waiting=bool(waiting and person().id in waiting[2]),
                           unlock_form=unlock_form or SharesForm(prefix="u"),
                           # the fund's approvals needed (2) offered; an empty POST is
                           # refused rather than splitting with a number nobody chose
                           split_form=split_form or SplitForm(prefix="n", needed=2),
                           resplit_form=resplit_form or ResplitForm(prefix="r", needed=2),
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


def _needed(form) -> int | None:
    value = form.needed.data
    if value is None or form.needed.errors:
        form.needed.errors = [_("Shares needed: a whole number, at least 2")]
        return None
    return value


@bp.post("/split")
@keyholder
@recent
def split():
    """A new key, one share for each treasurer and admin, each shown once to its holder."""
    from app.db import engine

    form = SplitForm(prefix="n")
    if form.validate_on_submit() and (needed := _needed(form)) is not None:
        try:
            split_id = steps.split_on_page(engine(), needed)
        except ShareError as exc:
            form.needed.errors = [str(exc)]
        else:
            steps.record("custody.split_started", person().id, split=split_id)
            flash(_("The key is split. Each treasurer and admin now sees their share once, "
                    "on this page; the split is in force when all have seen theirs."),
                  "success")
            return redirect(url_for("custody.index"), 303)
    return _page(422, split_form=form)


@bp.post("/resplit")
@keyholder
@recent
def resplit():
    """New shares for the same key (a holder left): K current shares open it."""
    from app.db import engine

    form = ResplitForm(prefix="r")
    current = custody.current()
    if current is None or current.split is None or current.state != "active":
        # no re-split form on the page: say so above it (and only there)
        form.validate_on_submit()
        for each in form:
            each.errors = []
        form.form_errors.append(_("There is no split key to re-split: split the key first."))
    elif form.validate_on_submit() and (needed := _needed(form)) is not None:
        try:
            split_id = steps.resplit_on_page(engine(), _lines(form), needed)
        except ShareError as exc:
            form.shares.errors = [str(exc)]
        else:
            steps.record("custody.resplit_started", person().id, split=split_id)
            flash(_("New shares are made. Each treasurer and admin now sees theirs once, on "
                    "this page; until all have, the old shares still open the key."),
                  "success")
            return redirect(url_for("custody.index"), 303)
    return _page(422, resplit_form=form)


@bp.post("/share")
@keyholder
@recent
def share():
    """Your share of a split made on this page, shown this once and then forgotten."""
    from app.db import engine

    if not FlaskForm().validate_on_submit():
        abort(400)
    shown = steps.show_share(engine(), person().id)
    if shown is None:
        flash(_("You have no share waiting: it was shown already, or the split was made "
                "again."), "error")
        return redirect(url_for("custody.index"), 303)
    share_, split_ = shown
    steps.record("custody.share_shown", person().id, split=split_.id, share=share_.number)
    return render_template("custody/share.html", share=share_, split=split_,
                           qr=Markup(share_.svg()))  # nosec B704: segno draws hex digits only
