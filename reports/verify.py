"""The "Check these numbers yourself" steps: shell commands over the public books.

Each `Check` is one command a reader runs in the downloaded `books/` folder (with
`pip install beancount beanquery`), and the strings its output must contain. The
commands are built from the figures, so they reproduce exactly what the report shows:
the bean-query filters name only the aid categories the report shows (hidden ones are
reproduced only combined, as the report shows them), and amounts are exact — the
report rounds per-category amounts, and says so. The tests run every command.

Numbers in `expect` are written as bean-query prints them: `1234.50`, no separators.
A query whose rows are all filtered out prints nothing, which stands for 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from ledger import accounts as acc
from ledger import AID_ROOT, APPROVED, FEES, Month

if TYPE_CHECKING:
    from reports.figures import AidTable, MonthFigures

MAIN = "main.beancount"


def N_(message: str) -> str:  # noqa: N802 (the gettext marker Babel's extractor looks for)
    """Mark `message` for translation; it is translated where it is rendered."""
    return message


ROUNDED = N_("Rounded to the fund's rounding unit, these are the amounts in the report.")
AID = {  # the steps of one aid table: by category, per request, combined hidden, all
    "approved": (N_("Aid approved, by category shown."),
                 N_("Aid approved, one line per request (the median is the middle amount)."),
                 N_("Aid approved, the categories not shown separately, combined."),
                 N_("Aid approved, all categories.")),
    "paid": (N_("Aid paid, by category shown."),
             N_("Aid paid, one line per request (the median is the middle amount)."),
             N_("Aid paid, the categories not shown separately, combined."),
             N_("Aid paid, all categories.")),
}


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


def _leaves(accounts: tuple[str, ...]) -> str:
    """A regular expression matching exactly these accounts: `^Expenses:Aid:(Food|Rent)$`."""
    names = sorted(a.rsplit(":", 1)[-1] for a in accounts)
    return f"^{AID_ROOT}:({'|'.join(map(re.escape, names))})$"


def _labels(accounts: tuple[str, ...]) -> str:
    """The narration words of these categories' payments: `^(Food|Rent),`."""
    words = sorted(a.rsplit(":", 1)[-1].replace("-", " ").capitalize() for a in accounts)
    return f"^({'|'.join(map(re.escape, words))}),"


def _nonzero(pairs) -> tuple[tuple[str, ...], ...]:
    return tuple((account, plain(value)) for account, value in pairs if value)


