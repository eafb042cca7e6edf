"""What the books add up to, kept in memory and updated one entry at a time.

`BooksState` holds balances per account, per month and per link, the set of
carebooks-ids with where each one stands, the accounts open, the last balance
assertion per account and the seal chain. It is built from entries (by a full load or
from a snapshot plus the open months) and then updated incrementally by `apply`, so the
write path never re-parses the books.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from ledger import accounts as acc
from ledger.entries import ID_KEY
from ledger.months import month_file, month_of  # noqa: F401 - month_file kept importable here

ZERO = Decimal(0)
SEAL_TYPE = "carebooks-seal"
GENESIS = "0" * 64


@dataclass(frozen=True)
class Seal:
    """One link of the seal chain: month M's file hash and the previous seal's hash."""

    month: str
    file_sha256: str
    prev: str
    seal_hash: str
    date: dt.date
    merkle_root: str = ""   # over the month's salted entries; "" for seals made before


def seal_of(entry: data.Custom) -> Seal | None:
    """Read a `custom "carebooks-seal"` directive, or None if it is not one of ours."""
    if not isinstance(entry, data.Custom) or entry.type != SEAL_TYPE or len(entry.values) < 4:
        return None
    month, file_hash, prev, seal_hash, *rest = (v.value if hasattr(v, "value") else v[0]
                                                for v in entry.values[:5])
    return Seal(str(month), str(file_hash), str(prev), str(seal_hash), entry.date,
                str(rest[0]) if rest else "")


class BooksState:
    """Running totals of the books; `apply` adds one entry."""

    def __init__(self, currency: str):
        self.currency = currency
        self.opens: dict[str, dt.date] = {}
        self.closes: dict[str, dt.date] = {}
        self.open_currencies: dict[str, tuple[str, ...]] = {}
        self.balances: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.other_currencies: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
        self.monthly: dict[str, dict[str, Decimal]] = defaultdict(dict)
        self.links: dict[str, dict[str, Decimal]] = defaultdict(dict)
        # cash accounts and Liabilities:Aid:Approved: month -> day -> change, to check a
        # balance on any day and to know what was available at the end of a day
        self.daily: dict[str, dict[str, dict[dt.date, Decimal]]] = defaultdict(dict)
        # transactions that do not stand in their own month's file: (file, line, month)
        self.misplaced: list[tuple[str, int, str]] = []
        self.ids: dict[str, tuple[str, int]] = {}
        self.last_balance: dict[str, dt.date] = {}
        self.seals: list[Seal] = []
        self.entry_count = 0

    # --- updating ---------------------------------------------------------------------

    def apply(self, entry: data.Directive) -> None:
        """Add one (already validated) entry to the totals."""
        if isinstance(entry, data.Transaction):
            self._apply_transaction(entry)
        elif isinstance(entry, data.Open):
            self.opens[entry.account] = entry.date
            self.open_currencies[entry.account] = tuple(entry.currencies or ())
        elif isinstance(entry, data.Close):
            self.closes[entry.account] = entry.date
        elif isinstance(entry, data.Balance):
            prev = self.last_balance.get(entry.account)
            if prev is None or entry.date > prev:
                self.last_balance[entry.account] = entry.date
        elif isinstance(entry, data.Custom):
            seal = seal_of(entry)
            if seal is not None:
                self.seals.append(seal)
                self.seals.sort(key=lambda s: s.month)
        else:
            return
        self.entry_count += 1

    def _apply_transaction(self, txn: data.Transaction) -> None:
        date = txn.date
        month = month_of(date)
        cur = self.currency
        links = txn.links
        for posting in txn.postings:
            units = posting.units
            account = posting.account
            if units.currency != cur:
                self.other_currencies[(account, units.currency)] += units.number
                continue
            self.balances[account] += units.number
            per_month = self.monthly[account]
            per_month[month] = per_month.get(month, ZERO) + units.number
            if acc.is_cash(account) or account == acc.APPROVED:
                days = self.daily[account].setdefault(month, {})
                days[date] = days.get(date, ZERO) + units.number
            for link in links:
                per_link = self.links[link]
                per_link[account] = per_link.get(account, ZERO) + units.number
        meta = txn.meta
        filename = meta.get("filename", "") if meta else ""
        if filename and filename != month.file and not filename.startswith("<"):
            self.misplaced.append((filename, meta.get("lineno", 0), month))
        cid = meta.get(ID_KEY) if meta else None
        if cid is not None:
            self.ids[cid] = (filename, meta.get("lineno", 0))

    # --- reading ----------------------------------------------------------------------

    def balance(self, account: str) -> Decimal:
        """Balance of `account` in the fund's currency."""
        return self.balances.get(account, ZERO)

    def cash_accounts(self) -> list[str]:
        """The fund's cash accounts that are open (closed ones excluded), sorted."""
        return sorted(a for a in self.opens if acc.is_cash(a) and a not in self.closes)

    def cash(self) -> Decimal:
        """Money the fund holds across its cash accounts."""
        return sum((v for a, v in self.balances.items() if acc.is_cash(a)), ZERO)

    def committed(self) -> Decimal:
        """Approved aid not yet paid (the balance of Liabilities:Aid:Approved, positive)."""
        return -self.balance(acc.APPROVED)

    def available(self) -> Decimal:
        """What the fund can still promise: cash minus outstanding approvals."""
        return self.cash() - self.committed()

    def outstanding(self, link: str) -> Decimal:
        """Approved and not yet paid or cancelled, for one request code."""
        return -self.links.get(link, {}).get(acc.APPROVED, ZERO)

    def link_total(self, link: str, account_prefix: str) -> Decimal:
        """Sum of a link's postings to accounts starting with `account_prefix`."""
        return sum((v for a, v in self.links.get(link, {}).items()
                    if a == account_prefix or a.startswith(account_prefix + ":")), ZERO)

    def lowest_cash_from(self, account: str, date: dt.date) -> Decimal:
        """The lowest end-of-day balance of a cash account on `date` or any later day."""
        month = month_of(date)
        running = sum((v for m, v in self.monthly.get(account, {}).items() if m < month), ZERO)
        per_day = self.daily.get(account, {})
        running += sum((v for d, v in per_day.get(month, {}).items() if d <= date), ZERO)
        lowest = running  # the end of `date` itself
        for m in sorted(m for m in per_day if m >= month):
            days = per_day[m]
            for d in sorted(days):
                if d > date:
                    running += days[d]
                    lowest = min(lowest, running)
        return lowest

    def balance_at_end_of_day(self, account: str, day: dt.date) -> Decimal:
        """Balance of a cash account (or Liabilities:Aid:Approved) after `day`."""
        month = month_of(day)
        running = sum((v for m, v in self.monthly.get(account, {}).items() if m < month), ZERO)
        days = self.daily.get(account, {}).get(month, {})
        return running + sum((v for d, v in days.items() if d <= day), ZERO)

    def balance_at_end_of(self, account: str, month: str) -> Decimal:
        """Balance of `account` after the last day of `month`."""
        return sum((v for m, v in self.monthly.get(account, {}).items() if m <= month), ZERO)

    def is_open(self, account: str, date: dt.date) -> bool:
        """True if `account` is open on `date`."""
        opened = self.opens.get(account)
        closed = self.closes.get(account)
        return opened is not None and opened <= date and (closed is None or date < closed)

    @property
    def last_seal(self) -> Seal | None:
        """The newest seal, or None."""
        return self.seals[-1] if self.seals else None

    @property
    def sealed_through(self) -> str | None:
        """The last sealed month (`'2026-10'`), or None."""
        return self.seals[-1].month if self.seals else None

    def months(self) -> list[str]:
        """Every month with a posting, sorted."""
        return sorted({m for per in self.monthly.values() for m in per})

    # --- snapshot (de)serialisation ---------------------------------------------------

    def to_json(self) -> dict:
        """A plain-JSON form of the state (Decimals and dates as strings)."""
        return {
            "currency": self.currency,
            "opens": {a: d.isoformat() for a, d in self.opens.items()},
            "closes": {a: d.isoformat() for a, d in self.closes.items()},
            "open_currencies": {a: list(c) for a, c in self.open_currencies.items()},
            "balances": {a: str(v) for a, v in self.balances.items()},
            "other": [[a, c, str(v)] for (a, c), v in self.other_currencies.items()],
            "monthly": {a: {m: str(v) for m, v in per.items()}
                        for a, per in self.monthly.items()},
            "links": {k: {a: str(v) for a, v in per.items()} for k, per in self.links.items()},
            "daily": {a: {m: {d.isoformat(): str(v) for d, v in days.items()}
                          for m, days in per.items()} for a, per in self.daily.items()},
            "misplaced": [list(x) for x in self.misplaced],
            "ids": self.ids,
            "last_balance": {a: d.isoformat() for a, d in self.last_balance.items()},
            "seals": [[s.month, s.file_sha256, s.prev, s.seal_hash, s.date.isoformat(),
                       s.merkle_root] for s in self.seals],
            "entry_count": self.entry_count,
        }

    @classmethod
    def from_json(cls, obj: dict) -> BooksState:
        """Rebuild a state written by `to_json`."""
        state = cls(obj["currency"])
        date = dt.date.fromisoformat
        state.opens = {a: date(d) for a, d in obj["opens"].items()}
        state.closes = {a: date(d) for a, d in obj["closes"].items()}
        state.open_currencies = {a: tuple(c) for a, c in obj["open_currencies"].items()}
        state.balances.update((a, Decimal(v)) for a, v in obj["balances"].items())
        state.other_currencies.update(((a, c), Decimal(v)) for a, c, v in obj["other"])
        state.monthly.update((a, {m: Decimal(v) for m, v in per.items()})
                             for a, per in obj["monthly"].items())
        state.links.update((k, {a: Decimal(v) for a, v in per.items()})
                           for k, per in obj["links"].items())
        state.daily.update((a, {m: {date(d): Decimal(v) for d, v in days.items()}
                                 for m, days in per.items()})
                           for a, per in obj["daily"].items())
        state.misplaced = [(f, n, m) for f, n, m in obj["misplaced"]]
        state.ids = {k: (v[0], v[1]) for k, v in obj["ids"].items()}
        state.last_balance = {a: date(d) for a, d in obj["last_balance"].items()}
        state.seals = [Seal(m, f, p, h, date(d), *root) for m, f, p, h, d, *root in obj["seals"]]
        state.entry_count = obj["entry_count"]
        return state

    def copy(self) -> BooksState:
        """An independent copy (used to keep the sealed part apart from the open months)."""
        return BooksState.from_json(self.to_json())
