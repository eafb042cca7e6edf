"""The snapshot of sealed months: a faster `Books.open` that must never change an answer.

After seals `Books.open` starts from `.carebooks/snapshot.json` plus a parse of the open
months; whenever the snapshot does not match the files it must step aside for the full
loader. Either way the figures equal an independent full `beancount.loader` load.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledger import Books, BooksState, entries, load
from ledger.files import FileIO
from ledger.load import read_snapshot
from ledger_helpers import assert_state_matches, full_view

D = Decimal
BANK = "Assets:Fund:Bank"


@pytest.fixture
def sealed_books(books):
    """Two sealed months with open approvals, payments and a donation, and an open March."""
    post = books.post
    post(entries.approval("R-2026-0001", 1, dt.date(2026, 1, 3), "rent", D("450"), "USD"))
    post(entries.approval("R-2026-0002", 1, dt.date(2026, 1, 4), "food", D("80"), "USD"))
    post(entries.donation("D-2026-0001", dt.date(2026, 1, 8), "grant", "Assets:Fund:PayPal",
                          D("300"), "USD", fee=D("9.00"), donor_name="Fondation Égalité"))
    books.seal("2026-01", {BANK: D("1000.00"), "Assets:Fund:PayPal": D("291.00")},
               today=dt.date(2026, 2, 1))
    post(entries.payment("R-2026-0001", 1, dt.date(2026, 2, 2), "rent", "bank", BANK,
                         D("200"), "USD"))
    post(entries.cancellation("R-2026-0002", 1, dt.date(2026, 2, 3), "food", D("30"), "USD"))
    books.seal("2026-02", {BANK: D("800.00"), "Assets:Fund:PayPal": D("291.00")},
               today=dt.date(2026, 3, 1))
    post(entries.payment("R-2026-0002", 1, dt.date(2026, 3, 4), "food", "paypal",
                         "Assets:Fund:PayPal", D("50"), "USD"))
    post(entries.donation_refund("D-2026-0001", 1, dt.date(2026, 3, 5), "grant", BANK,
                                 D("100"), "USD"))
    return books


def same_figures(books, view) -> None:
    state = books.state
    assert_state_matches(state, view)
    assert len(state.ids) == len(view.ids)
    assert state.outstanding("R-2026-0001") == D("250.00")
    assert state.outstanding("R-2026-0002") == D("0")
    assert state.sealed_through == "2026-02"


def test_open_after_seals_uses_the_snapshot_and_agrees_with_a_full_load(sealed_books):
    view = full_view(sealed_books.main)
    reopened = Books.open(sealed_books.dir)
    assert reopened.load_mode == "snapshot"
    same_figures(reopened, view)
    same_figures(sealed_books, view)
    assert reopened.state.entry_count == Books.open(sealed_books.dir,
                                                    snapshots=False).state.entry_count
    assert reopened.verify().ok
    # the snapshot covers exactly the sealed files
    snap = read_snapshot(sealed_books.dir / ".carebooks" / "snapshot.json")
    assert sorted(snap["files"]) == ["2026/2026-01.beancount", "2026/2026-02.beancount",
                                     "accounts.beancount", "seals.beancount"]


def test_without_snapshots_the_full_loader_is_used(sealed_books):
    reopened = Books.open(sealed_books.dir, snapshots=False)
    assert reopened.load_mode == "full"
    same_figures(reopened, full_view(sealed_books.main))


def test_deleted_snapshot_falls_back_to_full_load_and_is_rebuilt(sealed_books):
    snap = sealed_books.dir / ".carebooks" / "snapshot.json"
    snap.unlink()
    reopened = Books.open(sealed_books.dir)
    assert reopened.load_mode == "full"
    same_figures(reopened, full_view(sealed_books.main))
    assert snap.exists()
    assert Books.open(sealed_books.dir).load_mode == "snapshot"


def rewrite_snapshot(books, *, files=None, version=None) -> None:
    """Write the snapshot again with ledger's own writer, with stale file hashes or under
    another format version: well-formed, but not for these files."""
    path = books.dir / ".carebooks" / "snapshot.json"
    snap = read_snapshot(path)
    assert snap is not None
    state = BooksState.from_json(snap["state"])
    old_version = load.SNAPSHOT_VERSION
    load.SNAPSHOT_VERSION = version if version is not None else old_version
    try:
        load.write_snapshot(path, files if files is not None else snap["files"],
                            snap["options"], state, FileIO())
    finally:
        load.SNAPSHOT_VERSION = old_version


def stale_hash(books):
    files = dict(read_snapshot(books.dir / ".carebooks" / "snapshot.json")["files"])
    files["2026/2026-02.beancount"] = "0" * 64
    rewrite_snapshot(books, files=files)


def missing_file(books):
    files = dict(read_snapshot(books.dir / ".carebooks" / "snapshot.json")["files"])
    del files["accounts.beancount"]
    rewrite_snapshot(books, files=files)


def damage_bytes(change):
    def damage(books):
        path = books.dir / ".carebooks" / "snapshot.json"
        path.write_bytes(change(path.read_bytes()))
    return damage


@pytest.mark.parametrize("damage", [
    damage_bytes(lambda b: b[: len(b) // 2]),                     # torn write
    damage_bytes(lambda b: b""),                                  # emptied
    damage_bytes(lambda b: b"\x00" * len(b)),                     # zeroed block
    lambda books: rewrite_snapshot(books, version=999),
    stale_hash,
    missing_file,
], ids=["truncated", "empty", "zeroed", "other-version", "stale-file-hash", "file-missing"])
def test_corrupt_snapshot_falls_back_to_full_load(sealed_books, damage):
    assert Books.open(sealed_books.dir).load_mode == "snapshot"
    damage(sealed_books)
    reopened = Books.open(sealed_books.dir)
    assert reopened.load_mode == "full"
    same_figures(reopened, full_view(sealed_books.main))


@pytest.mark.parametrize("blob", [b"[]", b"1", b'"snapshot"', b"null"])
def test_snapshot_that_is_json_but_not_an_object_falls_back(sealed_books, blob):
    (sealed_books.dir / ".carebooks" / "snapshot.json").write_bytes(blob)
    reopened = Books.open(sealed_books.dir)
    assert reopened.load_mode == "full"
    same_figures(reopened, full_view(sealed_books.main))


@pytest.mark.parametrize("old, new", [
    (b'"Assets:Fund:Bank":"800.00"', b'"Assets:Fund:Bank":"900.00"'),
    (b'"Liabilities:Aid:Approved":"-250.00"', b'"Liabilities:Aid:Approved":"-950.00"'),
], ids=["bank-balance", "outstanding"])
def test_snapshot_with_a_flipped_digit_is_not_trusted(sealed_books, old, new):
    snap = sealed_books.dir / ".carebooks" / "snapshot.json"
    blob = snap.read_bytes()
    if blob.count(old) != 1:
        raise RuntimeError(f"the test's premise changed: {old!r} occurs {blob.count(old)} times")
    snap.write_bytes(blob.replace(old, new))
    reopened = Books.open(sealed_books.dir)
    same_figures(reopened, full_view(sealed_books.main))


def test_adding_an_open_to_accounts_invalidates_the_snapshot(sealed_books):
    accounts = sealed_books.dir / "accounts.beancount"
    with accounts.open("a") as fh:
        fh.write('\n2026-03-01 open Assets:Fund:Wise USD\n  description: "cash the fund holds"\n')
    reopened = Books.open(sealed_books.dir)
    assert reopened.load_mode == "full"
    assert reopened.state.is_open("Assets:Fund:Wise", dt.date(2026, 3, 1))
    same_figures(reopened, full_view(sealed_books.main))
    # the Books object open all along sees the new account too, and can use it
    reopened.post(entries.donation("D-2026-0009", dt.date(2026, 3, 9), "event",
                                   "Assets:Fund:Wise", D("12"), "USD"))
    assert sealed_books.state.balance("Assets:Fund:Wise") == D("12.00")
    assert Books.open(sealed_books.dir).load_mode == "snapshot"


def test_changed_options_in_main_invalidate_the_snapshot(sealed_books):
    text = sealed_books.main.read_text()
    sealed_books.main.write_text(text.replace('option "title" "Test Fund"',
                                              'option "title" "Test Fund (renamed)"'))
    reopened = Books.open(sealed_books.dir)
    assert reopened.load_mode == "full"
    same_figures(reopened, full_view(sealed_books.main))


def test_hand_written_directives_in_open_months(sealed_books):
    """What the fast path cannot vouch for (a pad) goes to the full loader, same figures."""
    march = sealed_books.dir / "2026" / "2026-03.beancount"
    with march.open("a") as fh:
        fh.write('\n2026-03-10 note Assets:Fund:Bank "called the bank"\n')
    assert Books.open(sealed_books.dir).load_mode == "snapshot"
    with march.open("a") as fh:
        fh.write("\n2026-03-11 pad Assets:Fund:Cash Equity:Opening-Balances\n"
                 "\n2026-03-12 balance Assets:Fund:Cash  5.00 USD\n")
    reopened = Books.open(sealed_books.dir)
    assert reopened.load_mode == "full"
    assert reopened.state.balance("Assets:Fund:Cash") == D("5.00")
    assert sealed_books.state.balance("Assets:Fund:Cash") == D("5.00")
    same_figures(reopened, full_view(sealed_books.main))
