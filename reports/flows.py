"""The month's transactions sorted into what the report shows, keyed by accounts.

Approved aid is a positive posting to an aid account and a cancellation a negative one;
aid paid is a positive posting to Liabilities:Aid:Approved in a transaction that takes
the money from a cash account, less a negative one in a transaction that brings it back
(a returned payment: aid paid is net of returns), in the category of the request's aid account (a payment
posts to no aid account). Donations and refunds are the negative and positive postings
to Income:Donations:*, fees the postings to Expenses:Operations:Fees. Words
(payees, narrations) are never used to decide what an entry is.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING

from beancount.core import data

from ledger import accounts as acc

if TYPE_CHECKING:
    from ledger.state import BooksState

ZERO = Decimal(0)


class Flows:
    """The month's transactions sorted into what the report shows."""

    def __init__(self) -> None:
        # category -> request code -> amount
        self.approved: dict[str, dict[str, Decimal]] = defaultdict(dict)
        self.paid: dict[str, dict[str, Decimal]] = defaultdict(dict)
        self.cancelled: dict[str, dict[str, Decimal]] = defaultdict(dict)
        self.gifts: dict[str, list[Decimal]] = defaultdict(list)   # kind -> gross amounts
        self.refunds: list[Decimal] = []
        self.refunds_by_kind: dict[str, list[Decimal]] = defaultdict(list)
        self.named: dict[str, set[str]] = defaultdict(set)   # kind -> consenting donors
        self.fees = ZERO

    def codes(self) -> set[str]:
        """Every request code with aid approved, paid or cancelled in the month."""
        return {c for table in (self.approved, self.paid, self.cancelled)
                for per in table.values() for c in per}


def _add(table: dict[str, dict[str, Decimal]], category: str, code: str,
         amount: Decimal) -> None:
    per = table[category]
    per[code] = per.get(code, ZERO) + amount


def month_flows(entries: list, state: BooksState) -> Flows:
    """Sort the month's postings by what they mean (see the module's docstring)."""
    flows = Flows()
    cur = state.currency
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        code = _request_code(entry)
        from_cash = any(acc.is_cash(p.account) and p.units.number < 0 for p in entry.postings)
        into_cash = any(acc.is_cash(p.account) and p.units.number > 0 for p in entry.postings)
        for p in entry.postings:
            if p.units.currency != cur:
                continue
            account, number = p.account, p.units.number
            if account.startswith(acc.AID_ROOT + ":"):
                table = flows.approved if number > 0 else flows.cancelled
                _add(table, acc.category_of(account), code, abs(number))
            elif account == acc.APPROVED and number > 0 and from_cash:
                _add(flows.paid, _category_of_request(state, code), code, number)
            elif account == acc.APPROVED and number < 0 and into_cash:
                # a payment that came back: aid paid is net of returns, never a line of
                # its own (a return is aid information: it would single its request out)
                _add(flows.paid, _category_of_request(state, code), code, number)
            elif account.startswith(acc.DONATION_ROOT + ":"):
                if number < 0:
                    flows.gifts[acc.category_of(account)].append(-number)
                    donor = entry.meta.get("donor") if entry.meta else None
                    if isinstance(donor, str) and donor != "Anonymous":
                        flows.named[acc.category_of(account)].add(donor)
                else:
                    flows.refunds.append(number)
                    flows.refunds_by_kind[acc.category_of(account)].append(number)
            elif account == acc.FEES:
                flows.fees += number
    return flows


def _request_code(entry: data.Transaction) -> str:
    """The request code an aid entry carries as its link (a hand entry may have none)."""
    codes = sorted(link for link in entry.links if link.startswith("R-"))
    return codes[0] if codes else f"{entry.date}:{entry.meta.get('lineno', 0)}"


def _category_of_request(state: BooksState, code: str) -> str:
    """The category of a request: its aid account in the books ("other" if it has none)."""
    for account in sorted(state.links.get(code, {})):
        if account.startswith(acc.AID_ROOT + ":"):
            return acc.category_of(account)
    return "other"
