"""Nothing lost, nothing twice (docs/design.md §5): a crash between the database commit and
the append, or between the append and marking the outbox row done, is settled by
`carebooks check` with each entry in the books exactly once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from app.db import session_scope
from app.models import AidRequest, Outbox
from app.workflow import requests
from app.workflow.check import run_check
from ledger import Books
from tests.app.conftest import ask


class Crash(Exception):
    """Stands for the process dying at that point."""


def _rows(status=None):
    with session_scope() as session:
        query = select(Outbox)
        if status:
            query = query.where(Outbox.status == status)
        return session.exec(query).all()


def test_crash_after_commit_before_append_is_settled_by_check(fund, monkeypatch):
    code = ask(fund, amount="300.00")
    with fund.ctx():
        from app.fund import books

        monkeypatch.setattr(Books, "post", lambda self, entry: (_ for _ in ()).throw(Crash()))
        with pytest.raises(Crash):
            requests.approve(fund.people["treasurer"], code, {})
        monkeypatch.undo()
        # the database moved, the books did not: the outbox row holds the difference
        with session_scope() as session:
            assert session.exec(select(AidRequest).where(
                AidRequest.code == code)).one().status == "approved"
        assert [r.carebooks_id for r in _rows("pending")] == [f"approve:{code}:1"]
        assert books().state.outstanding(code) == 0
        report = run_check()
        assert report.ok, str(report)
        assert "1 pending entry settled" in str(report)
        assert books().state.outstanding(code) == Decimal("300.00")
        assert _rows("pending") == []


def test_crash_after_append_before_marking_done_writes_nothing_twice(fund, monkeypatch):
    code = ask(fund, amount="120.00")
    with fund.ctx():
        from app.fund import books
        from app.workflow import outbox

        real_post = Books.post

        def post_then_die(self, entry):
            real_post(self, entry)
            raise Crash()

        monkeypatch.setattr(Books, "post", post_then_die)
        with pytest.raises(Crash):
            requests.approve(fund.people["treasurer"], code, {})
        monkeypatch.undo()
        assert len(_rows("pending")) == 1
        ids_before = len(books().state.ids)
        assert outbox.settle() == 0  # nothing appended: found in the books, only marked done
        assert _rows("pending") == []
        assert len(books().state.ids) == ids_before
        assert books().state.outstanding(code) == Decimal("120.00")
        text = (books().dir / books().state.ids[f"approve:{code}:1"][0]).read_text()
        assert text.count(f'carebooks-id: "approve:{code}:1"') == 1


def test_the_next_money_step_settles_a_pending_row_first(fund, monkeypatch):
    first = ask(fund, amount="100.00")
    second = ask(fund, who="member2", amount="100.00")
    with fund.ctx():
        from app.fund import books

        monkeypatch.setattr(Books, "post", lambda self, entry: (_ for _ in ()).throw(Crash()))
        with pytest.raises(Crash):
            requests.approve(fund.people["treasurer"], first, {})
        monkeypatch.undo()
        requests.approve(fund.people["treasurer"], second, {})
        state = books().state
        assert state.outstanding(first) == state.outstanding(second) == Decimal("100.00")
        # the crashed step's row is done; the second step's waits for the next step
        assert [r.carebooks_id for r in _rows("pending")] == [f"approve:{second}:1"]
        assert f"approve:{first}:1" in {r.carebooks_id for r in _rows("done")}


def test_check_reports_a_request_the_books_do_not_agree_with(fund):
    code = ask(fund, amount="80.00")
    with fund.ctx():
        requests.approve(fund.people["treasurer"], code, {})
        with session_scope() as session:
            row = session.exec(select(AidRequest).where(AidRequest.code == code)).one()
            row.paid_amount = Decimal("80.00")  # the database claims a payment the books lack
            row.status = "paid"
        report = run_check()
        assert not report.ok
        assert any(code in p and "paid 80.00" in p for p in report.problems), str(report)
        with session_scope() as session:  # put it back so the fixture's check passes
            row = session.exec(select(AidRequest).where(AidRequest.code == code)).one()
            row.paid_amount, row.status = Decimal("0.00"), "approved"


@pytest.mark.parametrize("headers", [{}, {"Idempotency-Key": "pay-once"}],
                         ids=["no key", "with a key"])
def test_an_api_money_writes_row_is_marked_done_by_the_next_money_step(fund, headers):
    """A step leaves its own outbox row pending (marking it was a transaction of its
    own); the next money step marks it done under the money lock, in the statement that
    looks for rows a crash left. A refusal enqueues nothing."""
    code = ask(fund, amount="90.00")
    assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    with fund.ctx():
        assert [r.carebooks_id for r in _rows("pending")] == [f"approve:{code}:1"]
    status, _ = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                         json={"amount": "90.00", "account": "Assets:Fund:Bank"}, **headers)
    assert status == 201
    status, _ = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                         json={"amount": "1.00", "account": "Assets:Fund:Bank"},
                         **{k: v + "-again" for k, v in headers.items()})
    assert status == 409  # paid in full: refused, nothing enqueued
    with fund.ctx():
        from app.workflow import outbox

        assert [r.carebooks_id for r in _rows("pending")] == [f"pay:{code}:1"]
        assert f"approve:{code}:1" in {r.carebooks_id for r in _rows("done")}
        assert outbox.settle() == 0  # in the books already: only marked
        assert _rows("pending") == []
