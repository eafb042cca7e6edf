"""A separate writer process for the concurrency tests (run as a script, not collected).

Usage: concurrent_writer.py BOOKS_DIR WORKER GO_FILE MODE COUNT

Opens the books, prints "ready", waits until GO_FILE exists, then posts COUNT entries and
prints how many it created. MODE "own": groups of approve / donate / pay / cancel under
codes only this worker uses, money through its own cash account. MODE "shared": the same
COUNT approvals every worker posts (their ids collide on purpose).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from decimal import Decimal
from pathlib import Path

from ledger import Books, entries

ACCOUNTS = {1: "Assets:Fund:Cash", 2: "Assets:Fund:Venmo"}


def own(worker: int, count: int):
    """COUNT entries in groups of four, spread over January to March."""
    account = ACCOUNTS[worker]
    for k in range(count // 4):
        code = f"{worker}{k:05d}"
        day = dt.date(2026, 1 + k % 3, 1 + k % 28)
        yield entries.approval(f"R-2026-{code}", 1, day, "rent", Decimal("10.00"), "USD")
        yield entries.donation(f"D-2026-{code}", day, "event", account, Decimal("10.00"), "USD")
        yield entries.payment(f"R-2026-{code}", 1, day, "rent", "cash", account,
                              Decimal("6.00"), "USD")
        yield entries.cancellation(f"R-2026-{code}", 1, day, "rent", Decimal("4.00"), "USD")


def shared(count: int):
    """The same COUNT approvals for every worker."""
    for k in range(count):
        yield entries.approval(f"R-2026-9{k:05d}", 1, dt.date(2026, 1, 1 + k % 28), "food",
                               Decimal("1.00"), "USD")


def main() -> None:
    books_dir, worker, go, mode, count = sys.argv[1:6]
    books = Books.open(books_dir)
    todo = list(own(int(worker), int(count)) if mode == "own" else shared(int(count)))
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not Path(go).exists():
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.001)
    created = sum(books.post(entry).created for entry in todo)
    print(created, flush=True)


if __name__ == "__main__":
    main()