def checks(fig: MonthFigures) -> tuple[Check, ...]:
    """Every step that reproduces the report's figures and its seal from the public books."""
    month = Month(fig.month)
    in_month = f"year = {month.year} AND month = {month.number}"
    start, end = month.first_day.isoformat(), month.end.isoformat()
    out = [Check(N_("The books are valid: this prints nothing."), f"bean-check {MAIN}")]
    seal = fig.seal
    if seal.sealed:
        out += [
            Check(N_("The month's file is the one that was sealed: the file hash."),
                  f"sha256sum {month.file}", ((seal.file_sha256,),)),
            Check(N_("The seal as the books record it: month, file hash, previous seal, seal."),
                  f"grep '\"carebooks-seal\" \"{fig.month}\"' seals.beancount",
                  ((seal.file_sha256, seal.prev, seal.seal_hash),)),
            Check(N_("The seal hash follows from the month, the file hash and the previous seal."),
                  ("printf '%s\\n%s\\n%s\\n%s\\n' " if seal.merkle_root else
                   "printf '%s\\n%s\\n%s\\n' ")
                  + f"{fig.month} {seal.file_sha256} {seal.prev} {seal.merkle_root} | sha256sum"
                  .replace("  ", " "), ((seal.seal_hash,),)),
        ]
    # Balances only where the report shows them: with the month's donations, a hidden
    # month's closing cash would give its aid away (reports.figures.balances_chain).
    out += [] if not fig.balances_shown else [
        Check(N_("Cash at the start of the month, all accounts together."),
              query("SELECT sum(number) AS cash WHERE account ~ '^Assets:Fund:' "
                    f"AND date < {start}"),
              ((plain(fig.opening_cash),),) if fig.opening_cash else ()),
    ]
    d = fig.donations
    out += [
        Check(N_("Donations: how many, and their total before fees, by kind."),
              query("SELECT account, count(*) AS donations, -sum(number) AS total WHERE "
                    f"account ~ '^Income:Donations:' AND number < 0 AND {in_month} "
                    "GROUP BY account ORDER BY account"),
              tuple((acc.donation_account(k.kind), str(k.count), plain(k.total))
                    for k in d.by_kind)),
        Check(N_("Processor and bank fees."),
              query(f"SELECT sum(number) AS fees WHERE account = '{FEES}' AND {in_month}"),
              ((plain(d.fees),),) if d.fees else ()),
        Check(N_("Refunds of donations."),
              query("SELECT count(*) AS refunds, sum(number) AS total WHERE "
                    f"account ~ '^Income:Donations:' AND number > 0 AND {in_month}"),
              ((str(d.refunds_count), plain(d.refunds_total)),) if d.refunds_count else ()),
    ]
    out += _aid_checks(fig.aid_approved, "approved", in_month)
    out += _aid_checks(fig.aid_paid, "paid", in_month)
    if fig.cancelled.shown and fig.cancelled.requests:
        out.append(Check(N_("Approvals cancelled in the month."),
                         query("SELECT -sum(number) AS cancelled WHERE "
                               f"account ~ '^Expenses:Aid:' AND number < 0 AND {in_month}"),
                         note=ROUNDED))
    out += [] if not fig.balances_shown else [
        Check(N_("Cash at the end of the month, all accounts together."),
              query(f"SELECT sum(number) AS cash WHERE account ~ '^Assets:Fund:' "
                    f"AND date < {end}"),
              ((plain(fig.closing_cash),),) if fig.closing_cash else ()),
    ]
    if fig.trend:
        first = Month(fig.trend[0].month).first_day.isoformat()
        out += [
            Check(N_("Trend: donations less refunds, per month."),
                  query("SELECT year, month, -sum(number) AS donations WHERE "
                        f"account ~ '^Income:Donations:' AND date >= {first} AND date < {end} "
                        "GROUP BY year, month ORDER BY year, month"),
                  tuple((p.month[:4], str(Month(p.month).number), plain(p.donations))
                        for p in fig.trend if p.donations)),
            Check(N_("Trend: aid paid, per month."),
                  query(f"SELECT year, month, sum(number) AS paid WHERE account = '{APPROVED}' "
                        f"AND payee = 'Aid paid' AND date >= {first} AND date < {end} "
                        "GROUP BY year, month ORDER BY year, month"),
                  tuple((p.month[:4], str(Month(p.month).number), plain(p.aid_paid))
                        for p in fig.trend if p.aid_paid)),
        ]
        if fig.balances_shown:
            out.append(Check(
                N_("Trend: the change in cash, per month; cash at the end of a month is "
                   "the running sum."),
                query("SELECT year, month, sum(number) AS change WHERE "
                      f"account ~ '^Assets:Fund:' AND date < {end} "
                      "GROUP BY year, month ORDER BY year, month"),
                note=N_("The last line's running sum is the closing cash above.")))
    return tuple(out)


def _aid_checks(table: AidTable, kind: str, in_month: str) -> list[Check]:
    """Per shown category, the combined hidden ones, and the total of one aid table.

    Approved aid is read from the aid accounts; paid aid from the payments, whose
    narration starts with the category (a payment posts to no aid account).
    """
    shown = tuple(c for c in table.rows if c.shown and c.requests)
    if kind == "approved":
        group = "account"
        base = f"account ~ '^Expenses:Aid:' AND number > 0 AND {in_month}"
        only = lambda accounts: f"account ~ '{_leaves(accounts)}'"  # noqa: E731
    else:
        group = "subst(',.*', '', narration) AS category"
        base = f"account = '{APPROVED}' AND payee = 'Aid paid' AND {in_month}"
        only = lambda accounts: f"narration ~ '{_labels(accounts)}'"  # noqa: E731
    name = group.rsplit(" ", 1)[-1]
    by_category, per_request, combined, everything = AID[kind]
    out = []
    if shown:
        accounts = tuple(a for c in shown for a in c.accounts)
        out += [
            Check(by_category,
                  query(f"SELECT {group}, sum(number) AS total WHERE {base} AND "
                        f"{only(accounts)} GROUP BY {name} ORDER BY {name}"), note=ROUNDED),
            Check(per_request,
                  query(f"SELECT {group}, joinstr(links) AS request, sum(number) AS amount "
                        f"WHERE {base} AND {only(accounts)} GROUP BY {name}, request "
                        f"ORDER BY {name}, amount")),
        ]
    if table.other is not None and table.other.shown and table.other.requests:
        out.append(Check(combined,
                         query(f"SELECT sum(number) AS total WHERE {base} AND "
                               f"{only(table.other.accounts)}"), note=ROUNDED))
    if table.total.shown and table.total.requests:
        out.append(Check(everything,
                         query(f"SELECT sum(number) AS total WHERE {base}"), note=ROUNDED))
    return out
