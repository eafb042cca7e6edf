"""Pooled database connections (app/db.py): one the PostgreSQL server dropped while it
sat in the pool is replaced before a request gets it, not failed. (SQLite has no server
to drop one.)"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from app import db
from tests.app.conftest import close_fund, make_fund


@pytest.fixture
def pg_fund(tmp_path, pg_server):
    url, admin = pg_server
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    fund = make_fund(tmp_path, f"{url}{sep}options=-csearch_path%3D{schema}")
    yield fund
    close_fund(fund, tmp_path)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def test_a_connection_the_database_dropped_is_replaced_not_failed(pg_fund, pg_server,
                                                                   monkeypatch):
    fund = pg_fund
    engine = fund.app.extensions["carebooks.engine"]
    engine.dispose()
    engine.pool = engine.pool.recreate()  # one connection, so that it is the one reused
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert engine.pool.checkedin() == 1
    _, admin = pg_server
    with admin.connect() as conn:  # the server drops it (a restart, an idle timeout)
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # as if it had sat idle a second
    status, data = fund.api("treasurer", "GET", "/requests")
    assert status == 200, data
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
