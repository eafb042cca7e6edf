"""A statement file kept between its preview and the treasurer's confirmation.

Bank and PayPal files hold other people's names, so the bytes are encrypted with the data
key (`app.crypto`), kept under the instance folder readable by the app alone, deleted on
confirm or cancel, and swept after an hour whatever happens.
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
        return base64.b64decode(crypto.decrypt(sealed, _COLUMN))
    except Exception:  # noqa: BLE001 - a key rotated away or a damaged file: upload again
        path.unlink(missing_ok=True)
        raise InvalidInput(_("file: this preview has expired; upload the file again"),
                           field="file") from None


def drop(person_id: int, token: str) -> None:
    """Delete the held file (nothing if it is already gone)."""
    try:
        _path(person_id, token).unlink(missing_ok=True)
    except InvalidInput:
        pass
