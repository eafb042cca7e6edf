"""The fund's books: Beancount entries built, validated, appended, loaded, sealed, verified.

Pure Python and beancount; this package never imports flask, sqlmodel, app or reports.
This module is the front door: `app` and `reports` import every ledger name from here
(`from ledger import Books, Month`) and never a submodule, so that the ledger's modules
can be split or renamed without touching its callers (tests/test_import_graph.py checks
it). `accounts` (the chart of accounts), `entries` (the entry builders) and `merkle`
(receipts) are namespaces of their own.
"""

from __future__ import annotations

from ledger import accounts, entries, merkle
from ledger.accounts import (AID_ROOT, APPROVED, CASH_ROOT, DONATION_ROOT, FEES,
                             OPERATIONS_ROOT, PAYOUT_METHODS, FundSettings, aid_account,
                             category_of, payout_account)
from ledger.books import MAIN, META_DIR, SEALS, Books, Posted, init_books
from ledger.errors import (BooksInvalid, EntryRefused, InvalidReference, InvalidText,
                           LedgerError, SealOutOfOrder, SealRefused, StatementMismatch,
                           WriteFailed, WritesDisabled)
from ledger.files import locked
from ledger.money import fmt, minor_unit, quantum, to_amount
from ledger.months import Month, month_of
from ledger.repair import TornTail, cut_torn_tail
from ledger.seal import Verification
from ledger.state import GENESIS, BooksState, Seal
from ledger.text import MappingName
from ledger.validate import check_entry, round_trip

__all__ = ["AID_ROOT", "APPROVED", "Books", "BooksInvalid", "BooksState", "CASH_ROOT",
           "DONATION_ROOT", "EntryRefused", "FEES", "FundSettings", "GENESIS",
           "InvalidReference", "InvalidText", "LedgerError", "MAIN", "META_DIR",
           "MappingName", "Month", "OPERATIONS_ROOT", "PAYOUT_METHODS", "Posted", "SEALS", "Seal",
           "SealOutOfOrder", "SealRefused", "StatementMismatch", "TornTail", "Verification",
           "WriteFailed", "WritesDisabled", "accounts", "aid_account", "category_of",
           "check_entry", "cut_torn_tail", "entries", "fmt", "init_books", "locked", "merkle",
           "minor_unit", "month_of", "payout_account", "quantum", "round_trip", "to_amount"]
