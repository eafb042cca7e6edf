"""Languages through Flask-Babel (the list of them is reports.languages.LANGUAGES).

The language is the one the person chose with the switch (kept in the session), else
the browser's preference, else English. API clients get the same through
Accept-Language.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request, session
from flask_babel import Babel

from reports.languages import DEFAULT, LANGUAGES  # noqa: F401 - the languages' home


def select_locale() -> str:
    """The chosen language, else the browser's best match, else English."""
    if not request:
        return DEFAULT
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT


def init_app(app: Flask) -> None:
    """Attach Flask-Babel with the app's catalogs (app/translations)."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES",
                          str(Path(__file__).parent / "translations"))
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def _languages():
        from flask_babel import get_locale
        return {"LANGUAGES": LANGUAGES, "current_lang": str(get_locale() or DEFAULT)}
