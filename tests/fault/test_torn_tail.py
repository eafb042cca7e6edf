"""A month file cut at any byte of its last entry: found at load, named by file and line,
and put back from the outbox by `carebooks check --repair` — never a silent loss."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main as cli
from app.workflow import requests
from app.workflow.check import run_check
from ledger import Books, BooksInvalid
from ledger.state import month_file
from tests.app.conftest import ask

pytestmark = pytest.mark.corrupts_books


def _paid(fund) -> tuple[Path, bytes, str]:
    """Approve and pay a request; return the month file, its bytes and the payment's id."""
    code = ask(fund, amount="450.00")
    with fund.ctx():
        requests.approve(fund.people["treasurer"], code, {})
        requests.pay(fund.people["treasurer"], code,
                     {"amount": "450.00", "account": "Assets:Fund:Bank"})
        from app.fund import books
        from app.workflow.outbox import settle

        settle()  # the outbox rows are marked done: the cut below is no crash of the app
        path = books().dir / month_file(dt.date.today().strftime("%Y-%m"))
        ids = [i for i in books().state.ids if i.startswith(f"pay:{code}")]
    return path, path.read_bytes(), ids[0]


def test_every_cut_inside_the_last_entry_is_found_and_repaired(fund):
    path, whole, pay_id = _paid(fund)
    start = whole.rindex(b"\n\n") + 2          # the first byte of the payment entry
    first_line = whole.count(b"\n", 0, start) + 1
    assert whole[start:].decode().count(pay_id) == 1
    repaired = 0
    with fund.ctx():
        for cut in range(start, len(whole)):
            path.write_bytes(whole[:cut])
            if cut == start:
                # the entry is gone whole: the books load, and check names what is missing
                Books.open(path.parent.parent)
                report = run_check()
                assert f"outbox entry {pay_id} is marked done but is not in the books" \
                    in str(report), (cut, str(report))
            else:
                with pytest.raises(BooksInvalid) as info:
                    Books.open(path.parent.parent)
                errors = info.value.errors
                assert errors and all(e.filename == str(path) and e.lineno >= first_line
                                      for e in errors), (cut, [str(e) for e in errors])
                report = run_check()
                assert not report.ok and str(path) in str(report), (cut, str(report))
                assert "carebooks check --repair" in str(report)
            fixed = run_check(repair=True)
            assert fixed.ok, (cut, str(fixed))
            if cut > start:
                assert path.read_bytes() == whole, cut  # the same bytes, written again
                repaired += 1
            else:
                assert f"repair: {pay_id} written again from the outbox" in str(fixed)
                path.write_bytes(whole)
            from app.fund import books

            assert books().state.balance("Assets:Fund:Bank") == Decimal("4550.00")
    assert repaired == len(whole) - start - 1
    kept = list((path.parent.parent / ".carebooks" / "torn").iterdir())
    assert len(kept) == repaired  # every cut piece is kept, none thrown away


def test_check_repair_from_the_command_line(fund):
    path, whole, pay_id = _paid(fund)
    path.write_bytes(whole[:-30])
    runner = CliRunner()
    env = {"CAREBOOKS_INSTANCE": fund.app.instance_path,
           "DATABASE_URL": fund.app.config["DATABASE_URL"]}
    plain = runner.invoke(cli, ["check"], env=env)
    assert plain.exit_code == 1 and "ends in the middle of a line" in plain.output
    fixed = runner.invoke(cli, ["check", "--repair"], env=env)
    assert fixed.exit_code == 0, fixed.output
    assert "repair: cut a torn entry" in fixed.output and "check: OK" in fixed.output
    assert path.read_bytes() == whole


def test_a_cut_that_is_not_the_apps_own_write_is_left_for_a_person(fund):
    """A hand edit at the end of the file is not an outbox entry: nothing is cut."""
    path, whole, _ = _paid(fund)
    path.write_bytes(whole + b"\n2026-01-01 * \"typed by hand")
    with fund.ctx():
        report = run_check(repair=True)
    assert not report.ok
    assert path.read_bytes().endswith(b"typed by hand")
    path.write_bytes(whole)


def test_a_starting_server_settles_and_mends_a_crashed_write(fund):
    """Killed mid-append: the row is pending and the file torn; the next start mends it."""
    from sqlmodel import select

    from app.db import session_scope
    from app.models import Outbox
    from app.workflow.outbox import recover_on_start

    path, whole, pay_id = _paid(fund)
    path.write_bytes(whole[:-40])
    with fund.ctx(), session_scope() as session:
        row = session.exec(select(Outbox).where(Outbox.carebooks_id == pay_id)).one()
        row.status = "pending"  # as if the writer died before marking it done
    with fund.ctx():
        from app.fund import forget_books

        forget_books()
        assert recover_on_start() == "recovery: 1 pending entry settled"
        assert recover_on_start() == ""
    assert path.read_bytes() == whole
