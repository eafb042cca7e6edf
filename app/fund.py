"""The fund's books as seen from the app: one `ledger.Books` per process, opened lazily."""

from __future__ import annotations

import threading
from pathlib import Path

from flask import Flask, current_app

from ledger import Books

_lock = threading.Lock()


def init_app(app: Flask) -> None:
    """Attach the books registry to `app` (opened on first use, then kept)."""
    app.extensions["carebooks.books"] = None


def books() -> Books:
    """The books of the current app's fund, opened once per process."""
    ext = current_app.extensions
    if ext.get("carebooks.books") is None:
        with _lock:
            if ext.get("carebooks.books") is None:
                ext["carebooks.books"] = Books.open(books_dir())
    return ext["carebooks.books"]


def books_dir() -> Path:
    """Where the current app's fund keeps its books."""
    return Path(current_app.config["BOOKS_DIR"])


def forget_books() -> None:
    """Drop this process's books; the next `books()` opens them from disk again."""
    with _lock:
        current_app.extensions["carebooks.books"] = None


def aid_categories() -> list[str]:
    """The fund's aid categories (lowercase leaves of its open Expenses:Aid accounts)."""
    from ledger import AID_ROOT, category_of

    state = books().state
    return sorted(category_of(a) for a in state.opens
                  if a.startswith(AID_ROOT + ":") and a not in state.closes)


def donation_categories() -> list[str]:
    """The fund's donation categories (leaves of its open Income:Donations accounts)."""
    from ledger import DONATION_ROOT, category_of

    state = books().state
    return sorted(category_of(a) for a in state.opens
                  if a.startswith(DONATION_ROOT + ":") and a not in state.closes)
