"""`carebooks backup FILE` while the app runs, then `carebooks restore FILE` into an empty
instance: the restored fund passes `check` with the same balances, books and stories."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from app.workflow import requests
from app.workflow.backup import backup, restore
from app.workflow.check import run_check
from app.workflow.errors import Conflict
from tests.app.conftest import ask


def _books_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.beancount"))}


@pytest.fixture
def empty_target(request, tmp_path, database_url):
    """An empty database of the same kind as the fund's (a new PostgreSQL database, whose
    search_path names the schema the dump recreates); None for SQLite."""
    if database_url.startswith("sqlite"):
        yield None
        return
    url, engine = request.getfixturevalue("pg_server")
    schema = database_url.rsplit("%3D", 1)[1]
    name = f"r_{uuid.uuid4().hex[:12]}"
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = url.rsplit("/", 1)[0]
    yield f"{base}/{name}?options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


def test_a_backup_restores_the_same_fund(fund, tmp_path, empty_target):
    code = ask(fund, amount="300.00")
    with fund.ctx():
        requests.approve(fund.people["treasurer"], code, {})
        requests.pay(fund.people["treasurer"], code, {"amount": "100.00",
                                                      "account": "Assets:Fund:Bank"})
        from app.fund import books
        before = books().state
        balances = {a: before.balance(a) for a in before.opens}
        original_books = _books_bytes(books().dir)
        file = tmp_path / "fund-backup.tar.gz"
        manifest = backup(file)
    assert file.stat().st_mode & 0o777 == 0o600
    assert any(name.startswith("books/") for name in manifest["files"])
    target_url = empty_target or f"sqlite:///{tmp_path / 'restored' / 'carebooks.db'}"
    app = create_app(instance=tmp_path / "restored",
                     test_config={"DATABASE_URL": target_url, "TESTING": True,
                                  "RATELIMIT_ENABLED": False})
    with app.app_context():
        restore(file)
        from app.fund import books
        state = books().state
        assert {a: state.balance(a) for a in state.opens} == balances
        assert _books_bytes(books().dir) == original_books
        report = run_check()
        assert report.ok, str(report)
        story = requests.get(fund.people["treasurer"], code)["story"]
        assert story == "Rent is due and my shift was cut."  # the key came along
        with pytest.raises(Conflict):
            restore(file)  # never over an existing fund
    app.extensions["carebooks.engine"].dispose()


def test_a_damaged_backup_is_refused(fund, tmp_path):
    import tarfile

    with fund.ctx():
        file = tmp_path / "b.tar.gz"
        backup(file)
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(file) as src, tarfile.open(bad, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name.startswith("books/") and member.name.endswith(".beancount"):
                data = data.replace(b"5000.00", b"9000.00")
            import io
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    app = create_app(instance=tmp_path / "r2", test_config={
        "DATABASE_URL": f"sqlite:///{tmp_path / 'r2' / 'carebooks.db'}", "TESTING": True})
    from app.workflow.errors import InvalidInput
    with app.app_context(), pytest.raises(InvalidInput, match="checksum"):
        restore(bad)
    assert not (tmp_path / "r2" / "books" / "main.beancount").exists()
    create_engine("sqlite://").dispose()


def test_a_fund_in_a_schema_of_its_own_backs_up_that_schema_only():
    """Two funds sharing a PostgreSQL database each back up their own schema, not the
    other's rows (and not a schema another process is dropping meanwhile)."""
    from app.workflow.backup import _own_schema

    url = "postgresql://carebooks@/funds?host=/run/postgresql&options=-csearch_path%3Dfund_a"
    assert _own_schema(url) == ["--schema", "fund_a"]
    assert _own_schema("postgresql://carebooks@/carebooks") == []
