"""Disk faults during a write, injected through `FileIO` (the seam ledger/files.py offers).

A full disk (ENOSPC) refuses the entry and leaves the file and the state as they were.
A failed fsync (EIO) means the entry may or may not be on disk: the books stop taking
writes — in this process and, through a marker file, in every other one — until someone
checks them and calls `resume()` (the PostgreSQL "fsyncgate" lesson: a later fsync that
succeeds proves nothing about the write whose fsync failed).
"""

from __future__ import annotations

import datetime as dt
import errno
import os
from decimal import Decimal

import pytest

from ledger import Books, WriteFailed, WritesDisabled, entries
from ledger.files import FileIO
from ledger_helpers import assert_state_matches, full_view, state_balances, tree_hashes

D = Decimal
JAN = dt.date(2026, 1, 12)


class FaultyIO(FileIO):
    """A FileIO whose next write or fsync fails once `fail_write`/`fail_fsync` is set."""

    def __init__(self):
        self.fail_write: int | None = None   # errno to raise on write
        self.partial = False                 # write half the bytes before failing
        self.fail_fsync: int | None = None   # errno to raise on fsync
        self.writes = 0

    def write(self, fd: int, data: bytes) -> None:
        if self.fail_write is not None:
            if self.partial:
                os.write(fd, data[: len(data) // 2])
            raise OSError(self.fail_write, os.strerror(self.fail_write))
        self.writes += 1
        super().write(fd, data)

    def fsync(self, fd: int) -> None:
        if self.fail_fsync is not None:
            raise OSError(self.fail_fsync, os.strerror(self.fail_fsync))
        super().fsync(fd)


@pytest.fixture
def faulty(books):
    """The test books opened again through a FaultyIO, with January's file started."""
    fio = FaultyIO()
    return Books.open(books.dir, fileio=fio), fio


def approval(code="R-2026-0042", date=JAN, amount="100.00"):
    return entries.approval(code, 1, date, "rent", D(amount), "USD")


def snapshot(b):
    state = b.state
    return state_balances(state), dict(state.ids), state.entry_count


@pytest.mark.parametrize("partial", [False, True], ids=["nothing-written", "half-written"])
def test_full_disk_refuses_the_entry_and_changes_nothing(faulty, partial):
    books, fio = faulty
    before_files, before_state = tree_hashes(books.dir), snapshot(books)
    fio.fail_write, fio.partial = errno.ENOSPC, partial
    with pytest.raises(WriteFailed) as info:
        books.post(approval())
    assert "No space left on device" in info.value.message
    assert "2026/2026-01.beancount" in info.value.message
    assert tree_hashes(books.dir) == before_files
    assert snapshot(books) == before_state
    # the disk has room again: the same entry goes through, once
    fio.fail_write = None
    assert books.post(approval()).created
    assert not books.post(approval()).created
    assert_state_matches(books.state, full_view(books.main))


def test_full_disk_during_a_seal_changes_nothing(faulty):
    books, fio = faulty
    before = tree_hashes(books.dir)
    fio.fail_write = errno.ENOSPC
    with pytest.raises(WriteFailed):
        books.seal("2026-01", {"Assets:Fund:Bank": D("1000.00")}, today=dt.date(2026, 2, 1))
    assert tree_hashes(books.dir) == before
    assert books.state.sealed_through is None
    fio.fail_write = None
    books.seal("2026-01", {"Assets:Fund:Bank": D("1000.00")}, today=dt.date(2026, 2, 1))
    assert books.verify().ok


@pytest.mark.parametrize("fault", ["write-ENOSPC", "fsync-EIO"])
def test_fault_on_the_first_entry_of_a_new_month(faulty, fault):
    books, fio = faulty
    before = tree_hashes(books.dir)
    if fault == "write-ENOSPC":
        fio.fail_write = errno.ENOSPC
    else:
        fio.fail_fsync = errno.EIO
    try:
        with pytest.raises(WriteFailed):
            books.post(approval(date=dt.date(2026, 2, 3)))
    finally:
        fio.fail_write = fio.fail_fsync = None
    if fault == "write-ENOSPC":
        assert tree_hashes(books.dir) == before
    else:
        with pytest.raises(WritesDisabled):
            books.post(approval(code="R-2026-0043", date=dt.date(2026, 2, 3)))


def test_failed_fsync_stops_writes_until_resume(faulty):
    books, fio = faulty
    fio.fail_fsync = errno.EIO
    with pytest.raises(WriteFailed) as info:
        books.post(approval())
    assert "fsync failed" in info.value.message and "Input/output error" in info.value.message
    fio.fail_fsync = None  # the device looks healthy again, but nobody has checked the books
    with pytest.raises(WritesDisabled) as stopped:
        books.post(approval(code="R-2026-0043"))
    assert "fsync of 2026/2026-01.beancount failed" in stopped.value.message
    with pytest.raises(WritesDisabled):
        books.seal("2026-01", {"Assets:Fund:Bank": D("1000.00")}, today=dt.date(2026, 2, 1))
    assert "approve:R-2026-0043:1" not in books.state.ids
    books.reload()  # reading the books again is not checking them
    with pytest.raises(WritesDisabled):
        books.post(approval(code="R-2026-0043"))
    books.resume()
    # what reached the file is what the books now hold: the entry was written once
    assert_state_matches(books.state, full_view(books.main))
    assert not books.post(approval()).created
    assert books.post(approval(code="R-2026-0043")).created
    assert full_view(books.main).ids["approve:R-2026-0042:1"] == 1


def test_failed_fsync_stops_every_process_until_one_resumes(faulty, books):
    """Another process's fsync may well succeed, yet prove nothing about the lost write:
    it stops too (through the marker file), and resumes when anyone lifts the stop."""
    faulty_books, fio = faulty
    fio.fail_fsync = errno.EIO
    with pytest.raises(WriteFailed):
        faulty_books.post(approval())
    fio.fail_fsync = None
    assert books.state.committed() == D("100.00")  # reading goes on
    with pytest.raises(WritesDisabled) as stopped:
        books.post(approval(code="R-2026-0043"))
    assert "fsync of 2026/2026-01.beancount failed" in stopped.value.message
    assert books.stopped() and faulty_books.stopped()
    books.resume()
    assert books.stopped() is None and faulty_books.stopped() is None
    assert faulty_books.post(approval(code="R-2026-0044")).created  # reloaded first
    assert books.post(approval(code="R-2026-0043")).created
    assert full_view(books.main).ids["approve:R-2026-0042:1"] == 1


def test_resume_keeps_writes_stopped_while_fsync_still_fails(faulty):
    books, fio = faulty
    fio.fail_fsync = errno.EIO
    with pytest.raises(WriteFailed):
        books.post(approval())
    with pytest.raises(WriteFailed) as info:
        books.resume()
    assert "writes stay stopped" in info.value.message
    fio.fail_fsync = None
    with pytest.raises(WritesDisabled):
        books.post(approval(code="R-2026-0043"))
    books.resume()
    assert books.post(approval(code="R-2026-0043")).created
