"""Pooled database connections (app/db.py): one the server dropped while it sat in the
pool is replaced before a request gets it, not failed."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app import db


def test_a_connection_the_database_dropped_is_replaced_not_failed(fund, pg_server,
                                                                   monkeypatch):
    if not fund.app.config["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("SQLite has no server to drop a connection")
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
