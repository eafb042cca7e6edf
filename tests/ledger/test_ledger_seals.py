"""Sealing months and proving, later, that a sealed month was never touched.

The chain is recomputed here by hand, exactly as the docs tell a community member to:
`sha256(f"{month}\\n{file_sha256}\\n{prev}\\n")`, the first `prev` being 64 zeros.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal

import pytest
from beancount import loader
from beancount.core import data

from ledger import Books, BooksInvalid, entries
from ledger.errors import (InvalidAmount, LedgerError, InvalidReference, MonthNotOver, MonthSealed,
                           SealOutOfOrder, StatementMismatch)
from ledger_helpers import tree_hashes

D = Decimal
BANK = "Assets:Fund:Bank"


def seal(books, month, statements, today=None):
    year, mon = int(month[:4]), int(month[5:])
    today = today or (dt.date(year + mon // 12, mon % 12 + 1, 1))
    return books.seal(month, statements, today=today)


def three_sealed_months(books):
    """Jan: approve 450; Feb: pay 400, donate 50 via PayPal; Mar: nothing. All sealed."""
    books.post(entries.approval("R-2026-0042", 1, dt.date(2026, 1, 3), "rent", D("450"),
                                "USD"))
    seal(books, "2026-01", {BANK: D("1000.00")})
    books.post(entries.payment("R-2026-0042", 1, dt.date(2026, 2, 5), "rent", "bank", BANK,
                               D("400"), "USD"))
    books.post(entries.donation("D-2026-0001", dt.date(2026, 2, 6), "individual",
                                "Assets:Fund:PayPal", D("50"), "USD", fee=D("1.75")))
    seal(books, "2026-02", {BANK: D("600.00"), "Assets:Fund:PayPal": D("48.25")})
    seal(books, "2026-03", {BANK: D("600"), "Assets:Fund:PayPal": D("48.25")})


def test_seal_order_is_enforced(books):
    before = tree_hashes(books.dir)
    with pytest.raises(SealOutOfOrder, match="the next is 2026-01"):
        seal(books, "2026-02", {BANK: D("1000.00")})
    assert tree_hashes(books.dir) == before
    seal(books, "2026-01", {BANK: D("1000.00")})
    with pytest.raises(SealOutOfOrder, match=r"the next is 2026-02 \(sealed through 2026-01\)"):
        seal(books, "2026-01", {BANK: D("1000.00")})
    with pytest.raises(SealOutOfOrder, match="the next is 2026-02"):
        seal(books, "2026-03", {BANK: D("1000.00")})


def test_month_must_be_over(books):
    before = tree_hashes(books.dir)
    with pytest.raises(MonthNotOver, match="2026-01 ends on 2026-01-31; seal it from 2026-02-01"):
        books.seal("2026-01", {BANK: D("1000.00")}, today=dt.date(2026, 1, 31))
    assert tree_hashes(books.dir) == before
    books.seal("2026-01", {BANK: D("1000.00")}, today=dt.date(2026, 2, 1))


@pytest.mark.parametrize("month", ["2026-1", "2026-13", "26-01", None])
def test_month_must_be_yyyy_mm(books, month):
    with pytest.raises(InvalidReference) as info:
        books.seal(month, {BANK: D("1000.00")}, today=dt.date(2027, 1, 1))
    assert info.value.field == "month"


def test_month_with_a_trailing_newline_is_refused(books):
    # _MONTH's `$` lets it past the format check; the order check still refuses it
    before = tree_hashes(books.dir)
    with pytest.raises(LedgerError):
        books.seal("2026-01\n", {BANK: D("1000.00")}, today=dt.date(2027, 1, 1))
    assert tree_hashes(books.dir) == before


def test_statement_mismatch_names_account_and_difference_and_writes_nothing(books):
    books.post(entries.donation("D-2026-0001", dt.date(2026, 1, 9), "individual",
                                "Assets:Fund:PayPal", D("50"), "USD", fee=D("1.75")))
    before = tree_hashes(books.dir)
    with pytest.raises(StatementMismatch) as info:
        seal(books, "2026-01", {BANK: D("1000.00"), "Assets:Fund:PayPal": D("50.00")})
    err = info.value
    assert "Assets:Fund:PayPal: statement 50.00 USD, books 48.25 USD, difference 1.75 USD" \
        in err.message
    assert BANK not in err.message  # the bank agrees; only the PayPal line is named
    assert err.differences == {"Assets:Fund:PayPal": (D("50.00"), D("48.25"))}
    assert tree_hashes(books.dir) == before
    assert books.state.sealed_through is None


def test_missing_statement_for_an_active_account_is_refused(books):
    books.post(entries.donation("D-2026-0001", dt.date(2026, 1, 9), "event",
                                "Assets:Fund:Venmo", D("5"), "USD"))
    before = tree_hashes(books.dir)
    with pytest.raises(InvalidReference) as info:
        seal(books, "2026-01", {BANK: D("1000.00")})
    assert info.value.field == "balances"
    assert "Assets:Fund:Venmo" in info.value.message and BANK not in info.value.message
    with pytest.raises(InvalidReference, match=BANK):
        seal(books, "2026-01", {"Assets:Fund:Venmo": D("5")})  # the bank holds money
    assert tree_hashes(books.dir) == before


def test_statement_values_are_checked(books):
    before = tree_hashes(books.dir)
    with pytest.raises(InvalidAmount):
        seal(books, "2026-01", {BANK: 1000.0})
    with pytest.raises(InvalidReference, match="Expenses:Aid:Rent"):
        seal(books, "2026-01", {BANK: D("1000"), "Expenses:Aid:Rent": D("0")})
    assert tree_hashes(books.dir) == before


def test_quiet_accounts_are_asserted_at_zero(books):
    sealed = seal(books, "2026-01", {BANK: D("1000.00")})
    text = (books.dir / "seals.beancount").read_text()
    for account, number in ((BANK, "1000.00"), ("Assets:Fund:Cash", "0.00"),
                            ("Assets:Fund:PayPal", "0.00"), ("Assets:Fund:Venmo", "0.00")):
        assert any(line.startswith(f"2026-02-01 balance {account} ")
                   and line.endswith(f" {number} USD") for line in text.splitlines())
    assert f'"2026-01" "{sealed.file_sha256}" "{"0" * 64}" "{sealed.seal_hash}"' in text
    assert books.state.sealed_through == "2026-01"


def test_an_empty_month_can_be_sealed(books):
    seal(books, "2026-01", {BANK: D("1000.00")})
    sealed = seal(books, "2026-02", {BANK: D("1000.00")})
    feb = books.dir / "2026" / "2026-02.beancount"
    assert feb.exists() and 'include "2026/2026-02.beancount"' in books.main.read_text()
    assert sealed.file_sha256 == hashlib.sha256(feb.read_bytes()).hexdigest()
    assert books.verify().ok


def test_chain_of_three_months_verifies_and_can_be_recomputed_by_hand(books):
    three_sealed_months(books)
    result = books.verify()
    assert result.ok and result.sealed_through == "2026-03" and result.first_bad_month is None
    assert str(result) == "seal chain intact (sealed through 2026-03)"

    entries_, errors, _ = loader.load_file(str(books.main))
    assert not errors
    seals = [e for e in entries_ if isinstance(e, data.Custom) and e.type == "carebooks-seal"]
    assert [s.values[0].value for s in seals] == ["2026-01", "2026-02", "2026-03"]
    prev = "0" * 64
    for entry in seals:
        month, file_sha, seal_prev, seal_hash, *root = (v.value for v in entry.values)
        path = books.dir / month[:4] / f"{month}.beancount"
        assert file_sha == hashlib.sha256(path.read_bytes()).hexdigest()
        assert seal_prev == prev
        # the month's Merkle root (test_merkle.py); March has no entries, hence no root
        assert len(root) == (month != "2026-03")
        lines = "".join(f"{v}\n" for v in (month, file_sha, prev, *root))
        assert all(re.fullmatch(r"[0-9a-f]{64}", r) for r in root)
        assert seal_hash == hashlib.sha256(lines.encode()).hexdigest()
        assert entry.date == dt.date(2026, int(month[5:]) + 1, 1)
        prev = seal_hash
    assert books.state.last_seal.seal_hash == prev


def test_one_changed_character_in_a_sealed_month_breaks_verify(books):
    three_sealed_months(books)
    feb = books.dir / "2026" / "2026-02.beancount"
    text = feb.read_text()
    assert '"Rent, bank transfer"' in text
    feb.write_text(text.replace('"Rent, bank transfer"', '"Rent, bank transfEr"'))
    result = Books.open(books.dir).verify()
    assert not result.ok
    assert result.first_bad_month == "2026-02"
    assert "2026/2026-02.beancount changed after it was sealed" in str(result)
    # the Books object that was open all along notices too
    assert books.verify().first_bad_month == "2026-02"
    feb.write_text(text)
    assert books.verify().ok


def test_a_comment_appended_to_a_sealed_month_breaks_verify(books):
    three_sealed_months(books)
    mar = books.dir / "2026" / "2026-03.beancount"
    mar.write_bytes(mar.read_bytes() + b"; a comment added later\n")
    result = books.verify()
    assert (result.ok, result.first_bad_month) == (False, "2026-03")


def test_writes_into_sealed_months_are_refused(books):
    three_sealed_months(books)
    before = tree_hashes(books.dir)
    for day in (dt.date(2026, 1, 1), dt.date(2026, 2, 28), dt.date(2026, 3, 31)):
        with pytest.raises(MonthSealed, match="sealed through 2026-03"):
            books.post(entries.approval("R-2026-0050", 1, day, "food", D("1"), "USD"))
    assert tree_hashes(books.dir) == before
    assert books.verify().ok
    books.post(entries.approval("R-2026-0050", 1, dt.date(2026, 4, 1), "food", D("1"), "USD"))
    assert books.verify().ok


def test_seal_balances_match_bean_check(books):
    """The balance assertions a seal writes are true: Beancount itself checks them."""
    three_sealed_months(books)
    entries_, errors, _ = loader.load_file(str(books.main))
    balances = [e for e in entries_ if isinstance(e, data.Balance)]
    assert len(balances) == 12 and not errors
    paypal = [b for b in balances if b.account == "Assets:Fund:PayPal"]
    assert [str(b.amount) for b in paypal] == ["0.00 USD", "48.25 USD", "48.25 USD"]


def test_a_seal_made_by_another_books_object_is_respected(books):
    other = Books.open(books.dir)  # e.g. the CLI seals while the web app is running
    other.seal("2026-01", {BANK: D("1000.00")}, today=dt.date(2026, 2, 1))
    before = tree_hashes(books.dir)
    with pytest.raises(MonthSealed):
        books.post(entries.approval("R-2026-0050", 1, dt.date(2026, 1, 30), "food", D("1"),
                                    "USD"))
    assert tree_hashes(books.dir) == before
    assert books.state.sealed_through == "2026-01"
    with pytest.raises(SealOutOfOrder):
        seal(books, "2026-01", {BANK: D("1000.00")})


def test_a_back_dated_hand_entry_cannot_change_a_sealed_month(books):
    books.post(entries.approval("R-2026-0042", 1, dt.date(2026, 1, 3), "rent", D("100"), "USD"))
    books.post(entries.approval("R-2026-0043", 1, dt.date(2026, 2, 3), "rent", D("100"), "USD"))
    seal(books, "2026-01", {BANK: D("1000.00")})
    feb = books.dir / "2026" / "2026-02.beancount"
    with feb.open("a") as fh:  # January's rent quietly becomes food, after the seal
        fh.write('\n2026-01-15 * "edit"\n  Expenses:Aid:Rent  -100.00 USD\n'
                 "  Expenses:Aid:Food   100.00 USD\n")
    try:
        Books.open(books.dir)
    except BooksInvalid:
        return
    result = books.verify()
    assert not result.ok, f"verify: {result}; January food is now " \
        f"{books.state.balance_at_end_of('Expenses:Aid:Food', '2026-01')}"


def test_verify_reuses_its_answer_until_a_file_changes(books, monkeypatch):
    import os

    import ledger.books as books_module

    books.post(entries.approval("R-2026-0042", 1, dt.date(2026, 1, 3), "rent", D("100"), "USD"))
    seal(books, "2026-01", {BANK: D("1000.00")})
    calls = []
    real = books_module.verify_chain
    monkeypatch.setattr(books_module, "verify_chain",
                        lambda *a: calls.append(1) or real(*a))
    assert books.verify().ok and books.verify().ok
    assert len(calls) == 1  # the second answer came from the cache
    jan = books.dir / "2026" / "2026-01.beancount"
    data = jan.read_bytes()
    stat = jan.stat()
    jan.write_bytes(data.replace(b"100.00 USD", b"900.00 USD"))  # same size, same mtime:
    os.utime(jan, ns=(stat.st_atime_ns, stat.st_mtime_ns))      # a careful tamperer
    result = books.verify(fresh=True)  # what `carebooks check` asks for
    assert not result.ok and result.first_bad_month == "2026-01"
    jan.write_bytes(data)
    os.utime(jan, ns=(stat.st_atime_ns, stat.st_mtime_ns))
