"""The database engine and sessions: SQLite (embedded default) or PostgreSQL.

SQLite runs in WAL mode with `synchronous=FULL` and foreign keys on, and every
transaction starts with `BEGIN IMMEDIATE` so writers queue instead of failing halfway.
PostgreSQL rows that decide money are locked with `SELECT ... FOR UPDATE`.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session, create_engine


def make_engine(url: str) -> Engine:
    """An engine for `url` with the pragmas and isolation Carebooks relies on."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               hide_parameters=True)  # values may be stories: keep them out of logs

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - runs per connection
            dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below take effect
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # pragma: no cover - runs per transaction
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20, hide_parameters=True)
    _ping_when_idle(engine)
    return engine


# A pooled connection that sat unused this long is pinged before it is handed out: one
# that went stale (a database restart, an idle timeout) is replaced instead of failing
# the request that gets it. `pool_pre_ping` pinged before every transaction — a round
# trip each, three per API write, each waiting on a busy database under load
# (docs/performance.md). A connection used within the second is used as it is; if the
# database restarted in that second, the one request using it fails and SQLAlchemy then
# discards every connection older than the failure.
IDLE_PING_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn, record):  # pragma: no cover - runs per transaction
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn, record, _proxy):  # pragma: no cover - runs per transaction
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return  # new, or in use a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"a pooled connection went stale: {exc}") from exc
        if not alive:
            raise DisconnectionError("a pooled connection went stale")


def init_app(app: Flask) -> None:
    """Create the app's engine from `DATABASE_URL`."""
    app.extensions["carebooks.engine"] = make_engine(app.config["DATABASE_URL"])


def engine() -> Engine:
    """The current app's engine."""
    return current_app.extensions["carebooks.engine"]


@contextmanager
def session_scope(bind: Engine | None = None) -> Iterator[Session]:
    """A session committed on success and rolled back on any error."""
    with Session(bind or engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
