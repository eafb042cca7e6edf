"""The community's books: what the public downloads, derived from the fund's books.

The fund's books hold every request's entries under its code; they are never public
(docs/privacy.md). The community's books are derived from them, deterministically —
the same fund's books, the same recipients and the same privacy rules give the same
bytes — and hold only:

- one transaction per publication period (`reports.periods`), dated the period's last
  day, whose postings are the period's aggregate movements: donations by kind (count in
  the posting's metadata, and the names of donors who consented to be named, never with
  an amount) and their refunds, fees, aid approved per published group (net
  of cancellations, with recipients, requests and the rounded median), aid paid per
  published group, the change of all the fund's cash together (`Assets:Fund:All`), and any
  other account's change;
- `balance` assertions for the fund's cash together and for what is approved and unpaid, on
  the day after each period, so `bean-check` proves the cash at each period's end;
- every seal of the fund's books (month, file hash, previous seal, seal hash, and the
  Merkle root of the month's entries where the seal has one).

Nothing inside a period (a day, a request, a month of a several-month period) and
nothing about the months still pending is published. `derive` returns the files as
bytes; `write` puts them in a folder of their own. `carebooks derive-public` and sealing
a month call both; `carebooks audit` compares a fresh `derive` with the folder.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Hashable, Mapping

from beancount.core import amount as bc_amount
from beancount.core import data
from beancount.parser import printer

from ledger import accounts as acc
from ledger import Month
from reports.periods import COMBINED, AidTable, Period, publication_periods
from reports.privacy import Rules, rounded

if TYPE_CHECKING:
    from ledger import Books

ZERO = Decimal(0)
MAIN, ACCOUNTS, PERIODS, SEALS = ("main.beancount", "accounts.beancount",
                                  "periods.beancount", "seals.beancount")
FILES = (MAIN, ACCOUNTS, PERIODS, SEALS)
RULES_TYPE = "carebooks-rules"
COMBINED_ACCOUNT = acc.aid_account(COMBINED)
# All the fund's cash as one account: a single account's change would tell the payments
# by payout method (one Venmo payment in a period is one person's aid), as the monthly
# PDF's rule already says (docs/privacy.md, "No single account's balance").
CASH_TOTAL = "Assets:Fund:All"
_HEADER = (";; The community's books of {fund}: {what}.\n"
           ";; Derived from the fund's books by `carebooks derive-public`; never edited.\n"
           ";; How to check them: docs/verify.md and docs/ledger-format.md.\n")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def derive(books: Books, recipients: Mapping[str, Hashable], rules: Rules) -> dict[str, bytes]:
    """The community's books of `books` as {file name: bytes}."""
    state = books.state
    cur = state.currency
    fund = books.title
    start = min(state.opens.values())
    publication = publication_periods(books, recipients, rules)
    periods = publication.periods
    main = (_HEADER.format(fund=fund, what="options and the files") +
            f'\noption "title" "{_plain(fund)} (community\'s books)"\n'
            f'option "operating_currency" "{cur}"\n\n' +
            "".join(f'include "{name}"\n' for name in FILES[1:]))
    rules_entry = data.Custom(_meta(), start, RULES_TYPE, [
        _value(f"k={rules.k}"), _value(f"dominance={rules.dominance}"),
        _value(f"rounding={rules.rounding}")])
    opens = [data.Open(_meta(), start, a, [cur], None) for a in _accounts(state, periods)]
    body = [_transaction(p, rules) for p in periods]
    balances = [b for p in periods for b in _balances(p)]
    seals = [_seal(s) for s in state.seals]
    return {
        MAIN: main.encode(),
        ACCOUNTS: _file(fund, "the accounts", [rules_entry] + opens),
        PERIODS: _file(fund, "one transaction per publication period, and the balances at "
                       "each period's end", _interleave(body, balances)),
        SEALS: _file(fund, "the seals of the fund's books", seals),
    }


