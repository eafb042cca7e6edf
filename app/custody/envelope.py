"""Sealing text to the fund's custody public key, and opening it with the private key.

A sealed value is

    cb2:<key id>:<base64url(ephemeral public key | nonce | AES-256-GCM ciphertext and tag)>

Each value gets its own data key: a fresh X25519 key pair is made for it, its private half
meets the fund's public key (Diffie-Hellman), HKDF-SHA256 turns the shared secret into a
256-bit AES key bound to the column, and the ephemeral private half is dropped at once. So
the server can seal new stories with the public key alone, and only the fund's private key
(rebuilt in memory from treasurers' shares, see `app/custody/shares.py`) opens them. The
column's name is the associated data, as for `cb1:` values: a value cannot be moved to
another column unnoticed.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "cb2:"
NONCE = 12
_SEALED = re.compile(r"cb2:([0-9a-f]{8}):([A-Za-z0-9_-]+)\Z")
_RAW = serialization.Encoding.Raw


class OpenError(ValueError):
    """A sealed value that does not open with this key (altered, or another column's)."""


def raw_public(public: X25519PublicKey) -> bytes:
    """The 32 bytes of a public key."""
    return public.public_bytes(_RAW, serialization.PublicFormat.Raw)


def raw_private(private: X25519PrivateKey) -> bytes:
    """The 32 bytes of a private key (only ever held in memory)."""
    return private.private_bytes(_RAW, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())


def public_id(public_raw: bytes) -> str:
    """A short public name for a custody key (8 hex digits of a hash of its public half)."""
    return hashlib.sha256(b"carebooks-custody-key-id:" + public_raw).hexdigest()[:8]


def is_sealed(stored: str | None) -> bool:
    """True when `stored` is a `cb2:` value."""
    return bool(stored) and _SEALED.match(stored) is not None


def sealed_kid(stored: str) -> str | None:
    """The custody key id of a `cb2:` value (None for anything else)."""
    match = _SEALED.match(stored or "")
    return match.group(1) if match else None


def _data_key(shared: bytes, eph: bytes, recipient: bytes, column: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=eph + recipient,
                info=f"carebooks-custody:{column}".encode()).derive(shared)


def seal(plain: str, column: str, public_raw: bytes) -> str:
    """`plain` sealed to the public key `public_raw`, bound to `column`."""
    eph = X25519PrivateKey.generate()
    eph_pub = raw_public(eph.public_key())
    shared = eph.exchange(X25519PublicKey.from_public_bytes(public_raw))
    key = _data_key(shared, eph_pub, public_raw, column)
    nonce = secrets.token_bytes(NONCE)
    body = AESGCM(key).encrypt(nonce, plain.encode("utf-8"), column.encode())
    text = base64.urlsafe_b64encode(eph_pub + nonce + body).decode().rstrip("=")
    return f"{PREFIX}{public_id(public_raw)}:{text}"


def open_sealed(stored: str, column: str, private: X25519PrivateKey) -> str:
    """The text of a `cb2:` value, opened with the private key."""
    match = _SEALED.match(stored)
    if match is None:
        raise OpenError(f"{column}: not a sealed value")
    body = match.group(2)
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    eph_pub, nonce, box = raw[:32], raw[32:32 + NONCE], raw[32 + NONCE:]
    public_raw = raw_public(private.public_key())
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        key = _data_key(shared, eph_pub, public_raw, column)
        return AESGCM(key).decrypt(nonce, box, column.encode()).decode("utf-8")
    except (InvalidTag, ValueError):
        raise OpenError(f"{column}: a value under custody key {match.group(1)} does not "
                        "authenticate; it was altered, or copied from another column") from None
