"""A full disk (ENOSPC on write) or a failing device (EIO on fsync), injected through the
books' `FileIO` seam, while the app works: a clear error, nothing half-done, and after an
fsync failure no write at all — in any process — until `carebooks check` passes."""

from __future__ import annotations

import datetime as dt
import errno
import os
from decimal import Decimal

import pytest
from sqlmodel import select

from app.db import session_scope
from app.models import AidRequest, Donation, Outbox
from app.workflow.check import run_check
from ledger import Books
from ledger.files import FileIO
from tests.app.conftest import ask

DONATION = {"amount": "80.00", "account": "Assets:Fund:Bank", "category": "individual",
            "donor_consents_public": False, "date": dt.date.today().isoformat()}


class Faulty(FileIO):
    """Fails every write or fsync with `errno` while set."""

    def __init__(self):
        self.write_errno: int | None = None
        self.fsync_errno: int | None = None

    def write(self, fd, data):
        if self.write_errno:
            raise OSError(self.write_errno, os.strerror(self.write_errno))
        super().write(fd, data)

    def fsync(self, fd):
        if self.fsync_errno:
            raise OSError(self.fsync_errno, os.strerror(self.fsync_errno))
        super().fsync(fd)


@pytest.fixture
def faulty(fund, monkeypatch):
    """The fund, its books — and any opened later, as `check` does — writing through one
    Faulty seam."""
    fio = Faulty()
    monkeypatch.setattr("ledger.books.FileIO", lambda: fio)
    with fund.ctx():
        from app.fund import books

        books()._io = fio
    return fund, fio


def _state(fund):
    """What a user could see changed: rows, outbox, and every byte of the books."""
    with fund.ctx(), session_scope() as session:
        from app.fund import books

        root = books().dir
        files = {p.name: p.read_bytes() for p in root.rglob("*.beancount")}
        return (session.exec(select(AidRequest.code, AidRequest.status)).all(),
                len(session.exec(select(Donation)).all()),
                len(session.exec(select(Outbox)).all()), files)


def test_full_disk_before_a_step_refuses_it_and_changes_nothing(faulty):
    fund, fio = faulty
    code = ask(fund, amount="120.00")
    status, body = fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    assert status in (200, 201), body
    fio.write_errno = errno.ENOSPC
    before = _state(fund)
    status, body = fund.api("treasurer", "POST", "/donations", json=DONATION)
    # the step is checked against the books first: the append fails after the commit,
    # and says that the change is saved and waiting
    assert status == 503 and body["error"]["code"] == "saved_not_in_books", body
    assert "No space left on device" in body["error"]["message"]
    assert "do not do this again" in body["error"]["message"]
    # the next step cannot start: refused before anything is saved
    after_first = _state(fund)
    status, body = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                            json={"amount": "120.00", "account": "Assets:Fund:Bank"})
    assert status == 503 and body["error"]["code"] == "write_failed", body
    assert "nothing was changed" in body["error"]["message"]
    assert _state(fund) == after_first
    assert after_first[3] == before[3]  # not a byte of the books changed
    with fund.ctx():
        assert not run_check().ok  # the donation is still only in the outbox
    fio.write_errno = None  # room again
    with fund.ctx():
        report = run_check()
    assert report.ok and "1 pending entry settled" in str(report), str(report)
    status, body = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                            json={"amount": "120.00", "account": "Assets:Fund:Bank"})
    assert status in (200, 201), body


def test_failed_fsync_stops_every_write_until_check_passes(faulty):
    fund, fio = faulty
    code = ask(fund, amount="90.00")
    fio.fsync_errno = errno.EIO
    status, body = fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    assert status == 503 and body["error"]["code"] == "saved_not_in_books", body
    assert "fsync failed" in body["error"]["message"]
    fio.fsync_errno = None  # the device answers again; nobody has checked anything
    frozen = _state(fund)
    for path, payload in [("/donations", DONATION),
                          (f"/requests/{code}/payments",
                           {"amount": "90.00", "account": "Assets:Fund:Bank"})]:
        status, body = fund.api("treasurer", "POST", path, json=payload)
        assert status == 503 and body["error"]["code"] == "writes_disabled", body
    assert _state(fund) == frozen
    # another process (a second gunicorn worker) is stopped too
    with fund.ctx():
        from app.fund import books

        other = Books.open(books().dir)
    assert other.stopped() and "fsync" in other.stopped()
    # a page says so too, instead of a crash
    client = fund.client()
    page = client.get("/")
    assert page.status_code == 200  # reading goes on
    with fund.ctx():
        report = run_check()
    assert report.ok, str(report)
    assert "writes were stopped" in str(report) and "writes: resumed" in str(report)
    assert other.stopped() is None
    status, body = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                            json={"amount": "90.00", "account": "Assets:Fund:Bank"})
    assert status in (200, 201), body
    with fund.ctx():
        from app.fund import books

        assert books().state.balance("Assets:Fund:Bank") == Decimal("4910.00")


def test_check_keeps_writes_stopped_while_the_device_still_fails(faulty):
    fund, fio = faulty
    code = ask(fund, amount="70.00")
    fio.fsync_errno = errno.EIO
    status, _ = fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    assert status == 503
    with fund.ctx():
        report = run_check()
    assert not report.ok and "fsync still fails" in str(report), str(report)
    status, body = fund.api("treasurer", "POST", "/donations", json=DONATION)
    assert status == 503 and body["error"]["code"] == "writes_disabled", body
    fio.fsync_errno = None
    with fund.ctx():
        assert run_check().ok


def test_the_donation_page_says_writes_are_stopped(faulty):
    fund, fio = faulty
    fio.fsync_errno = errno.EIO
    status, _ = fund.api("treasurer", "POST", "/donations", json=DONATION)
    assert status == 503
    fio.fsync_errno = None
    from tests.app.test_access_matrix import csrf_token, sign_in

    client = sign_in(fund, "treasurer")
    page = client.get("/treasurer/donations")
    assert page.status_code == 200
    before = _state(fund)
    sent = client.post("/treasurer/donations", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "amount": "25.00",
        "account": "Assets:Fund:Bank", "category": "individual", "date": page_date(page)})
    html = sent.get_data(as_text=True)
    assert sent.status_code in (422, 503) and "writes stopped" in html, html[:2000]
    assert _state(fund) == before
    with fund.ctx():
        assert run_check().ok


def page_date(page) -> str:
    import re

    return re.search(r'name="date"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
