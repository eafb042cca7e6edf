"""Sign-in throttling (Flask-Limiter): per address and per account, in Redis when
REDIS_URL is set (shared by every worker), else in memory."""

from __future__ import annotations

import os

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[], strategy="moving-window")

PER_ADDRESS = "30 per minute"      # every sign-in POST from one address
PER_ACCOUNT = "100 per hour"       # failed attempts against one account
PER_CODE = "10 per 5 minutes"      # second-factor attempts for one pending sign-in


def account_key() -> str:
    """The account a sign-in attempt names (lowercased email)."""
    return "account:" + (request.form.get("email") or "").strip().lower()


def failed(response) -> bool:
    """Count only attempts that failed."""
    return response.status_code >= 400


def init_app(app: Flask) -> None:
    """Attach the limiter (REDIS_URL: shared storage; tests may switch it off)."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", os.environ.get("REDIS_URL") or "memory://")
    limiter.init_app(app)
