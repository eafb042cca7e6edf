"""The "Check these numbers yourself" steps: shell commands over the community's books.

Each `Check` is one command a reader runs in the folder of the community's books they
downloaded (`/books.zip`, with `pip install beancount beanquery`), and the strings its
output must contain: the month's seal (and the Merkle root receipts are checked
against), and the exact figures of the publication period that holds the month
(`reports.periods`). The month's own figures come from the fund's books, which only its
auditors read (`carebooks audit` checks them). The tests run every command.

Numbers in `expect` are written as bean-query prints them: `1234.50`, no separators.
A query whose rows are all filtered out prints nothing, which stands for 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from ledger import accounts as acc
from ledger.accounts import APPROVED

if TYPE_CHECKING:
    from reports.figures import MonthFigures

MAIN, SEALS = "main.beancount", "seals.beancount"   # the community's books' files


def N_(message: str) -> str:  # noqa: N802 (the gettext marker Babel's extractor looks for)
    """Mark `message` for translation; it is translated where it is rendered."""
    return message


@dataclass(frozen=True)
class Check:
    """One step: what it proves (a message id), the command, and what its output holds."""

    what: str
    command: str
    expect: tuple[tuple[str, ...], ...] = ()   # lines of the output, each a few words
    note: str = ""   # a message id explaining how to read the output, or ""


def plain(value: Decimal) -> str:
    """A Decimal as bean-query prints it (`-1234.50`)."""
    return f"{value:f}"


def query(sql: str) -> str:
    """The bean-query command line for `sql` (which holds no double quotes)."""
    assert '"' not in sql
    return f'bean-query {MAIN} "{sql}"'


def checks(fig: MonthFigures) -> tuple[Check, ...]:
    """Every step that reproduces the report's seal and its publication period's figures
    from the community's books (what anyone downloads: `/books.zip`).

    The month's own figures come from the fund's books, which only the fund's auditors
    read (`carebooks audit`); the community's books hold the month's seal, with the Merkle
    root of its entries, and the totals of the publication period that holds it.
    """
    out = [Check(N_("The books are valid, balances at each period's end included: this "
                    "prints nothing."), f"bean-check {MAIN}")]
    seal = fig.seal
    if seal.sealed:
        out += [
            Check(N_("The seal as the books record it: month, file hash, previous seal, seal."),
                  f"grep '\"carebooks-seal\" \"{fig.month}\"' {SEALS}",
                  ((seal.file_sha256, seal.prev, seal.seal_hash),)),
            Check(N_("The seal hash follows from the month, the hash of the month's file in "
                     "the fund's books, the previous seal and the Merkle root of the "
                     "month's entries (receipts are checked against that root).")
                  if seal.merkle_root else
                  N_("The seal hash follows from the month, the hash of the month's file in "
                     "the fund's books and the previous seal."),
                  ("printf '%s\\n%s\\n%s\\n%s\\n' " if seal.merkle_root else
                   "printf '%s\\n%s\\n%s\\n' ")
                  + f"{fig.month} {seal.file_sha256} {seal.prev} {seal.merkle_root} | sha256sum"
                  .replace("  ", " "), ((seal.seal_hash,),)),
        ]
    period = fig.period
    if period is None:
        return tuple(out)
    where = f"entry_meta('period') = '{period.key}'"
    out += [
        Check(N_("The publication period's donations: how many, and their total before "
                 "fees, by kind."),
              query("SELECT account, meta('donations') AS donations, -number AS total WHERE "
                    f"{where} AND account ~ '^Income:Donations:' AND number < 0 "
                    "ORDER BY account"),
              tuple((acc.donation_account(k.kind), str(k.count), plain(k.total))
                    for k in period.donations if k.count)),
        Check(N_("The publication period's aid approved, by published group, with how many "
                 "people each covers."),
              query("SELECT account, number AS total, meta('recipients') AS people WHERE "
                    f"{where} AND account ~ '^Expenses:Aid:' ORDER BY account"),
              tuple((acc.aid_account(g.label), plain(g.total), str(g.recipients))
                    for g in period.approved.groups if g.recipients)),
        Check(N_("The publication period's aid paid, by published group, with how many "
                 "people each covers."),
              query("SELECT meta('paid') AS paid, number AS total, meta('recipients') AS "
                    f"people WHERE {where} AND account = '{APPROVED}' AND number > 0 "
                    "ORDER BY paid"),
              tuple((g.label, plain(g.total), str(g.recipients))
                    for g in period.paid.groups if g.recipients)),
        Check(N_("Cash at the end of the publication period, all accounts together."),
              query("SELECT sum(number) AS cash WHERE account = 'Assets:Fund:All' AND "
                    f"date <= {period.last_day.isoformat()}"),
              ((plain(sum((c.closing for c in period.cash), Decimal(0))),),)
              if any(c.closing for c in period.cash) else ()),
    ]
    return tuple(out)
