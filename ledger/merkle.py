"""Salted Merkle roots over a month's entries, and receipts that prove one entry is counted.

Every entry the app writes carries a random salt in its metadata
(`carebooks-salt: "<32 hex digits>"`). Sealing month M commits to the Merkle root of
M's salted entries, so a member or donor holding a *receipt* (their entry's text, its
salt and the path of sibling hashes) can check that their entry is part of the sealed
month against the root printed in the community's books and the month's PDF, and learn
nothing about anyone else's: every sibling is a hash of a salted entry, which cannot be
guessed from a date, an amount and a category.

The canonical form (docs/verify.md says the same for people checking by hand):

- **Entry text**: in the month's file (UTF-8), an entry is a line that starts with a
  digit, plus every line after it that starts with a space, up to (not including) the
  first line that is empty or starts with anything else; its text is those lines, each
  with its final "\\n". An entry is a leaf when one of its lines is exactly
  `  carebooks-salt: "<salt>"` with the salt 32 lowercase hex digits; the leaves are
  the month's salted entries in the order they stand in the file.
- **Leaf**: SHA-256 of the salt (its 32 hex characters) followed by the entry text,
  written as 64 lowercase hex digits.
- **Node**: SHA-256 of the left child's 64 hex characters followed by the right
  child's. A level with an odd number of nodes passes its last node up unchanged.
- **Root**: the one node left. A month without salted entries has no root (and its
  entries get no receipts).

Hex strings rather than raw bytes keep each step doable with `printf` and `sha256sum`;
a leaf's input (it holds "-" and spaces) can never be read as a node's (128 hex digits).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

SALT_KEY = "carebooks-salt"
_SALT_LINE = re.compile(rb'^  carebooks-salt: "([0-9a-f]{32})"\n$')
_ID_LINE = re.compile(rb'^  carebooks-id: "([^"]+)"\n$')


def new_salt() -> str:
    """A fresh random salt: 128 bits as 32 lowercase hex digits."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Leaf:
    """One salted entry of a month's file."""

    text: str           # the entry's lines, each ending in "\n"
    salt: str
    carebooks_id: str | None
    lineno: int         # the entry's first line in the file (1-based)

    @property
    def hash(self) -> str:
        """SHA-256 of salt + entry text, in hex."""
        return leaf_hash(self.salt, self.text)


def leaf_hash(salt: str, text: str) -> str:
    """SHA-256 of `salt` followed by `text` (both UTF-8), in hex."""
    return hashlib.sha256(salt.encode() + text.encode()).hexdigest()


def node_hash(left: str, right: str) -> str:
    """SHA-256 of the two children's hex digests, concatenated."""
    return hashlib.sha256((left + right).encode()).hexdigest()


def leaves(content: bytes) -> list[Leaf]:
    """The salted entries of a month file's bytes, in file order."""
    out: list[Leaf] = []
    lines = content.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        if not lines[i][:1].isdigit():
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and lines[i][:1] == b" " and lines[i].strip():
            i += 1
        block = lines[start:i]
        salt = next((m.group(1) for line in block if (m := _SALT_LINE.match(line))), None)
        if salt is None or not block[-1].endswith(b"\n"):
            continue
        cid = next((m.group(1) for line in block if (m := _ID_LINE.match(line))), None)
        out.append(Leaf(b"".join(block).decode(), salt.decode(),
                        cid.decode() if cid else None, start + 1))
    return out


def _levels(hashes: list[str]) -> list[list[str]]:
    levels = [hashes]
    while len(levels[-1]) > 1:
        level = levels[-1]
        levels.append([node_hash(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                       for i in range(0, len(level), 2)])
    return levels


def root(content: bytes) -> str:
    """The Merkle root of a month file's salted entries ("" when it has none)."""
    hashes = [leaf.hash for leaf in leaves(content)]
    return _levels(hashes)[-1][0] if hashes else ""


def path(content: bytes, carebooks_id: str) -> tuple[Leaf, int, list[dict]] | None:
    """(the leaf, its index, the sibling path from it to the root), or None if not a leaf.

    Each step of the path is `{"side": "left" | "right", "hash": <hex>}`: the side the
    sibling stands on. A step where a node passed up alone has no sibling and is left out.
    """
    found = leaves(content)
    index = next((i for i, leaf in enumerate(found) if leaf.carebooks_id == carebooks_id), None)
    if index is None:
        return None
    steps = []
    i = index
    for level in _levels([leaf.hash for leaf in found])[:-1]:
        sibling = i ^ 1
        if sibling < len(level):
            steps.append({"side": "left" if sibling < i else "right", "hash": level[sibling]})
        i //= 2
    return found[index], index, steps


def check(entry: str, salt: str, steps: list[dict], expected_root: str) -> bool:
    """True when `entry` with `salt` and `steps` leads to `expected_root`."""
    if f'  {SALT_KEY}: "{salt}"\n' not in entry:
        return False
    node = leaf_hash(salt, entry)
    for step in steps:
        node = (node_hash(step["hash"], node) if step["side"] == "left"
                else node_hash(node, step["hash"]))
    return node == expected_root
