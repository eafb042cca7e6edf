"""Helpers shared by the ledger tests: an independent reading of the books, file hashes.

`full_view` recomputes everything a user sees (balances, cash, committed, available,
outstanding per request, the carebooks-ids) straight from `beancount.loader`, without
any code from `ledger.state`, so a test can hold `Books.state` against it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from beancount import loader
from beancount.core import data

from tests.books_check import bean_check_errors, fava_errors  # noqa: F401  (re-exported)
import ledger  # noqa: F401  (switches Beancount's pickle cache off before any load)

ZERO = Decimal(0)
APPROVED = "Liabilities:Aid:Approved"


def tree_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under `root` (the books and `.carebooks/`), by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@dataclass
class View:
    """The books as a full Beancount load sees them."""

    balances: dict[str, Decimal]
    outstanding: dict[str, Decimal]
    ids: Counter
    transactions: int
    entries: int

    @property
    def cash(self) -> Decimal:
        """Sum of the Assets:Fund:* accounts."""
        return sum((v for a, v in self.balances.items() if a.startswith("Assets:Fund:")), ZERO)

    @property
    def committed(self) -> Decimal:
        """Approved and unpaid (Liabilities:Aid:Approved, as a positive number)."""
        return -self.balances.get(APPROVED, ZERO)

    @property
    def available(self) -> Decimal:
        """Cash minus what is committed."""
        return self.cash - self.committed


def full_view(main: Path) -> View:
    """Load `main` with Beancount's own loader (must be error-free) and add it all up."""
    entries, errors, _ = loader.load_file(str(main))
    assert not errors, [e.message for e in errors]
    balances: dict[str, Decimal] = {}
    per_link: dict[str, Decimal] = {}
    ids: Counter = Counter()
    txns = 0
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        txns += 1
        if "carebooks-id" in entry.meta:
            ids[entry.meta["carebooks-id"]] += 1
        for posting in entry.postings:
            number = posting.units.number
            balances[posting.account] = balances.get(posting.account, ZERO) + number
            if posting.account == APPROVED:
                for link in entry.links:
                    per_link[link] = per_link.get(link, ZERO) - number
    return View({a: v for a, v in balances.items() if v != 0},
                {k: v for k, v in per_link.items() if v != 0}, ids, txns, len(entries))


def state_balances(state) -> dict[str, Decimal]:
    """The non-zero balances a `BooksState` holds."""
    return {a: v for a, v in state.balances.items() if v != 0}


def assert_state_matches(state, view: View) -> None:
    """`Books.state` agrees with the independent full load on everything a user sees."""
    assert state_balances(state) == view.balances
    assert state.cash() == view.cash
    assert state.committed() == view.committed
    assert state.available() == view.available
    for link, amount in view.outstanding.items():
        assert state.outstanding(link) == amount, link
    assert set(state.ids) == set(view.ids)
