"""What a password must be: 12 to 128 characters, and not one of the 30,000 most common
passwords (shipped in app/data), nor one of them repeated or with digits and symbols
added at the end. No composition rules and no forced rotation (NIST SP 800-63B)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from flask_babel import gettext as _

from app.workflow.errors import InvalidInput

MIN, MAX = 12, 128
LIST = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"


@lru_cache(maxsize=1)
def common() -> frozenset[str]:
    """The shipped list of common passwords, lowercased."""
    return frozenset(line.strip().lower() for line in LIST.read_text().splitlines()
                     if line.strip())


def _variants(password: str) -> set[str]:
    low = password.lower()
    stripped = re.sub(r"[\W\d_]+$", "", low)
    out = {low, stripped}
    for size in range(1, len(low) // 2 + 1):  # "passwordpassword", "abcabcabcabc"
        if len(low) % size == 0 and low[:size] * (len(low) // size) == low:
            out.add(low[:size])
            break
    return out


def check(password: str) -> None:
    """Raise InvalidInput (field "password") unless `password` is acceptable."""
    if not isinstance(password, str) or not MIN <= len(password) <= MAX:
        raise InvalidInput(_("password: %(min)s to %(max)s characters", min=MIN, max=MAX),
                           field="password")
    if _variants(password) & common():
        raise InvalidInput(_("password: this password is one of the most common ones; "
                             "choose another (a few unrelated words work well)"),
                           field="password")


# argon2-cffi's default: RFC 9106's low-memory profile (argon2id, t=3, 64 MiB, p=4). The
# one hasher of the app (sign-in verifies and upgrades with it too); the test suite swaps
# in cheap parameters (tests/conftest.py), since every fund it builds hashes 5 passwords.
_hasher = PasswordHasher()


def hasher() -> PasswordHasher:
    """The password hasher in use."""
    return _hasher


@lru_cache(maxsize=4)
def _dummy(h: PasswordHasher) -> str:
    return h.hash("carebooks-dummy-password")


def dummy_hash() -> str:
    """A hash to verify against when nobody has that name: a wrong email or handle is
    then as slow as a wrong password."""
    return _dummy(hasher())


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (after checking it)."""
    check(password)
    return hasher().hash(password)
