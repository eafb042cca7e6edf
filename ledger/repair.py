"""Cut a torn last entry off a books file — only when the caller can prove it is a copy.

A writer killed in the middle of its `write` (or a power cut before the fsync reached the
disk) can leave the last entry of a month file incomplete. The app appends every entry as
a blank line followed by the entry's text, so the torn piece is everything after the last
blank line. It is cut only when `is_ours` recognises it as the beginning of an entry the
caller still holds in full (the app's outbox); the cut bytes are kept under
`.carebooks/torn/` and the caller writes the whole entry again. Anything else — a file
edited by hand, damage in the middle — is left alone for a person to look at.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ledger.books import LOCK, META_DIR
from ledger.files import FileIO, atomic_write, fsync_dir, locked

TORN_DIR = "torn"


@dataclass(frozen=True)
class TornTail:
    """One torn last entry that was cut off a file."""

    filename: str   # relative to the books folder
    lineno: int     # the line the torn entry started on
    size: int       # bytes cut
    kept_at: str    # where the cut bytes were saved, relative to the books folder


def torn_piece(content: bytes) -> int | None:
    """Where the last entry of `content` starts (after its blank line), or None if the
    file holds no blank line or ends with one."""
    blank = content.rfind(b"\n\n")
    if blank < 0 or blank + 2 >= len(content):
        return None
    return blank + 1


def cut_torn_tail(books_dir: Path | str, rel: str, is_ours: Callable[[bytes], bool],
                  fileio: FileIO | None = None) -> TornTail | None:
    """Cut the torn last entry of `rel` if `is_ours(piece)` says it is a prefix of an entry
    the caller will write again; return what was cut, or None when nothing was."""
    root = Path(books_dir)
    fio = fileio or FileIO()
    path = root / rel
    meta = root / META_DIR
    with locked(meta / LOCK):
        content = path.read_bytes()
        start = torn_piece(content)
        if start is None or not is_ours(content[start:]):
            return None
        piece = content[start:]
        keep = meta / TORN_DIR
        keep.mkdir(exist_ok=True)
        kept = keep / f"{rel.replace('/', '_')}.{time.time_ns()}.torn"
        atomic_write(kept, piece, fio)
        fd = os.open(path, os.O_WRONLY)
        try:
            os.ftruncate(fd, start)
            fio.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(path.parent, fio)
    return TornTail(rel, content.count(b"\n", 0, start) + 2, len(piece),
                    str(kept.relative_to(root)))
