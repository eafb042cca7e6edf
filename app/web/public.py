"""What the community sees without signing in: the fund's balances."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.fund import books
from ledger import BooksInvalid

bp = Blueprint("public", __name__)


@bp.get("/")
def transparency():
    """The transparency page: cash, committed and available."""
    try:
        state = books().state
    except BooksInvalid as exc:
        return render_template("books_error.html", error=exc), 503
    return render_template("transparency.html", state=state, verification=books().verify())
