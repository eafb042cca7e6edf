"""Durable file operations for the books: a cross-process lock, appends that are
flushed and fsynced, atomic replacement of small files, and the signatures that tell
when a file changed behind this process.

`FileIO` is the seam for fault injection: tests replace `write` or `fsync` to simulate
a full disk (ENOSPC) or a failing device (EIO).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


class FsyncFailed(OSError):
    """fsync reported an error: what was written may or may not be on disk."""


def _fsync(io: "FileIO", fd: int) -> None:
    try:
        io.fsync(fd)
    except OSError as exc:
        raise FsyncFailed(exc.errno, exc.strerror or str(exc)) from exc


class FileIO:
    """The two system calls a durable append needs; override them to inject faults."""

    def write(self, fd: int, data: bytes) -> None:
        """Write all of `data` to `fd`."""
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    def fsync(self, fd: int) -> None:
        """Flush `fd` to stable storage."""
        os.fsync(fd)


def fsync_dir(path: Path, io: FileIO) -> None:
    """Make a directory's entries (a new or renamed file) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _fsync(io, fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, io: FileIO) -> None:
    """Replace `path` with `data`: write a temporary file, fsync, rename, fsync the folder."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        io.write(fd, data)
        _fsync(io, fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent, io)


@contextmanager
def locked(lock_path: Path, *, shared: bool = False):
    """Hold an flock on `lock_path` (exclusive unless `shared`) for the block."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@dataclass
class FileSig:
    """What this process knows of one file: identity, size, mtime, content hash, lines."""

    ino: int
    size: int
    mtime_ns: int
    lines: int
    hasher: "hashlib._Hash" = field(repr=False)
    path: str = ""  # kept as a string: building a Path per stat costs more than the stat

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the content this process knows."""
        return self.hasher.hexdigest()

    @classmethod
    def of(cls, path: Path, content: bytes) -> FileSig:
        """Signature of `path` whose current content is `content`."""
        st = os.stat(path)
        return cls(st.st_ino, len(content), st.st_mtime_ns, content.count(b"\n"),
                   hashlib.sha256(content), str(path))

    def appended(self, data: bytes, st: os.stat_result) -> None:
        """Record that `data` was appended and the file now stats as `st`."""
        self.hasher.update(data)
        self.size += len(data)
        self.lines += data.count(b"\n")
        self.ino, self.mtime_ns = st.st_ino, st.st_mtime_ns


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (what `sha256sum` prints)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
