"""Posting the same carebooks-id twice writes it once (docs/design.md §5: nothing twice).

The outbox replays an entry after a crash; the books must answer "already there" with
the entry as written, from this process, another Books object, or after a reopen.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ledger import Books, entries
from ledger.errors import DuplicateId
from ledger_helpers import full_view, tree_hashes

JAN = dt.date(2026, 1, 7)


def approval(amount="450.00", date=JAN, category="rent"):
    return entries.approval("R-2026-0042", 1, date, category, Decimal(amount), "USD")


def same_entry(a, b) -> bool:
    return (a.date, a.payee, a.narration, a.links, a.meta["carebooks-id"],
            [(p.account, p.units) for p in a.postings]) == \
           (b.date, b.payee, b.narration, b.links, b.meta["carebooks-id"],
            [(p.account, p.units) for p in b.postings])


def test_second_post_returns_the_existing_entry_and_writes_nothing(books):
    first = books.post(approval())
    assert first.created and first.id == "approve:R-2026-0042:1"
    assert (first.filename, first.lineno) == ("2026/2026-01.beancount", 9)
    before = tree_hashes(books.dir)
    second = books.post(approval())
    assert not second.created
    assert (second.filename, second.lineno) == (first.filename, first.lineno)
    assert same_entry(second.entry, first.entry)
    assert tree_hashes(books.dir) == before
    month = (books.dir / first.filename).read_text()
    assert month.count('carebooks-id: "approve:R-2026-0042:1"') == 1
    lines = month.splitlines()
    assert lines[first.lineno - 1].startswith("2026-01-07 * \"Aid approved\"")
    view = full_view(books.main)
    assert view.ids["approve:R-2026-0042:1"] == 1
    assert books.state.committed() == Decimal("450.00")


def test_replay_from_another_books_object_and_after_reopen(books):
    books.post(approval())
    other = Books.open(books.dir)
    replay = other.post(approval())
    assert not replay.created
    assert same_entry(replay.entry, approval())
    books.post(approval())
    assert full_view(books.main).ids["approve:R-2026-0042:1"] == 1
    assert books.state.committed() == other.state.committed() == Decimal("450.00")


def test_replay_after_the_month_is_sealed_is_still_a_no_op(books):
    """The outbox may replay late: an entry already in a sealed month is found, not refused."""
    books.post(approval())
    books.seal("2026-01", {"Assets:Fund:Bank": Decimal("1000.00")}, today=dt.date(2026, 2, 1))
    replay = Books.open(books.dir).post(approval())
    assert not replay.created
    assert replay.filename == "2026/2026-01.beancount"


def test_entry_lookup_by_id(books):
    posted = books.post(approval())
    found = books.entry("approve:R-2026-0042:1")
    assert same_entry(found, posted.entry)
    assert found.meta["lineno"] == posted.lineno
    assert books.entry("approve:R-2026-0042:2") is None


def test_a_different_entry_under_an_existing_id_is_refused(books):
    books.post(approval("450.00"))
    before = tree_hashes(books.dir)
    try:
        again = books.post(approval("999.00", date=dt.date(2026, 1, 9), category="food"))
    except DuplicateId as err:
        assert "approve:R-2026-0042:1" in err.message
    else:
        raise AssertionError(f"answered created={again.created} with the old entry: "
                             f"{again.entry.postings[0].units} on {again.entry.date}")
    assert tree_hashes(books.dir) == before
