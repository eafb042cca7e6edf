"""A treasurer (or another program) edits the books by hand; the app notices (docs/design.md §3).

Appends made outside the app show up in the next read without a restart; a file an
editor broke makes every read raise BooksInvalid carrying Beancount's own message, file
and line, and nothing is written until the file is fixed; a torn tail (the end of the
last entry cut off) is caught at load.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest

from ledger import Books, BooksInvalid, entries
from ledger_helpers import assert_state_matches, full_view, tree_hashes

D = Decimal
JAN_FILE = "2026/2026-01.beancount"

HAND_WRITTEN = """
2026-01-09 * "Bank" "Monthly account fee"
  Expenses:Operations:Fees   2.50 USD
  Assets:Fund:Bank
"""


def month_file(books) -> Path:
    return books.dir / JAN_FILE


def rewrite(path: Path, text: str, *, in_place: bool) -> None:
    """Save `text` the way editors do: in place, or to a temporary file renamed over it."""
    if in_place:
        path.write_text(text)
    else:
        tmp = path.with_name(path.name + ".swp")
        tmp.write_text(text)
        os.replace(tmp, path)


def test_hand_written_append_is_seen_without_restart(books):
    assert books.state.balance("Assets:Fund:Bank") == D("1000.00")
    with month_file(books).open("a") as fh:
        fh.write(HAND_WRITTEN)
    assert books.state.balance("Assets:Fund:Bank") == D("997.50")
    assert books.state.balance("Expenses:Operations:Fees") == D("2.50")
    # and the app keeps appending after it, at the right line
    books.post(entries.approval("R-2026-0042", 1, dt.date(2026, 1, 10), "food", D("20"), "USD"))
    posted = books.post(entries.approval("R-2026-0042", 1, dt.date(2026, 1, 10), "food",
                                         D("20"), "USD"))
    lines = month_file(books).read_text().splitlines()
    assert lines[posted.lineno - 1].startswith('2026-01-10 * "Aid approved" "Food"')
    assert_state_matches(books.state, full_view(books.main))


def test_a_new_month_file_included_by_hand_is_seen(books):
    feb = books.dir / "2026" / "2026-02.beancount"
    feb.write_text(HAND_WRITTEN.replace("2026-01-09", "2026-02-09"))
    with books.main.open("a") as fh:
        fh.write('include "2026/2026-02.beancount"\n')
    assert books.state.balance("Assets:Fund:Bank") == D("997.50")
    books.post(entries.approval("R-2026-0042", 1, dt.date(2026, 2, 10), "food", D("20"), "USD"))
    assert books.main.read_text().count('include "2026/2026-02.beancount"') == 1
    assert_state_matches(books.state, full_view(books.main))


@pytest.mark.parametrize("in_place", [True, False], ids=["in-place", "rename"])
def test_editor_error_unknown_account_then_fix(books, in_place):
    path = month_file(books)
    good = path.read_text()
    bad = good + HAND_WRITTEN.replace("Expenses:Operations:Fees", "Expenses:Operations:Feez")
    rewrite(path, bad, in_place=in_place)
    with pytest.raises(BooksInvalid) as info:
        books.state  # noqa: B018 (reading the state is the action under test)
    [err] = info.value.errors
    assert err.filename == str(path)
    assert err.lineno == bad.splitlines().index('2026-01-09 * "Bank" "Monthly account fee"') + 1
    assert "Invalid reference to unknown account 'Expenses:Operations:Feez'" in err.message
    assert f"{path}:{err.lineno}: Invalid reference" in str(info.value)

    # nothing can be written while the books are broken
    before = tree_hashes(books.dir)
    with pytest.raises(BooksInvalid):
        books.post(entries.approval("R-2026-0042", 1, dt.date(2026, 1, 10), "rent", D("1"),
                                    "USD"))
    with pytest.raises(BooksInvalid):
        books.seal("2026-01", {"Assets:Fund:Bank": D("1000")}, today=dt.date(2026, 2, 1))
    with pytest.raises(BooksInvalid):
        Books.open(books.dir)
    assert tree_hashes(books.dir) == before

    rewrite(path, good + HAND_WRITTEN, in_place=in_place)
    assert books.state.balance("Assets:Fund:Bank") == D("997.50")
    assert_state_matches(books.state, full_view(books.main))


def test_editor_syntax_error_then_fix(books):
    path = month_file(books)
    good = path.read_text()
    broken = good.replace('"Opening balance" "Bank"', '"Opening balance" "Bank')
    path.write_text(broken)
    with pytest.raises(BooksInvalid) as info:
        books.state  # noqa: B018
    errors = info.value.errors
    assert errors and all(e.filename == str(path) for e in errors)
    assert any("syntax error" in e.message for e in errors)
    header = broken.splitlines().index('2026-01-01 * "Opening balance" "Bank') + 1
    assert {e.lineno for e in errors} <= set(range(header, header + 4))
    path.write_text(good)
    assert books.state.balance("Assets:Fund:Bank") == D("1000.00")


def test_editor_including_a_missing_file_seen_at_open(books):
    good = books.main.read_text()
    books.main.write_text(good + 'include "2026/2026-07.beancount"\n')
    with pytest.raises(BooksInvalid) as info:
        Books.open(books.dir)
    assert any("2026-07.beancount" in e.message for e in info.value.errors)
    books.main.write_text(good)
    assert Books.open(books.dir).state.balance("Assets:Fund:Bank") == D("1000.00")


def test_editor_including_a_missing_file_seen_by_an_open_books(books):
    good = books.main.read_text()
    books.main.write_text(good + 'include "2026/2026-07.beancount"\n')
    try:
        with pytest.raises(BooksInvalid) as info:
            books.state  # noqa: B018
        assert any("2026-07.beancount" in e.message for e in info.value.errors)
    finally:
        books.main.write_text(good)
    assert books.state.balance("Assets:Fund:Bank") == D("1000.00")


def last_entry_cuts(text: str) -> dict[str, int]:
    """Byte offsets that cut the last entry of a month file at telling places."""
    start = text.rindex("\n2026-01-05 * ") + 1
    body = text[start:]
    meta_end = body.index('"pay:R-2026-0042:1"\n') + len('"pay:R-2026-0042:1"\n')
    first_posting_end = body.index("USD\n", meta_end) + len("USD\n")
    return {
        "inside-the-id-string": start + body.index("pay:R-2026") + 5,
        "inside-the-first-amount": start + body.index("450.00") + 2,
        "after-the-first-posting": start + first_posting_end,
        "inside-the-last-amount": start + body.rindex("-450.00") + 3,
        "after-the-metadata": start + meta_end,
        "after-the-first-account": start + body.index("Liabilities:Aid:Approved") + 24,
    }


def torn_books(books) -> tuple[Path, str, int]:
    books.post(entries.approval("R-2026-0042", 1, dt.date(2026, 1, 3), "rent", D("450"), "USD"))
    books.post(entries.payment("R-2026-0042", 1, dt.date(2026, 1, 5), "rent", "bank",
                               "Assets:Fund:Bank", D("450"), "USD"))
    path = month_file(books)
    text = path.read_text()
    return path, text, text.count("\n", 0, text.rindex("\n2026-01-05 * ") + 1) + 1


@pytest.mark.corrupts_books
@pytest.mark.parametrize("where", ["inside-the-id-string", "inside-the-first-amount",
                                   "after-the-first-posting", "inside-the-last-amount"])
def test_torn_tail_is_detected_at_load(books, where):
    path, text, entry_line = torn_books(books)
    cut = last_entry_cuts(text)[where]
    path.write_bytes(text.encode()[:cut])
    for read in (lambda: Books.open(books.dir), lambda: books.state):
        with pytest.raises(BooksInvalid) as info:
            read()
        assert info.value.errors
        for err in info.value.errors:
            assert err.filename == str(path)
            assert entry_line <= err.lineno <= text.count("\n") + 1, err


@pytest.mark.corrupts_books
@pytest.mark.parametrize("where", ["after-the-metadata", "after-the-first-account"])
def test_torn_tail_that_drops_every_posting_is_detected(books, where):
    path, text, _ = torn_books(books)
    path.write_bytes(text.encode()[:last_entry_cuts(text)[where]])
    try:
        reopened = Books.open(books.dir)
    except BooksInvalid as err:
        assert all(e.filename == str(path) for e in err.errors)
    else:
        state = reopened.state
        raise AssertionError(f"loaded without error; pay:R-2026-0042:1 in ids: "
                             f"{'pay:R-2026-0042:1' in state.ids}, committed "
                             f"{state.committed()} (450.00 was paid)")


@pytest.mark.corrupts_books
def test_a_torn_entry_never_counts_as_written_with_its_money_missing(books):
    """For every cut of the last entry: refused, or the id is absent (the outbox rewrites
    it), or the id is present with the full amounts (a harmless cut)."""
    path, text, _ = torn_books(books)
    data = text.encode()
    whole = Books.open(books.dir).state.balances.copy()
    start = text.rindex("\n2026-01-05 * ") + 1
    wrong = []
    for cut in range(start, len(data)):
        path.write_bytes(data[:cut])
        try:
            state = Books.open(books.dir).state
        except BooksInvalid:
            continue
        if "pay:R-2026-0042:1" in state.ids and state.balances != whole:
            wrong.append(repr(data[start:cut].decode()[-40:]))
    path.write_bytes(data)
    assert not wrong, f"{len(wrong)} cuts lose money silently, e.g. {wrong[:3]}"
