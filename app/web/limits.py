"""Sign-in throttling (Flask-Limiter): per address and per account, in Redis when
REDIS_URL is set (shared by every worker), else in memory.

Everything that checks a password or a one-time code shares the sign-in's counters
(shared scopes): signing in, confirming it is you again, changing the password. A guess
at `/account/confirm` costs the same as one at `/sign-in`, so a stolen session cannot
try passwords or codes at leisure."""

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


def signed_in_account_key() -> str:
    """The signed-in person's account, as `account_key` spells it."""
    from flask_login import current_user

    person = getattr(current_user, "person", None)
    return "account:" + (getattr(person, "email", "") or "").strip().lower()


def signed_in_code_key() -> str:
    """The signed-in person's one-time-code counter, as the sign-in's code step keys it."""
    from flask_login import current_user

    return f"code:{getattr(getattr(current_user, 'person', None), 'id', None)}"


# The shared limits, to decorate a view with (the scopes make the counts common).
def address_limit():
    """Every POST from one address, across all password and code checks."""
    return limiter.shared_limit(PER_ADDRESS, scope="password-address", methods=["POST"])


def account_limit(key_func=account_key):
    """Failed password or code checks against one account."""
    return limiter.shared_limit(PER_ACCOUNT, scope="password-account", methods=["POST"],
                                key_func=key_func, deduct_when=failed)


def code_limit(key_func):
    """One-time-code attempts for one person."""
    return limiter.shared_limit(PER_CODE, scope="one-time-code", methods=["POST"],
                                key_func=key_func)


def failed(response) -> bool:
    """Count only attempts that failed."""
    return response.status_code >= 400


def init_app(app: Flask) -> None:
    """Attach the limiter (REDIS_URL: shared storage; tests may switch it off)."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", os.environ.get("REDIS_URL") or "memory://")
    limiter.init_app(app)