def write(folder: Path, files: Mapping[str, bytes]) -> None:
    """Replace the community's books in `folder` with `files`, each file atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in sorted(files.items()):
        path = folder / name
        if path.exists() and path.read_bytes() == content:
            continue
        tmp = path.with_name(f".{name}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def differences(folder: Path, files: Mapping[str, bytes]) -> list[str]:
    """How `folder` differs from `files` (a file missing, extra, or not byte for byte)."""
    out = []
    present = {p.name for p in folder.glob("*.beancount")} if folder.is_dir() else set()
    for name in sorted(set(files) | present):
        path = folder / name
        if name not in files:
            out.append(f"{name}: not part of the community's books")
        elif not path.exists():
            out.append(f"{name}: missing")
        elif path.read_bytes() != files[name]:
            out.append(f"{name}: differs from a fresh derivation{_first_line(path, files[name])}")
    return out


def period_label(period: Period) -> str:
    """`September–November 2026`, `December 2026–February 2027`, or `May 2026`."""
    def name(month: str, year: bool) -> str:
        return _MONTHS[Month(month).number - 1] + (f" {month[:4]}" if year else "")

    if len(period.months) == 1:
        return name(period.start, True)
    same_year = period.start[:4] == period.end[:4]
    return f"{name(period.start, not same_year)}–{name(period.end, True)}"


# --- entries -------------------------------------------------------------------------------


def _transaction(period: Period, rules: Rules) -> data.Transaction:
    cur = period.currency
    meta = _meta()
    meta["period"] = period.key
    meta["recipients"] = Decimal(period.recipients)
    postings = []

    def post(account: str, number: Decimal, **pmeta) -> None:
        postings.append(data.Posting(account, bc_amount.Amount(number, cur), None, None, None,
                                     pmeta or None))

    for kind in period.donations:
        account = acc.donation_account(kind.kind)
        if kind.count:
            named = {"donors": ", ".join(kind.named)} if kind.named else {}
            post(account, -kind.total, donations=Decimal(kind.count), **named)
        if kind.refunds_count:
            post(account, kind.refunds_total, refunds=Decimal(kind.refunds_count))
    for group in _groups(period.approved):
        post(_aid_account(group.label), group.total, **_aid_meta(group, rules, "approved"))
    post(acc.APPROVED, -period.approved.total.total)
    for group in _groups(period.paid):
        post(acc.APPROVED, group.total, **_aid_meta(group, rules, "paid"))
    cash_change = sum((c.closing - c.opening for c in period.cash), Decimal(0))
    if cash_change:
        post(CASH_TOTAL, cash_change)
    # what else moved (fees, running costs, opening balances); the liability's remainder
    # is whatever approvals, cancellations and payments do not explain (a hand entry)
    explained = period.paid.total.total - period.approved.total.total
    for account, change in period.changes:
        rest = change - explained if account == acc.APPROVED else change
        if rest:
            post(account, rest)
    return data.Transaction(meta, period.last_day, "*", "Publication period",
                            period_label(period), frozenset(), frozenset(), postings)


def _groups(table: AidTable):
    return [g for g in table.groups if g.recipients or g.total]


def _aid_meta(group, rules: Rules, what: str) -> dict:
    meta: dict = {}
    if group.label == COMBINED:
        meta["categories"] = ", ".join(group.categories)
    if what == "paid":
        meta["paid"] = group.label
    meta["recipients"] = Decimal(group.recipients)
    meta["requests"] = Decimal(group.requests)
    if group.median is not None:
        meta["median"] = rounded(group.median, rules)
    return meta


def _aid_account(label: str) -> str:
    return COMBINED_ACCOUNT if label == COMBINED else acc.aid_account(label)


def _balances(period: Period) -> list:
    day = period.last_day + dt.timedelta(days=1)
    cur = period.currency
    cash = sum((c.closing for c in period.cash), Decimal(0))
    out = [data.Balance(_meta(), day, CASH_TOTAL, bc_amount.Amount(cash, cur), None, None)]
    out.append(data.Balance(_meta(), day, acc.APPROVED,
                            bc_amount.Amount(-period.outstanding, cur), None, None))
    return out


def _seal(seal) -> data.Custom:
    values = [seal.month, seal.file_sha256, seal.prev, seal.seal_hash]
    root = getattr(seal, "merkle_root", "")
    if root:
        values.append(root)
    meta = _meta()
    meta["carebooks-id"] = f"seal:{seal.month}"
    return data.Custom(meta, seal.date, "carebooks-seal", [_value(v) for v in values])


def _accounts(state, periods) -> list[str]:
    """Every account a period posts to or asserts, in order."""
    used = {acc.APPROVED, CASH_TOTAL}
    for p in periods:
        used |= {acc.donation_account(k.kind) for k in p.donations}
        used |= {_aid_account(g.label) for g in p.approved.groups + p.paid.groups}
        used |= {a for a, v in p.changes if v}
    return sorted(used)


# --- text ----------------------------------------------------------------------------------


def _meta() -> dict:
    return data.new_metadata("<community>", 0)


def _value(text: str):
    from beancount.parser.grammar import ValueType

    return ValueType(text, str)


def _plain(text: str) -> str:
    """The fund's name for an option line (quotes and backslashes dropped)."""
    return "".join(ch for ch in text if ch not in '"\\\n')


def _interleave(body: list, balances: list) -> list:
    return sorted(body + balances, key=data.entry_sortkey)


def _file(fund: str, what: str, entries: list) -> bytes:
    text = _HEADER.format(fund=_plain(fund), what=what)
    for entry in entries:
        text += "\n" + printer.format_entry(entry)
    return text.encode()


def _first_line(path: Path, expected: bytes) -> str:
    have = path.read_bytes().split(b"\n")
    want = expected.split(b"\n")
    for i, (a, b) in enumerate(zip(have, want), 1):
        if a != b:
            return f" (first at line {i})"
    return f" (first at line {min(len(have), len(want)) + 1})"
