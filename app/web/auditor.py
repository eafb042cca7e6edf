"""The fund's books, for the roles that may read them: treasurers, admins and auditors.

The public downloads only the community's books (`/books.zip`); these pages hold the
fund's own books, with every request code and amount, and nothing else: no story, note,
name, email or handle (docs/privacy.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import zipfile

from flask import Blueprint, abort, render_template, send_file
from flask_login import current_user

from app.fund import books
from app.models import Role
from app.web import signed_in
from app.workflow import attest

bp = Blueprint("auditor", __name__, url_prefix="/books")
READERS = (Role.treasurer, Role.admin, Role.auditor)


def books_reader(view):
    """Only treasurers, admins and auditors (403 for others, sign-in for anonymous)."""

    @functools.wraps(view)
    @signed_in
    def wrapper(*args, **kwargs):
        if not any(current_user.has(r) for r in READERS):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@bp.get("/")
@books_reader
def overview():
    """The seal chain, each month's attestations, and the fund's books to download."""
    state = books().state
    return render_template("auditor/books.html", seals=list(reversed(state.seals)),
                           attested=attest.attested(), history=attest.history(),
                           chain=attest.audit_chain(),
                           verification=books().verify())


@bp.get("/fund-books.zip")
@books_reader
def fund_books():
    """The fund's books, every .beancount file as the app keeps them."""
    root = books().dir
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*.beancount")):
            rel = path.relative_to(root)
            if not rel.parts[0].startswith("."):
                zf.write(path, f"books/{rel}")
    buffer.seek(0)
    return send_file(buffer, mimetype="application/zip", as_attachment=True,
                     download_name=f"fund-books-{dt.date.today().isoformat()}.zip")
