"""Browser-facing protections applied to every response (see docs/privacy.md)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Attach the response headers and cookie settings."""
