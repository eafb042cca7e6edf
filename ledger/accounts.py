"""The fund's chart of accounts and the short names the API, CLI and forms use for it.

A category is the lowercase leaf of its account (`rent` <-> `Expenses:Aid:Rent`,
`individual` <-> `Income:Donations:Individual`); a payout method is one of
`PAYOUT_METHODS`. Cash accounts are named in full.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from ledger.errors import InvalidText
from ledger.text import CashAccount, Category, Currency, FundName

CASH_ROOT = "Assets:Fund"
AID_ROOT = "Expenses:Aid"
DONATION_ROOT = "Income:Donations"
OPERATIONS_ROOT = "Expenses:Operations"
FEES = "Expenses:Operations:Fees"
OPERATIONS_OTHER = "Expenses:Operations:Other"
APPROVED = "Liabilities:Aid:Approved"
OPENING = "Equity:Opening-Balances"

DEFAULT_CASH_ACCOUNTS = ("Assets:Fund:Bank", "Assets:Fund:Cash",
                         "Assets:Fund:PayPal", "Assets:Fund:Venmo")
DEFAULT_AID_CATEGORIES = ("rent", "utilities", "food", "medical", "legal",
                          "funeral", "transport", "other")
DEFAULT_DONATION_CATEGORIES = ("individual", "grant", "event")

# Words the books use for each payout method (narration of a payment).
PAYOUT_METHODS = {"bank": "bank transfer", "cash": "cash", "paypal": "PayPal",
                  "venmo": "Venmo", "check": "check"}

def leaf_account(root: str, category: str) -> str:
    """`('Expenses:Aid', 'rent')` -> `'Expenses:Aid:Rent'`."""
    return f"{root}:{'-'.join(p.capitalize() for p in category.split('-'))}"


def category_of(account: str) -> str:
    """`'Expenses:Aid:Rent'` -> `'rent'`."""
    return account.rsplit(":", 1)[-1].lower()


def aid_account(category: str) -> str:
    """The expense account of an aid category."""
    return leaf_account(AID_ROOT, category)


def donation_account(category: str) -> str:
    """The income account of a donation category."""
    return leaf_account(DONATION_ROOT, category)


def operations_account(kind: str) -> str:
    """The expense account of a kind of running cost (`fees`, `other`)."""
    return leaf_account(OPERATIONS_ROOT, kind)


def is_cash(account: str) -> bool:
    """True for the fund's cash accounts (`Assets:Fund:*`)."""
    return account.startswith(CASH_ROOT + ":")


@dataclass(frozen=True)
class FundSettings:
    """What the books need to know about a fund to be created."""

    name: str
    currency: str = "USD"
    cash_accounts: tuple[str, ...] = DEFAULT_CASH_ACCOUNTS
    aid_categories: tuple[str, ...] = DEFAULT_AID_CATEGORIES
    donation_categories: tuple[str, ...] = DEFAULT_DONATION_CATEGORIES
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        # The checked, normalised values replace what was given: they are what is written.
        put = functools.partial(object.__setattr__, self)
        put("currency", Currency(self.currency))
        put("name", FundName(self.name))
        if isinstance(self.cash_accounts, str) or isinstance(self.aid_categories, str) \
                or isinstance(self.donation_categories, str):
            raise InvalidText("categories", "categories and cash accounts: a list of names")
        put("cash_accounts", tuple(CashAccount(a, "cash_accounts") for a in self.cash_accounts))
        put("aid_categories", tuple(Category(c, "categories") for c in self.aid_categories))
        put("donation_categories",
            tuple(Category(c, "categories") for c in self.donation_categories))
        if "other" not in self.aid_categories:
            object.__setattr__(self, "aid_categories", (*self.aid_categories, "other"))

    def accounts(self) -> list[tuple[str, str]]:
        """Every account the fund opens, with a one-line description for the books."""
        rows = [(a, "cash the fund holds") for a in self.cash_accounts]
        rows += [(donation_account(c), f"donations: {c}") for c in self.donation_categories]
        rows += [(aid_account(c), f"aid: {c}") for c in self.aid_categories]
        rows += [(FEES, "payment processor and bank fees"),
                 (OPERATIONS_OTHER, "other running costs"),
                 (APPROVED, "aid approved and not yet paid"),
                 (OPENING, "balances the fund held when these books began")]
        return rows
