"""Fixtures for the fault tests: the app's `fund` on SQLite and PostgreSQL."""

from tests.app.conftest import database_url, fund, pg_server  # noqa: F401 (fixtures)
