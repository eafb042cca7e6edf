"""Settings, read from the environment in one place.

`CAREBOOKS_INSTANCE` names the instance folder (default `./instance`): it holds the
SQLite database, the books folder and the keys. `DATABASE_URL` switches to PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def instance_path(override: str | os.PathLike | None = None) -> Path:
    """The instance folder: `override`, else `$CAREBOOKS_INSTANCE`, else `./instance`."""
    raw = override or os.environ.get("CAREBOOKS_INSTANCE") or "instance"
    return Path(raw).expanduser().resolve()


def _secret_key(folder: Path) -> str:
    """The Flask secret key: `$CAREBOOKS_SECRET_KEY`, else a file made once in the instance."""
    if os.environ.get("CAREBOOKS_SECRET_KEY"):
        return os.environ["CAREBOOKS_SECRET_KEY"]
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def load_settings(folder: Path) -> dict:
    """Flask config values for an instance folder, with environment overrides."""
    return {
        "SECRET_KEY": _secret_key(folder),
        "BOOKS_DIR": str(folder / "books"),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{folder / 'carebooks.db'}",
        "MAX_CONTENT_LENGTH": 1 * 1024 * 1024,
        # notifications (docs/notifications.md): the relay, the sender's address, and the
        # fund's own address, the only link a message carries
        "SMTP_URL": os.environ.get("CAREBOOKS_SMTP_URL") or None,
        "SMTP_FROM": os.environ.get("CAREBOOKS_SMTP_FROM") or None,
        "BASE_URL": os.environ.get("CAREBOOKS_BASE_URL") or None,
    }
