"""Second-factor secrets wrapped under a key only the person's password makes.

A treasurer must pass the second factor *to unlock* the fund, so their TOTP secret cannot
be sealed to the fund's locked key. It is kept instead as

    pw1:<t>.<m>.<p>:<base64url salt>:<base64url(nonce | AES-256-GCM ciphertext and tag)>

under a 256-bit key made from the person's password by Argon2id (argon2-cffi, the library
that already hashes the passwords; RFC 9106's low-memory profile: t=3, 64 MiB, p=4),
with the person's id and the column as associated data (a wrapped secret moved to another
person's row does not open). The server can read it only while the password is in hand:
at sign-in, at "confirm it is you", and on a password change, which re-wraps it.

The password reaches only the first of the two sign-in steps. Between the two, the
derived key is *held*: sealed under a one-time random key (`hold`), the ciphertext in the
person's row, the one-time key in the visitor's signed cookie. Neither half opens anything
alone; the row's half is cleared when the code is accepted, and a new sign-in replaces it.

Why the same Argon2 cost as the password hash: whoever copies the disk also has the
password hash and can guess passwords against it at that cost; a cheaper KDF here would be
the weaker door, a dearer one buys nothing.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from argon2.profiles import RFC_9106_LOW_MEMORY
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "pw1:"
PARAMS = (RFC_9106_LOW_MEMORY.time_cost, RFC_9106_LOW_MEMORY.memory_cost,
          RFC_9106_LOW_MEMORY.parallelism)
_WRAPPED = re.compile(r"pw1:(\d{1,3})\.(\d{1,8})\.(\d{1,3}):([A-Za-z0-9_-]{22}):"
                      r"([A-Za-z0-9_-]+)\Z")


class FactorError(ValueError):
    """A wrapped secret that this password (or this held key) does not open."""


@dataclass(frozen=True)
class Key:
    """A person's wrapping key, with the salt and cost it was made with (memory only)."""

    params: tuple[int, int, int]
    salt: bytes
    key: bytes


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_wrapped(stored: str | None) -> bool:
    """True for a `pw1:` value."""
    return bool(stored) and _WRAPPED.match(stored) is not None


def derive(password: str, salt: bytes | None = None,
           params: tuple[int, int, int] | None = None) -> Key:
    """The wrapping key `password` makes with `salt` (a fresh salt when None) at `params`
    (the cost a stored value says; PARAMS for a new one)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    params = params or PARAMS
    t, m, p = params
    raw = hash_secret_raw((password or "").encode("utf-8"), salt, time_cost=t,
                          memory_cost=m, parallelism=p, hash_len=32, type=Type.ID)
    return Key(params, salt, raw)


def key_for(password: str, *stored: str | None) -> Key:
    """The key `password` makes for the first wrapped value among `stored` (its salt and
    cost), or a key with a fresh salt when none is wrapped yet."""
    for value in stored:
        match = _WRAPPED.match(value or "")
        if match:
            t, m, p, salt = match.groups()[:4]
            return derive(password, _unb64(salt), (int(t), int(m), int(p)))
    return derive(password)


def _aad(person_id: int, column: str) -> bytes:
    return f"carebooks-factor:{int(person_id)}:{column}".encode()


def wrap(secret: str, key: Key, person_id: int, column: str = "person.totp_wrapped") -> str:
    """`secret` wrapped under `key`, bound to this person and column."""
    nonce = secrets.token_bytes(12)
    body = AESGCM(key.key).encrypt(nonce, secret.encode("utf-8"), _aad(person_id, column))
    t, m, p = key.params
    return f"{PREFIX}{t}.{m}.{p}:{_b64(key.salt)}:{_b64(nonce + body)}"


def unwrap(stored: str, key: Key, person_id: int, column: str = "person.totp_wrapped") -> str:
    """The secret in a `pw1:` value, or FactorError (another password, person or column)."""
    match = _WRAPPED.match(stored or "")
    if match is None:
        raise FactorError(f"{column}: not a wrapped secret")
    raw = _unb64(match.group(5))
    try:
        return AESGCM(key.key).decrypt(raw[:12], raw[12:], _aad(person_id, column)).decode()
    except (InvalidTag, ValueError):
        raise FactorError(f"{column}: this password does not open the second factor") from None


def hold(key: Key, person_id: int) -> tuple[str, str]:
    """(ticket, sealed): `key` sealed under a new one-time key. The ticket (the one-time
    key) goes in the visitor's cookie; the sealed half in the person's row."""
    one_time = secrets.token_bytes(32)
    nonce = secrets.token_bytes(12)
    body = json.dumps({"p": list(key.params), "s": _b64(key.salt), "k": _b64(key.key)})
    sealed = AESGCM(one_time).encrypt(nonce, body.encode(), _aad(person_id, "person.totp_hold"))
    return _b64(one_time), "hold1:" + _b64(nonce + sealed)


def release(sealed: str | None, ticket: str | None, person_id: int) -> Key | None:
    """The key held by `hold`, or None (no hold, another sign-in replaced it, or a
    ticket that does not open it)."""
    if not sealed or not ticket or not sealed.startswith("hold1:"):
        return None
    try:
        one_time = _unb64(ticket)
        raw = _unb64(sealed[6:])
        body = json.loads(AESGCM(one_time).decrypt(raw[:12], raw[12:],
                                                   _aad(person_id, "person.totp_hold")))
        return Key(tuple(body["p"]), _unb64(body["s"]), _unb64(body["k"]))
    except (InvalidTag, ValueError, KeyError, TypeError):
        return None
