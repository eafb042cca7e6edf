"""File modes of an instance: only the operator may read the database, its `-wal` and
`-shm`, the keys and the folder that holds them (issue 16, item 9).

Under systemd the unit's `UMask=0077` sees to it; outside it (a shell, `make run`, a
container) nothing did. `restrict_umask` makes every file and folder the process creates
from then on 0600/0700, and `loose_modes` names what other local users can still read
(a warning at start, a line of `carebooks check`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

UMASK = 0o077
# what only the operator may read: the folder itself and what it holds that is private
PRIVATE = ("carebooks.db", "carebooks.db-wal", "carebooks.db-shm", "data.key", "secret_key")


def restrict_umask() -> int:
    """Set the process umask to 077; return the one it replaces."""
    return os.umask(UMASK)


def loose_modes(instance: Path) -> list[str]:
    """One sentence per private path in `instance` that group or others may use."""
    found = []
    for path in [instance, *(instance / name for name in PRIVATE)]:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            want = "700" if path.is_dir() else "600"
            found.append(f"{path} is mode {mode:04o}: other local users can read it "
                         f"(chmod {want} {path})")
    return found
