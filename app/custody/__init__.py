"""Custody: the key that opens what people wrote lives in treasurers' hands, not on disk.

When a fund is under custody (`carebooks custody split`), the stories, notes, donor names
and replayed API answers are sealed to the fund's X25519 public key (`envelope.py`). The
private key is stored only wrapped under a key that is split among treasurers
(`shares.py`, `store.py`); K shares entered on the unlock page rebuild it into one page of
shared memory (`memory.py`) until the fund is locked again (idle time, `carebooks lock`,
a re-split, a shred, or a restart). While locked, the server still *seals* new text with
the public key; reading a sealed value gives a `Locked` placeholder instead of the text.

`app/crypto.py` calls `seal_for` and `open_for` for the columns in COLUMNS: what people
wrote, uploaded statement files held for an import (`app/workflow/uploads.py`), and a
second-factor secret not yet wrapped under its person's password (`factor.py`; the
custody migration seals those, so that the data key opens none). The outbox's entries
bound for the public books stay under the data key, and docs/privacy.md says why.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from app.custody import envelope, memory, shares, store

COLUMNS = frozenset({"aid_request.story", "aid_request.contact", "request_note.body",
                     "donation.donor_name", "payment.reference", "payment.note",
                     "idempotency_key.response", "person.totp_secret", "upload.statement"})
IDLE_ENV = "CAREBOOKS_CUSTODY_IDLE_MINUTES"
DEFAULT_IDLE_MINUTES = 30


class Locked(str):
    """What a sealed value reads as while the fund is locked: a sentence, never the text.

    It is a `str` so that pages render it where the text would be; `crypto` refuses to
    store it, so a locked placeholder can never overwrite the real text."""

    locked = True
    shredded = False


class Shredded(Locked):
    """A value sealed to a key that `carebooks custody shred` destroyed: gone for good."""

    shredded = True


def locked_text(needed: int) -> Locked:
    return Locked(f"locked: {needed} treasurers must unlock")


def instance_dir() -> Path:
    """The instance folder of the current app (or of $CAREBOOKS_INSTANCE outside one)."""
    from flask import current_app, has_app_context

    if has_app_context():
        return Path(current_app.instance_path)
    from app.config import instance_path

    return instance_path()


def file_path() -> Path:
    return store.path_for(instance_dir())


def current() -> store.Custody | None:
    """The custody file of this instance (None: not under custody)."""
    return store.read(file_path())


def idle_seconds() -> float:
    """How long an unused unlock lasts (CAREBOOKS_CUSTODY_IDLE_MINUTES, default 30)."""
    from flask import current_app, has_app_context

    raw = None
    if has_app_context():
        raw = current_app.config.get(IDLE_ENV)
    raw = raw or os.environ.get(IDLE_ENV)
    try:
        minutes = float(raw) if raw else DEFAULT_IDLE_MINUTES  # float-ok: minutes, not money
    except ValueError:
        minutes = DEFAULT_IDLE_MINUTES
    return max(minutes, 0.0) * 60


def private_key(custody: store.Custody | None = None) -> X25519PrivateKey | None:
    """The unlocked private key, or None while locked (idle time is checked here)."""
    custody = custody or current()
    if custody is None or custody.split is None or custody.public_key is None:
        return None
    raw = memory.get(custody.key_id, custody.split.id, custody.generation, idle_seconds())
    if raw is None:
        return None
    return X25519PrivateKey.from_private_bytes(raw)


def is_unlocked() -> bool:
    return private_key() is not None


def seal_for(plain: str, column: str) -> str | None:
    """`plain` sealed to the custody key when the fund is under custody and `column` is
    one custody covers; None otherwise (the caller then uses the data key)."""
    if column not in COLUMNS:
        return None
    custody = current()
    if custody is None or not custody.sealing:
        return None
    return envelope.seal(plain, column, custody.public_key)


def open_for(stored: str, column: str) -> str:
    """The text of a `cb2:` value, or a Locked / Shredded placeholder."""
    from app.keyfiles import DataKeyError

    kid = envelope.sealed_kid(stored)
    custody = current()
    if custody is None:
        raise DataKeyError(f"{column}: this value is sealed to custody key {kid}, but "
                           f"{file_path()} does not exist; restore it from the backup")
    if any(s.get("key_id") == kid for s in custody.shredded):
        return Shredded("removed: the fund's key was destroyed")
    needed = custody.split.needed if custody.split else 2
    if kid != custody.key_id:
        raise DataKeyError(f"{column}: this value is sealed to custody key {kid}; the "
                           f"custody file holds key {custody.key_id}")
    key = private_key(custody)
    if key is None:
        return locked_text(needed)
    try:
        return envelope.open_sealed(stored, column, key)
    except envelope.OpenError as exc:
        raise DataKeyError(str(exc)) from None


def unlock(share_texts: list[str]) -> store.Custody:
    """Rebuild the private key from K shares into memory; ShareError when they do not
    open it. Shares of a re-split still being handed out open it too."""
    custody = current()
    if custody is None or custody.split is None:
        raise shares.ShareError("custody: this fund is not under custody, or its key was "
                                "destroyed")
    private_raw = open_with_shares(custody, share_texts)
    memory.put(custody.key_id, custody.split.id, custody.generation, private_raw)
    return custody


def open_with_shares(custody: store.Custody, share_texts: list[str]) -> bytes:
    """The raw private key opened by these shares (in memory only)."""
    given = [shares.parse(t, f"share {i}") for i, t in enumerate(share_texts, 1) if t.strip()]
    if not given:
        raise shares.ShareError("shares: enter the shares")
    split_id = given[0].split_id
    split = next((s for s in (custody.split, custody.pending)
                  if s is not None and s.id == split_id), None)
    if split is None:
        raise shares.ShareError("shares: these shares belong to an older split; they open "
                                "nothing any more")
    if len(given) < split.needed:
        raise shares.ShareError(f"shares: {split.needed} shares are needed; "
                                f"{len(given)} given")
    kek = shares.combine(given)
    return shares.unwrap(split.wrapped, kek, custody.key_id, split.id)


def lock() -> None:
    """Drop the key from this process's page (and so from every worker sharing it)."""
    memory.wipe()
