"""A treasurer's import pages: upload a PayPal, Venmo, Stripe or bank CSV, see the
preview, confirm (all or nothing); and reconcile a month with a statement file."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.fund import books, donation_categories
from app.web import attach, person, recent, role
from app.web.forms import ConfirmImportForm, ImportForm, ReconcileForm, category_label
from app.workflow import imports, uploads
from app.workflow.errors import InvalidInput, WorkflowError

bp = Blueprint("imports", __name__, url_prefix="/treasurer")
treasurer = role("treasurer")


def _choices(form) -> None:
    form.mapping.choices = [("", _("None"))] + [(m, m) for m in imports.mapping_names()]
    form.account.choices = [("", _("The file's own (PayPal, Venmo; else the bank)"))] + [
        (a, a) for a in books().state.cash_accounts()]
    if hasattr(form, "category"):
        form.category.choices = [(c, category_label(c)) for c in donation_categories()]


def _upload(form) -> bytes:
    """The uploaded file's bytes, or InvalidInput naming the file field."""
    storage = form.file.data
    if storage is None or not getattr(storage, "filename", ""):
        raise InvalidInput(_("file: required, the CSV file you exported"), field="file")
    if not storage.filename.lower().endswith(".csv"):
        raise InvalidInput(_("file: only CSV files (.csv) can be imported"), field="file")
    return storage.read()


def _options(form) -> dict:
    return {"mapping": form.mapping.data or None, "account": form.account.data or None,
            "category": form.category.data or "individual"}


def _preview_page(shown: dict, token: str, options: dict, fmt: str, status: int = 200,
                  error: str | None = None, sealed: bool = False):
    form = ConfirmImportForm(formdata=None, token=token, digest=shown["digest"], format=fmt,
                             mapping=options["mapping"] or "", account=options["account"] or "",
                             category=options["category"])
    if error:
        form.form_errors.append(error)
    return render_template("treasurer/import_preview.html", p=shown, form=form, sealed=sealed,
                           chosen={k[6:]: v for k, v in request.form.items()
                                   if k.startswith("match-")}), status


@bp.route("/import", methods=["GET", "POST"])
@treasurer
def import_page():
    """Upload a file; answer with its preview (nothing is written yet)."""
    form = ImportForm()
    _choices(form)
    if form.validate_on_submit():
        try:
            data = _upload(form)
            shown = imports.preview(person(), data, form.format.data, **_options(form))
        except WorkflowError as exc:
            attach(form, exc)
        else:
            token = uploads.hold(person().id, data)
            return _preview_page(shown, token, _options(form), form.format.data,
                                 sealed=uploads.is_sealed(person().id, token))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("treasurer/import.html", form=form,
                           mappings=imports.mapping_names()), status


@bp.post("/import/confirm")
@treasurer
@recent
def import_confirm():
    """Write what the preview showed, or nothing; cancelling deletes the held file."""
    form = ConfirmImportForm()
    back = redirect(url_for("imports.import_page"), 303)
    if not form.validate_on_submit():
        flash(_("The form expired; please upload the file again."), "error")
        return back
    token = form.token.data or ""
    if request.form.get("action") == "cancel":
        uploads.drop(person().id, token)
        flash(_("Nothing was written, and the uploaded file is deleted."), "info")
        return back
    try:
        data = uploads.take(person().id, token)
    except uploads.FundLocked as exc:  # kept, sealed: the same form, to confirm once unlocked
        form.form_errors.append(exc.message)
        return render_template("treasurer/import_held.html", form=form, chosen={
            k: v for k, v in request.form.items() if k.startswith("match-")}), 409
    except WorkflowError as exc:
        flash(exc.message, "error")
        return back
    options = {"mapping": form.mapping.data or None, "account": form.account.data or None,
               "category": form.category.data or "individual"}
    matches = {k[6:]: v for k, v in request.form.items() if k.startswith("match-") and v}
    try:
        done = imports.confirm(person(), data, form.format.data or "", digest=form.digest.data,
                               matches=matches, **options)
    except WorkflowError as exc:
        try:  # show the file as it reads now, with the reason above it
            shown = imports.preview(person(), data, form.format.data or "", **options)
        except WorkflowError:
            uploads.drop(person().id, token)
            flash(exc.message, "error")
            return back
        return _preview_page(shown, token, options, form.format.data, 422, exc.message)
    uploads.drop(person().id, token)
    flash(_("Imported: %(added)s donation(s) and %(paid)s payment(s) are in the books; "
            "%(dups)s line(s) were there already.", added=done["added"],
            paid=len(done["paid"]), dups=done["duplicates"]), "success")
    return redirect(url_for("treasurer.donations_page"), 303)


@bp.route("/reconcile", methods=["GET", "POST"])
@treasurer
def reconcile_page():
    """A statement file against the books for one month: side by side, nothing kept."""
    from app.workflow import months
    from app.workflow.reconcile import reconcile

    form = ReconcileForm()
    _choices(form)
    result = None
    if form.validate_on_submit():
        try:
            result = reconcile(person(), _upload(form), form.format.data, form.month.data or "",
                               mapping=form.mapping.data or None,
                               account=form.account.data or None)
        except WorkflowError as exc:
            attach(form, exc)
    elif not form.is_submitted():
        form.month.data = months.close_preview()["month"]
    status = 422 if form.errors or form.form_errors else 200
    return render_template("treasurer/reconcile.html", form=form, r=result), status
