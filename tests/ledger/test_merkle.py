"""Salted Merkle roots: a sealed month commits to its entries; a receipt proves one of them."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D

from ledger import entries, merkle
from ledger.seal import seal_hash

BANK = "Assets:Fund:Bank"


def _month(books) -> None:
    for i in range(1, 6):
        books.post(entries.approval(f"R-2026-000{i}", 1, dt.date(2026, 1, i), "rent",
                                    D(100 + i), "USD"))
    books.post(entries.payment("R-2026-0001", 1, dt.date(2026, 1, 9), "rent", "bank", BANK,
                               D(101), "USD"))
    state = books.state
    books.seal("2026-01", {a: state.balance_at_end_of(a, "2026-01")
                           for a in state.cash_accounts()}, today=dt.date(2026, 2, 1))


def test_the_seal_commits_to_the_root_of_the_month_s_salted_entries(books):
    _month(books)
    seal = books.state.last_seal
    content = (books.dir / "2026" / "2026-01.beancount").read_bytes()
    leaves = merkle.leaves(content)
    assert len(leaves) == 7  # the opening balance, five approvals, one payment
    assert seal.merkle_root == merkle.root(content)
    assert seal.seal_hash == seal_hash("2026-01", seal.file_sha256, seal.prev, seal.merkle_root)
    assert books.verify().ok


def test_every_entry_s_receipt_checks_and_a_changed_byte_does_not(books):
    _month(books)
    for cid in ["approve:R-2026-000%d:1" % i for i in range(1, 6)] + ["pay:R-2026-0001:1"]:
        receipt = json.loads(json.dumps(books.receipt(cid)))
        assert receipt["month"] == "2026-01" and cid in receipt["entry"]
        assert merkle.check(receipt["entry"], receipt["salt"], receipt["path"], receipt["root"])
        changed = receipt["entry"].replace("101.00 USD", "111.00 USD").replace(
            "102.00 USD", "112.00 USD").replace("103.00 USD", "113.00 USD").replace(
            "104.00 USD", "114.00 USD").replace("105.00 USD", "115.00 USD")
        assert not merkle.check(changed, receipt["salt"], receipt["path"], receipt["root"])
        other = "0" * 32
        assert not merkle.check(receipt["entry"].replace(receipt["salt"], other), other,
                                receipt["path"], receipt["root"])


def test_no_receipt_for_an_open_month_or_an_unsalted_entry(books):
    books.post(entries.approval("R-2026-0001", 1, dt.date(2026, 1, 3), "rent", D(50), "USD"))
    assert books.receipt("approve:R-2026-0001:1") is None   # not sealed yet
    unsalted = "\n".join(line for line in merkle.leaves(
        (books.dir / "2026" / "2026-01.beancount").read_bytes())[-1].text.splitlines()
        if "carebooks-salt" not in line)
    assert merkle.leaves((unsalted + "\n").encode()) == []


def test_a_tree_of_any_size_proves_each_leaf():
    for n in range(1, 12):
        text = "".join(f'\n2026-01-0{1 + i % 9} * "x" "y"\n  carebooks-id: "e:{i}"\n'
                       f'  carebooks-salt: "{i:032x}"\n  A:B  1.00 USD\n  C:D  -1.00 USD\n'
                       for i in range(n)).encode()
        root = merkle.root(text)
        for i in range(n):
            leaf, index, steps = merkle.path(text, f"e:{i}")
            assert index == i and merkle.check(leaf.text, leaf.salt, steps, root)


def test_a_month_sealed_before_salts_keeps_its_seal_and_gets_no_receipts(tmp_path):
    """Upgrade: a month written without salts seals as before (four values, three-line
    hash); the next month, written with salts, gets a root; the chain holds across both."""
    from ledger import FundSettings, init_books

    books = init_books(tmp_path / "books", FundSettings("Old Fund"), dt.date(2026, 1, 1))
    books.post(entries.without_salt(entries.opening_balance(BANK, dt.date(2026, 1, 1), D(500),
                                                            "USD")))
    old = entries.without_salt(entries.approval("R-2026-0001", 1, dt.date(2026, 1, 3), "rent",
                                                D(50), "USD"))
    books.post(old)
    state = books.state
    balances = {a: state.balance_at_end_of(a, "2026-01") for a in state.cash_accounts()}
    january = (books.dir / "2026" / "2026-01.beancount").read_bytes()
    unsalted_only = [leaf for leaf in merkle.leaves(january)
                     if leaf.carebooks_id == "approve:R-2026-0001:1"] == []
    assert unsalted_only
    books.seal("2026-01", balances, today=dt.date(2026, 3, 1))
    books.post(entries.approval("R-2026-0002", 1, dt.date(2026, 2, 3), "rent", D(60), "USD"))
    books.seal("2026-02", balances, today=dt.date(2026, 3, 1))
    jan, feb = books.state.seals
    assert jan.merkle_root == "" and books.receipt("approve:R-2026-0001:1") is None
    seals = (books.dir / "seals.beancount").read_text()
    assert seals.count('"2026-01"') == 1 and f'"{jan.seal_hash}"\n' in seals   # four values
    assert feb.merkle_root and books.receipt("approve:R-2026-0002:1")["month"] == "2026-02"
    assert jan.seal_hash == seal_hash("2026-01", jan.file_sha256, jan.prev)
    assert books.verify().ok
