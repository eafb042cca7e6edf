"""A statement file kept between its preview and the treasurer's confirmation.

Bank and PayPal files hold other people's names, so the bytes are encrypted with the data
key (`app.crypto`), kept under the instance folder readable by the app alone, deleted on
confirm or cancel, and swept after an hour whatever happens. Under custody they are
sealed to the fund's public key instead (column `upload.statement` is one custody
covers): a file can be held while the fund is locked, but read back — to confirm the
import — only while it is unlocked (`Held` says which).
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import time
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from app import crypto
from app.workflow.errors import InvalidInput

HOLD_SECONDS = 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
_COLUMN = "upload.statement"


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "uploads"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _path(person_id: int, token: str) -> Path:
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise InvalidInput(_("file: this preview has expired; upload the file again"),
                           field="file")
    return _folder() / f"{int(person_id)}-{token}"


def sweep(now: float | None = None) -> int:
    """Delete every held file older than an hour; return how many."""
    now = now or time.time()
    gone = 0
    for path in _folder().iterdir():
        try:
            if now - path.stat().st_mtime > HOLD_SECONDS:
                path.unlink()
                gone += 1
        except FileNotFoundError:
            continue
    return gone


def hold(person_id: int, data: bytes) -> str:
    """Keep `data` for `person_id`'s confirmation; return the token that names it."""
    sweep()
    token = secrets.token_urlsafe(24)
    sealed = crypto.encrypt(base64.b64encode(data).decode("ascii"), _COLUMN)
    fd = os.open(_path(person_id, token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(sealed)
    return token


def take(person_id: int, token: str) -> bytes:
    """The bytes held under `token` for this person (InvalidInput once gone or expired)."""
    path = _path(person_id, token)
    try:
        if time.time() - path.stat().st_mtime > HOLD_SECONDS:
            path.unlink(missing_ok=True)
            raise FileNotFoundError
        sealed = path.read_text()
    except FileNotFoundError:
        raise InvalidInput(_("file: this preview has expired; upload the file again"),
                           field="file") from None
    try:
        opened = crypto.decrypt(sealed, _COLUMN)
        if getattr(opened, "locked", False) and not getattr(opened, "shredded", False):
            raise FundLocked(_("file: held and sealed (%(locked)s); confirm again within "
                               "the hour once the fund is unlocked", locked=opened),
                             field="file")
        return base64.b64decode(opened, validate=True)
    except FundLocked:
        raise
    except Exception:  # noqa: BLE001 - a key rotated away, shredded, damaged: upload again
        path.unlink(missing_ok=True)
        raise InvalidInput(_("file: this preview has expired; upload the file again"),
                           field="file") from None


class FundLocked(InvalidInput):
    """A held file sealed to the custody key while the fund is locked (it stays held)."""


def is_sealed(person_id: int, token: str) -> bool:
    """True when the held file is sealed to the custody key and the fund is locked."""
    from app import custody

    try:
        sealed = _path(person_id, token).read_text()
    except (FileNotFoundError, InvalidInput):
        return False
    return sealed.startswith(crypto.CUSTODY_PREFIX) and not custody.is_unlocked()


def reseal_held() -> int:
    """Seal every held file not sealed yet to the custody key (the custody migration).
    Each file is replaced atomically and keeps its age, so a crash leaves it whole."""
    done = 0
    for path in sorted(_folder().iterdir()):
        if path.name.startswith("."):
            continue
        try:
            sealed, age = path.read_text(), path.stat()
        except FileNotFoundError:
            continue
        if sealed.startswith(crypto.CUSTODY_PREFIX):
            continue
        try:
            new = crypto.encrypt(crypto.decrypt(sealed, _COLUMN), _COLUMN)
        except crypto.DataKeyError:  # unreadable already: it would never be imported
            path.unlink(missing_ok=True)
            continue
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(new)
            fh.flush()
            os.fsync(fh.fileno())
        os.utime(tmp, ns=(age.st_atime_ns, age.st_mtime_ns))
        os.replace(tmp, path)
        done += 1
    return done


def drop(person_id: int, token: str) -> None:
    """Delete the held file (nothing if it is already gone)."""
    try:
        _path(person_id, token).unlink(missing_ok=True)
    except InvalidInput:
        pass
