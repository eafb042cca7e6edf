"""Private files of the instance (the data key file, the custody file) and the error a
missing or wrong key raises: below both `app.crypto` and `app.custody`, which use them and
so no longer import each other both ways (tests/test_import_graph.py)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class DataKeyError(RuntimeError):
    """The data key is missing, wrong, or the stored value was altered."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def file_signature(path: Path) -> tuple | None:
    """What tells a file changed (inode, size, mtime), or None if it is not there."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def write_private_file(path: Path, body: str) -> None:
    """Replace `path` with `body`, readable by this user only: a 0600 temporary file,
    fsync, rename, fsync the folder (a key file, the custody file)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
