"""Splitting the key that unlocks the fund's private key among people (Shamir).

The fund's X25519 private key is stored only *wrapped*: encrypted with AES-256-GCM under a
random 32-byte key-encryption key (KEK). The KEK is never stored. It is split with
PyCryptodome's Shamir secret sharing, which works on 16-byte secrets over GF(2^128): the
KEK's two halves are split separately with the same share numbers, so share *i* is the
pair (half-1 share *i*, half-2 share *i*), 32 bytes. Any K shares rebuild both halves; K-1
shares reveal nothing about either (each half is an independent degree K-1 polynomial).

PyCryptodome's `combine` returns *some* 16 bytes for any input, right or wrong; the
authenticated unwrap of the private key is what tells a right KEK from a wrong one, and
each share carries a checksum so that a typo is caught before that.

A share as people see it: 78 hex digits in groups of six —
`<split id, 8> <share number, 2> <share, 64> <checksum, 4>` — and the same as a QR code.
The split id names the split (not secret): a share from an older split is refused by name.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from dataclasses import dataclass

# The `Crypto` package here is PyCryptodome (maintained; pinned in pyproject.toml), not
# the abandoned PyCrypto that bandit B413 warns about: both install as `Crypto`.
from Crypto.Protocol.SecretSharing import Shamir  # nosec B413
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAX_SHARES = 16
_HEX = re.compile(r"[0-9a-f]{78}\Z")


class ShareError(ValueError):
    """A share that cannot be read, or shares that do not open the fund's key."""


@dataclass(frozen=True)
class Share:
    """One person's share of one split."""

    split_id: str    # 8 hex digits
    number: int      # 1..N
    value: bytes     # 32 bytes

    def text(self) -> str:
        """The share as 13 groups of six hex digits (what a holder writes down)."""
        raw = f"{self.split_id}{self.number:02x}{self.value.hex()}"
        raw += _checksum(raw)
        return " ".join(raw[i:i + 6] for i in range(0, len(raw), 6))

    def svg(self) -> str:
        """The share as an SVG QR code (the same text, spaces removed)."""
        import segno

        out = io.BytesIO()
        segno.make(self.text().replace(" ", ""), error="m").save(
            out, kind="svg", scale=4, xmldecl=False, svgns=True, title="share")
        return out.getvalue().decode()


def _checksum(raw_hex: str) -> str:
    return hashlib.sha256(b"carebooks-share:" + raw_hex.encode()).hexdigest()[:4]


def parse(text: str, field: str = "share") -> Share:
    """A share typed or scanned back in; a clear error naming the field otherwise."""
    raw = re.sub(r"[\s-]", "", text or "").lower()
    if not _HEX.match(raw):
        raise ShareError(f"{field}: a share is 78 hex digits (13 groups of six); "
                         f"found {len(raw)} characters")
    if _checksum(raw[:74]) != raw[74:]:
        raise ShareError(f"{field}: the checksum does not match; a digit was mistyped")
    number = int(raw[8:10], 16)
    if not 1 <= number <= MAX_SHARES:
        raise ShareError(f"{field}: share number {number} is out of range")
    return Share(raw[:8], number, bytes.fromhex(raw[10:74]))


def split(kek: bytes, needed: int, shares: int) -> list[Share]:
    """Split a 32-byte KEK into `shares` shares of which any `needed` rebuild it."""
    if len(kek) != 32:
        raise ValueError("the key-encryption key is 32 bytes")
    check_policy(needed, shares)
    split_id = secrets.token_hex(4)
    first = Shamir.split(needed, shares, kek[:16])
    second = Shamir.split(needed, shares, kek[16:])
    return [Share(split_id, i, a + b) for (i, a), (j, b) in zip(first, second) if i == j]


def check_policy(needed: int, shares: int) -> None:
    """Refuse a split nobody could open, or one person could open alone."""
    if not 2 <= needed <= shares <= MAX_SHARES:
        raise ShareError(f"--needed/--shares: need 2 <= needed ({needed}) <= shares "
                         f"({shares}) <= {MAX_SHARES}; one share alone must open nothing")


def combine(given: list[Share]) -> bytes:
    """The KEK rebuilt from shares of one split (unverified: unwrap() verifies it)."""
    if len({s.split_id for s in given}) != 1:
        raise ShareError("shares: these shares come from different splits")
    if len({s.number for s in given}) != len(given):
        raise ShareError("shares: the same share was entered twice")
    first = Shamir.combine([(s.number, s.value[:16]) for s in given])
    second = Shamir.combine([(s.number, s.value[16:]) for s in given])
    return first + second


def _aad(kid: str, split_id: str) -> bytes:
    return f"carebooks-custody-wrap:{kid}:{split_id}".encode()


def wrap(private_raw: bytes, kek: bytes, kid: str, split_id: str) -> bytes:
    """The private key encrypted under the KEK (nonce | ciphertext and tag)."""
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(kek).encrypt(nonce, private_raw, _aad(kid, split_id))


def unwrap(wrapped: bytes, kek: bytes, kid: str, split_id: str) -> bytes:
    """The private key, or ShareError when the KEK is wrong (too few or wrong shares)."""
    try:
        return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], _aad(kid, split_id))
    except (InvalidTag, ValueError):
        raise ShareError("shares: these shares do not open the fund's key (too few of "
                         "them, or one is wrong)") from None
