"""What the community sees without signing in: balances, the month, the last 12 months,
aid by category under the privacy rules, and the public books to download."""

from __future__ import annotations

import datetime as dt
import io

from flask import Blueprint, render_template, request, send_file, session
from flask_babel import get_locale
from flask_login import current_user

from app.fund import books
from app.models import Role
from app.web.cache import cacheable
from app.workflow import attest, summary
from ledger import BooksInvalid

bp = Blueprint("public", __name__)


def sees_everything() -> bool:
    """Treasurers and admins see every figure, exact and current; members and strangers
    see what the public sees (docs/privacy.md, "Who sees what")."""
    return current_user.is_authenticated and (current_user.has(Role.treasurer)
                                              or current_user.has(Role.admin))


@bp.get("/")
def transparency():
    """The transparency page."""
    try:
        state = books().state
    except BooksInvalid as exc:
        return render_template("books_error.html", error=exc), 503
    if sees_everything():
        return render_template("public/transparency.html", state=state, full=summary.full_page(),
                               view=None, verification=books().verify(),
                               attested=attest.attested())
    def render(view):
        return render_template("public/transparency.html", state=state, full=None,
                               view=view, verification=books().verify(),
                               attested=attest.attested())

    if current_user.is_authenticated or request.query_string or session.get("_flashes"):
        return render(summary.public_view())  # a member's page: their own header, no-store
    return cacheable(summary.public_page(str(get_locale()), render), "text/html; charset=utf-8")


@bp.get("/books.zip")
def download_books():
    """The community's books (never the fund's own: docs/privacy.md)."""
    from app.workflow import community

    return send_file(io.BytesIO(community.zipped()), mimetype="application/zip",
                     as_attachment=True,
                     download_name=f"community-books-{dt.date.today().isoformat()}.zip")


@bp.get("/reports")
def report_archive():
    """Every published monthly report, every version, with its SHA-256."""
    from app.workflow import reports

    return render_template("public/reports.html", items=reports.archive())


@bp.get("/reports/<filename>")
def report_file(filename: str):
    """One published report, exactly as published (checked against its SHA-256)."""
    from app.workflow import reports

    return send_file(reports.published_file(filename), mimetype="application/pdf",
                     download_name=filename)
