"""The seal chain: each closed month's file hash, chained to the seal before it.

A seal for month M is written to `seals.beancount`, dated the first day of M+1:

    2026-12-01 custom "carebooks-seal" "2026-11" "<sha256 of 2026/2026-11.beancount>"
      "<previous seal hash>" "<this seal hash>" "<Merkle root of M's salted entries>"

where this seal hash is the SHA-256 of the lines `M`, the file hash, the previous seal
hash and the Merkle root (`ledger/merkle.py`), each followed by a newline, so anyone can
recompute it with `printf '%s\n%s\n%s\n%s\n' 2026-11 FILEHASH PREVHASH ROOT | sha256sum`.
Seals written before Merkle roots existed (and months without salted entries) have no
root: four values, and the hash of the first three lines only. The first seal's previous
hash is 64 zeros.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from beancount.core import amount as bc_amount
from beancount.core import data
from beancount.parser.grammar import ValueType

from ledger import merkle
from ledger.months import Month
from ledger.state import GENESIS, SEAL_TYPE, Seal


def seal_hash(month: str, file_sha256: str, prev: str, merkle_root: str = "") -> str:
    """The hash of one seal: SHA-256 of `month\\nfile_sha256\\nprev\\n[merkle_root\\n]`."""
    root = f"{merkle_root}\n" if merkle_root else ""
    return hashlib.sha256(f"{month}\n{file_sha256}\n{prev}\n{root}".encode()).hexdigest()


def seal_entries(month: str, file_sha256: str, prev: str,
                 statements: dict[str, Decimal], currency: str, *,
                 merkle_root: str = "") -> tuple[list, Seal]:
    """The balance assertions and the seal directive that close `month`."""
    date = Month(month).end
    entries: list = []
    for account, number in sorted(statements.items()):
        meta = data.new_metadata("<carebooks>", 0)
        entries.append(data.Balance(meta, date, account,
                                    bc_amount.Amount(number, currency), None, None))
    digest = seal_hash(month, file_sha256, prev, merkle_root)
    meta = data.new_metadata("<carebooks>", 0)
    meta["carebooks-id"] = f"seal:{month}"
    values = [ValueType(str(v), str) for v in (month, file_sha256, prev, digest, merkle_root) if v]
    entries.append(data.Custom(meta, date, SEAL_TYPE, values))
    return entries, Seal(month, file_sha256, prev, digest, date, merkle_root)


@dataclass
class Verification:
    """The outcome of `verify`: ok, or the first month whose seal no longer holds."""

    ok: bool
    sealed_through: str | None
    first_bad_month: str | None = None
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.ok:
            upto = self.sealed_through or "no month yet"
            return f"seal chain intact (sealed through {upto})"
        return "seal chain broken at " + str(self.first_bad_month) + ": " + "; ".join(self.problems)


def verify_chain(books_dir: Path, seals: list[Seal]) -> Verification:
    """Recompute every seal from the files; name the first month that no longer matches."""
    prev = GENESIS
    expected_month = None
    for seal in seals:
        month = Month.parse(seal.month)
        if month is None:
            return Verification(False, seals[-1].month, seal.month,
                                [f"{seal.month[:20]!r} is not a month like 2026-11"])
        problems = []
        if expected_month is not None and seal.month != expected_month:
            problems.append(f"expected a seal for {expected_month} next, found {seal.month}")
        if seal.prev != prev:
            problems.append("its previous-seal hash does not match the seal before it")
        if seal.seal_hash != seal_hash(seal.month, seal.file_sha256, seal.prev,
                                       seal.merkle_root):
            problems.append("its seal hash does not match its contents")
        path = month.path(books_dir)
        if not path.exists():
            problems.append(f"{path.relative_to(books_dir)} is missing")
        else:
            content = path.read_bytes()
            now = hashlib.sha256(content).hexdigest()
            if now != seal.file_sha256:
                problems.append(f"{path.relative_to(books_dir)} changed after it was sealed "
                                f"(sha256 now {now[:12]}..., sealed {seal.file_sha256[:12]}...)")
            elif seal.merkle_root and merkle.root(content) != seal.merkle_root:
                problems.append(f"its Merkle root is not the root of "
                                f"{path.relative_to(books_dir)}'s entries")
        if problems:
            return Verification(False, seals[-1].month, seal.month, problems)
        prev = seal.seal_hash
        expected_month = month.next()
    return Verification(True, seals[-1].month if seals else None)
