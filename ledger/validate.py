"""The rules an entry must meet before it is appended, checked against `BooksState`.

Each rule raises its own `EntryRefused` subclass with the numbers; `check_entry` runs
them all. `round_trip` proves the formatted text parses back to the same entry.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from beancount.core import data
from beancount.parser import parser, printer

from ledger import accounts as acc
from ledger.entries import ID_KEY
from ledger.errors import (AccountNotOpen, BeforeBalanceAssertion, CashBelowZero,
                           ExceedsDonation, ExceedsOutstanding, FutureDate, InvalidAmount,
                           MonthSealed,
                           RoundTripFailed, Unbalanced, WrongCurrency)
from ledger.money import fmt, minor_unit
from ledger.months import month_of
from ledger.state import ZERO, BooksState


def check_entry(state: BooksState, entry: data.Transaction,
                today: dt.date | None = None) -> None:
    """Raise the first rule `entry` breaks against `state`; return if it may be written."""
    cur = state.currency
    date = entry.date
    month = month_of(date)
    if today is not None and date > today + dt.timedelta(days=1):
        raise FutureDate(f"future date: {date} is after today ({today}); the books record "
                         "what has happened")
    sealed = state.sealed_through
    if sealed is not None and month <= sealed:
        raise MonthSealed(f"month sealed: {date} is in {month}, and the books are sealed "
                          f"through {sealed}; record it in an open month instead")
    total = ZERO
    deltas: dict[str, Decimal] = {}
    places = minor_unit(cur)
    for posting in entry.postings:
        units = posting.units
        if units.currency != cur:
            raise WrongCurrency(f"currency: {posting.account} is posted in {units.currency}; "
                                f"this fund keeps its books in {cur}")
        if units.number.as_tuple().exponent < -places:
            raise InvalidAmount("amount", f"amount: {units.number} has more than {places} "
                                f"decimals, the minor unit of {cur}")
        if not state.is_open(posting.account, date):
            raise AccountNotOpen(f"account not open: {posting.account} is not open on {date}")
        last = state.last_balance.get(posting.account)
        if last is not None and date < last:
            raise BeforeBalanceAssertion(
                f"balance assertion: {posting.account} has a balance asserted on {last}; "
                f"an entry dated {date} would change it")
        total += units.number
        deltas[posting.account] = deltas.get(posting.account, ZERO) + units.number
    if total != ZERO:
        raise Unbalanced(f"unbalanced: the postings sum to {fmt(total, cur)}, not zero")
    for link in entry.links:
        _check_link(state, link, deltas, cur)
    for account, delta in deltas.items():
        if delta < 0 and acc.is_cash(account):
            _check_cash(state, account, date, delta, cur)


def _check_link(state: BooksState, link: str, deltas: dict[str, Decimal], cur: str) -> None:
    settled = deltas.get(acc.APPROVED, ZERO)
    if settled > 0:
        outstanding = state.outstanding(link)
        if settled > outstanding:
            raise ExceedsOutstanding(
                f"exceeds outstanding: {fmt(settled, cur)} is more than what is approved and "
                f"unpaid on {link}: {fmt(outstanding, cur)}")
    per_link = state.links.get(link, {})
    for account, delta in deltas.items():
        before = per_link.get(account, ZERO)
        if account.startswith(acc.AID_ROOT + ":") and delta < 0 and before + delta < 0:
            raise ExceedsOutstanding(
                f"exceeds approved: reversing {fmt(-delta, cur)} of {account} on {link}, "
                f"which holds {fmt(before, cur)} for it")
        if account.startswith(acc.DONATION_ROOT + ":") and delta > 0 and before + delta > 0:
            raise ExceedsDonation(
                f"exceeds donation: refunding {fmt(delta, cur)} from {account} but only "
                f"{fmt(-before, cur)} of {link} is left there to refund")


def _check_cash(state: BooksState, account: str, date: dt.date, delta: Decimal,
                cur: str) -> None:
    """The account must stay at or above zero on the entry's day and every later day."""
    lowest = state.lowest_cash_from(account, date)
    if lowest + delta < 0:
        raise CashBelowZero(f"cash below zero: {account} holds {fmt(lowest, cur)} "
                            f"(its lowest from {date} on); this entry takes out "
                            f"{fmt(-delta, cur)}")


# Entries proven lately, by identity, with their text: a money step checks its entry
# before the commit and posts the same object after it; the second proof would parse the
# same text again (a Beancount parser is set up afresh for each parse).
_PROVEN: dict[int, tuple[data.Transaction, str]] = {}
_PROVEN_MAX = 256


def round_trip(entry: data.Transaction) -> str:
    """Format `entry` and prove the text parses back to the same entry; return the text."""
    text = printer.format_entry(entry)
    seen = _PROVEN.get(id(entry))
    if seen is not None and seen[0] is entry and seen[1] == text:
        return text
    parsed, errors, options = parser.parse_string(text)
    if errors or len(parsed) != 1 or options["include"] or options["plugin"]:
        raise RoundTripFailed(f"round trip: the entry's text did not parse back cleanly "
                              f"({len(parsed)} entries, {len(errors)} errors)")
    back = parsed[0]
    same = (isinstance(back, data.Transaction) and back.date == entry.date
            and back.payee == entry.payee and back.narration == entry.narration
            and back.links == entry.links and back.tags == entry.tags
            and back.meta.get(ID_KEY) == entry.meta.get(ID_KEY)
            and _user_meta(back) == _user_meta(entry)
            and [(p.account, p.units) for p in back.postings]
            == [(p.account, p.units) for p in entry.postings])
    if not same:
        raise RoundTripFailed("round trip: the entry's text parses back to a different entry")
    if len(_PROVEN) >= _PROVEN_MAX:
        _PROVEN.clear()
    _PROVEN[id(entry)] = (entry, text)  # the entry is kept, so its id is not reused meanwhile
    return text


def _user_meta(entry: data.Directive) -> dict:
    return {k: v for k, v in entry.meta.items() if k not in ("filename", "lineno")}
