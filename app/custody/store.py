"""The custody file, `<instance>/custody.json` (mode 0600): the public key, the private key
*wrapped* under the treasurers' split key, and the custody state. It holds nothing that
opens a story without K shares. It is replaced atomically (temporary file, fsync, rename,
fsync of the folder), so every change to it is all-or-nothing, even under SIGKILL.

    {"format": 1, "state": "new" | "active",
     "key_id": "…", "public_key": "<base64>",
     "split":   {"id", "needed", "shares", "wrapped", "made"}   the split in force
     "pending": {…} | null       a re-split whose shares are being handed out
     "generation": n             bumped by `carebooks lock`: every worker drops its key
     "shredded": [{"key_id", "at"}]  keys destroyed by `carebooks custody shred`}

State "new" means the shares of the first split are being shown: nothing is sealed to
this key until the file says "active", so a crash before the shares were seen loses
nothing (setup starts again with a new key).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

FILE = "custody.json"
_lock = threading.Lock()
_cache: dict[str, tuple[tuple, "Custody | None"]] = {}


@dataclass(frozen=True)
class Split:
    """One split of the key-encryption key: which shares open the wrapped private key."""

    id: str
    needed: int
    shares: int
    wrapped: bytes
    made: str


@dataclass(frozen=True)
class Custody:
    """The custody file's contents."""

    state: str
    key_id: str
    public_key: bytes | None
    split: Split | None
    pending: Split | None = None
    generation: int = 0
    shredded: tuple[dict, ...] = field(default_factory=tuple)

    @property
    def sealing(self) -> bool:
        """True when new values are sealed to the public key."""
        return self.state == "active" and self.public_key is not None

    def with_(self, **changes) -> "Custody":
        return replace(self, **changes)


def path_for(instance: Path) -> Path:
    return Path(instance) / FILE


def _b64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode()


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def _split_json(s: Split | None) -> dict | None:
    if s is None:
        return None
    return {"id": s.id, "needed": s.needed, "shares": s.shares, "wrapped": _b64(s.wrapped),
            "made": s.made}


def _split_from(d: dict | None) -> Split | None:
    if not d:
        return None
    return Split(d["id"], int(d["needed"]), int(d["shares"]), _unb64(d["wrapped"]), d["made"])


def dumps(c: Custody) -> str:
    return json.dumps({"format": 1, "state": c.state, "key_id": c.key_id,
                       "public_key": _b64(c.public_key), "split": _split_json(c.split),
                       "pending": _split_json(c.pending), "generation": c.generation,
                       "shredded": list(c.shredded)}, indent=1) + "\n"


def loads(text: str) -> Custody:
    d = json.loads(text)
    return Custody(d["state"], d["key_id"], _unb64(d.get("public_key")),
                   _split_from(d.get("split")), _split_from(d.get("pending")),
                   int(d.get("generation", 0)), tuple(d.get("shredded", ())))


def read(path: Path) -> Custody | None:
    """The custody file at `path` (None when the fund is not under custody)."""
    from app.keyfiles import file_signature

    sig = file_signature(path)
    with _lock:
        hit = _cache.get(str(path))
        if hit is not None and hit[0] == sig:
            return hit[1]
    custody = None if sig is None else loads(path.read_text())
    with _lock:
        _cache[str(path)] = (sig, custody)
    return custody


def write(path: Path, custody: Custody | None) -> None:
    """Replace (or, with None, remove) the custody file atomically and durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if custody is None:
        path.unlink(missing_ok=True)
        dir_fd = os.open(path.parent, os.O_RDONLY)  # the removal, durable
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    else:
        from app.keyfiles import write_private_file

        write_private_file(path, dumps(custody))
    with _lock:
        _cache.pop(str(path), None)
