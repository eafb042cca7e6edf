"""Words at the edge: refusals of the books and the importers in the reader's language,
chosen by the rule code the refusal carries (the ledger speaks English only, and imports
only beancount and the standard library), and account names in plain words."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

# The books' rules (ledger/errors.py `rule`, as app.workflow.errors.BooksRefused.code).
BOOKS_RULES = {
    "month_sealed": _l("That date is in a sealed month: nothing dated in it can be added or "
                       "changed. Use a date in a month that is still open."),
    "cash_below_zero": _l("This would take a cash account below zero. Check the amount and "
                          "the account it is paid from."),
    "before_balance_assertion": _l("That date is before a balance already checked against a "
                                   "statement. Use a later date."),
    "exceeds_outstanding": _l("That is more than what is still approved and unpaid."),
    "exceeds_donation": _l("That is more than what is left of the donation."),
    "future_date": _l("The books record what happened: the date may not be in the future."),
    "account_not_open": _l("That account is not open on that date."),
    "unbalanced": _l("The entry does not balance; nothing was written."),
    "currency": _l("That is not the fund's currency."),
    "duplicate_id": _l("The books already hold a different entry with this code."),
}

# Notes the importers attach to rows they skip (app/imports), by their exact words.
IMPORT_NOTES = {
    "no money moved": _l("no money moved"),
    "not captured: no money moved": _l("not captured: no money moved"),
    "a refund: refund the donation it belongs to on the donations page":
        _l("a refund: refund the donation it belongs to on the donations page"),
}

# The fund's accounts (ledger/accounts.py), in words.
ACCOUNTS = {
    "Assets:Fund:Bank": _l("Bank"),
    "Assets:Fund:Cash": _l("Cash box"),
    "Assets:Fund:PayPal": _l("PayPal"),
    "Assets:Fund:Venmo": _l("Venmo"),
    "Assets:Fund:Stripe": _l("Stripe"),
}


def _english() -> bool:
    locale = get_locale()
    return locale is None or locale.language == "en"


def refusal(exc) -> str:
    """A workflow refusal's message; a refusal of the books in the reader's language, by
    its rule code (in English the ledger's own words, which name the numbers)."""
    message = getattr(exc, "message", str(exc))
    rule = getattr(exc, "code", None)
    if rule in BOOKS_RULES and not _english():
        return str(BOOKS_RULES[rule])
    return message


def import_note(note: str) -> str:
    """An importer's note on a skipped row, translated when it is one we know."""
    return str(IMPORT_NOTES.get(note, note))


def account_name(account: str) -> str:
    """`Assets:Fund:Bank` -> `Bank` (`Banco`); an account we do not know by its last part."""
    if account in ACCOUNTS:
        return str(ACCOUNTS[account])
    return account.rsplit(":", 1)[-1].replace("-", " ")
