"""The fund's books: Beancount entries built, validated, appended, loaded, sealed, verified.

Pure Python and beancount; this package never imports flask, sqlmodel, app or reports.
"""

from __future__ import annotations

from ledger import entries
from ledger.accounts import PAYOUT_METHODS, FundSettings
from ledger.books import Books, Posted, init_books
from ledger.errors import (BooksInvalid, EntryRefused, LedgerError, SealRefused,
                           WriteFailed, WritesDisabled)
from ledger.months import Month, month_of
from ledger.seal import Verification
from ledger.state import BooksState, Seal

__all__ = ["Books", "BooksInvalid", "BooksState", "EntryRefused", "FundSettings",
           "LedgerError", "Month", "PAYOUT_METHODS", "Posted", "Seal", "SealRefused", "Verification", "WriteFailed",
           "WritesDisabled", "entries", "init_books", "month_of"]
