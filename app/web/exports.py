"""Exports: CSV files of requests, donations and payments for a date range (treasurers,
admins, auditors), and a donor's year-end statement PDF (treasurers, admins)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, render_template, request

from app.web import person
from app.web.auditor import books_reader
from app.workflow import exports
from app.workflow.errors import WorkflowError

bp = Blueprint("exports", __name__, url_prefix="/exports")


def _page(status: int = 200, errors: list | None = None):
    today = dt.date.today()
    args = request.args
    return render_template(
        "exports/index.html", errors=errors or [], kinds=exports.KINDS,
        start=args.get("from") or dt.date(today.year, 1, 1).isoformat(),
        end=args.get("to") or today.isoformat(),
        donor=args.get("donor_name", ""), year=args.get("year") or str(today.year - 1
                                                                          if today.month < 4
                                                                          else today.year),
        lang=args.get("lang", "en"),
        may_name=person().has("treasurer") or person().has("admin")), status


@bp.get("/")
@books_reader
def index():
    """The exports, with a date range to choose."""
    return _page()


@bp.get("/<any(requests, donations, payments):kind>.csv")
@books_reader
def download(kind: str):
    """One CSV file for the date range in `from` and `to`."""
    try:
        name, body = exports.csv_export(person(), kind, request.args.get("from") or None,
                                        request.args.get("to") or None)
    except WorkflowError as exc:
        return _page(422, [(exc.field, exc.message)])
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.get("/donor-statement.pdf")
@books_reader
def donor_statement():
    """A named donor's year-end statement."""
    try:
        name, pdf = exports.donor_statement(person(), request.args.get("donor_name"),
                                            request.args.get("year", ""),
                                            lang=request.args.get("lang") or "en")
    except WorkflowError as exc:
        return _page(403 if exc.code == "forbidden" else
                     404 if exc.code == "not_found" else 422, [(exc.field, exc.message)])
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
