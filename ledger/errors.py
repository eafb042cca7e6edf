"""Every way the books can refuse something, one class per rule.

Each refusal carries a `rule` (a short stable code the app maps to an HTTP status or a
form field) and a message that names the rule and the numbers. Nothing is written
when one of these is raised.
"""

from __future__ import annotations

from dataclasses import dataclass


class LedgerError(Exception):
    """Base of every error the ledger package raises."""

    rule = "ledger"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- refusals of an entry (nothing was written) ------------------------------------


class EntryRefused(LedgerError):
    """An entry breaks a rule of the books; nothing was written."""

    rule = "entry"


class InvalidAmount(EntryRefused):
    """An amount is not a positive Decimal in the currency's minor unit."""

    rule = "amount"

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class InvalidText(EntryRefused):
    """Caller text (a donor's display name) is outside the safe character set or length."""

    rule = "text"

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class InvalidReference(EntryRefused):
    """A link, category, account or payout method is not one the books know."""

    rule = "reference"

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class AccountNotOpen(EntryRefused):
    """A posting names an account that is not open on the entry's date."""

    rule = "account-not-open"


class Unbalanced(EntryRefused):
    """The postings of an entry do not sum to zero."""

    rule = "unbalanced"


class WrongCurrency(EntryRefused):
    """A posting is not in the fund's operating currency."""

    rule = "currency"


class MonthSealed(EntryRefused):
    """The entry's date falls in a month that is already sealed."""

    rule = "month-sealed"


class BeforeBalanceAssertion(EntryRefused):
    """The entry's date is before a balance assertion of one of its accounts (an entry on
    the assertion's own date is after it: Beancount checks at the start of the day)."""

    rule = "before-balance-assertion"


class ExceedsOutstanding(EntryRefused):
    """A payment or cancellation is larger than what is still approved and unpaid."""

    rule = "exceeds-outstanding"


class ExceedsDonation(EntryRefused):
    """A refund is larger than what is left of the donation."""

    rule = "exceeds-donation"


class FutureDate(EntryRefused):
    """The books record what happened: an entry may not be dated after today."""

    rule = "future-date"


class CashBelowZero(EntryRefused):
    """The entry would take a cash account below zero."""

    rule = "cash-below-zero"


class DuplicateId(EntryRefused):
    """A different entry already carries this carebooks-id."""

    rule = "duplicate-id"


class RoundTripFailed(EntryRefused):
    """The formatted entry does not parse back to the same entry."""

    rule = "round-trip"


# --- sealing --------------------------------------------------------------------------


class SealRefused(LedgerError):
    """A month cannot be sealed; nothing was written."""

    rule = "seal"


class StartRefused(LedgerError):
    """The books' start cannot move there: a month is sealed, or the day is not earlier."""

    rule = "start"


class SealOutOfOrder(SealRefused):
    """Months are sealed one after the other, oldest first."""

    rule = "seal-order"


class MonthNotOver(SealRefused):
    """A month can be sealed only after its last day."""

    rule = "month-not-over"


class StatementMismatch(SealRefused):
    """The statement balances given do not match the books."""

    rule = "statement-mismatch"

    def __init__(self, message: str, differences: dict):
        super().__init__(message)
        self.differences = differences


# --- the books as a whole -------------------------------------------------------------


@dataclass(frozen=True)
class SourceError:
    """One error Beancount reported, with where it found it."""

    filename: str | None
    lineno: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.filename}:{self.lineno}" if self.filename else "<books>"
        return f"{where}: {self.message}"


class BooksInvalid(LedgerError):
    """Beancount reports errors in the books; its own messages are attached."""

    rule = "books-invalid"

    def __init__(self, errors: list[SourceError]):
        self.errors = list(errors)
        lines = "\n".join(f"  {e}" for e in self.errors[:20])
        more = f"\n  ... and {len(self.errors) - 20} more" if len(self.errors) > 20 else ""
        super().__init__(f"the books have {len(self.errors)} error(s):\n{lines}{more}")


class BooksExist(LedgerError):
    """Books are already initialised in that folder."""

    rule = "books-exist"


class WriteFailed(LedgerError):
    """Writing to the books failed; the file was put back as it was."""

    rule = "write-failed"


class WritesDisabled(LedgerError):
    """An fsync failed earlier; no more writes until the books are checked and resumed."""

    rule = "writes-disabled"
