"""How every worker learns at once that what the public sees has changed.

The public page and summary are kept per process (app.workflow.summary) and answered
without Flask (app.api.kept). What they show changes with the day, the books' options
(`main.beancount`: the fund's name), a seal (`seals.beancount`), a published report (the
reports folder) and, with no file of their own, an auditor's attestation or the privacy
policy, which live in the database. Those last two append one line to the instance's
`public-changes` file, so that each of these changes is one `os.stat` away from every
worker: a kept read stats these four paths (about 1 µs each) instead of working the key
out again (docs/performance.md, "Public reads without the key's work").
"""

from __future__ import annotations

import datetime as dt
import os

from flask import current_app

FILE = "public-changes"


def path() -> str:
    """The instance's file of public changes (one line per attestation or policy change)."""
    return os.path.join(current_app.instance_path, FILE)


def touch(reason: str) -> None:
    """Record that what the public sees changed (after the change is committed). The file
    only grows, so its size changes even where the clock's grain is coarse."""
    line = f"{dt.datetime.now(dt.UTC).isoformat(timespec='microseconds')} {reason}\n"
    fd = os.open(path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def public_paths() -> tuple[str, ...]:
    """The paths whose change changes what the public sees."""
    from app.fund import books

    folder = str(books().dir)
    return (os.path.join(folder, "main.beancount"), os.path.join(folder, "seals.beancount"),
            os.path.join(current_app.instance_path, "reports"), path())


def signature(paths: tuple[str, ...]) -> tuple:
    """(mtime, size, inode) of each path, None for one that does not exist."""
    out = []
    for name in paths:
        try:
            st = os.stat(name)
        except FileNotFoundError:
            out.append(None)
        else:
            out.append((st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(out)
