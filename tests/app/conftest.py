"""Fixtures for the app: a fund (instance folder, migrated database, books, people) on
SQLite and, when CAREBOOKS_TEST_DATABASE_URL is set, on PostgreSQL too.

Every fund is checked at teardown: `carebooks check` must find the database and the
books in agreement after whatever the test did.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import create_engine, text

from app import create_app
from tests.books_check import books_problems
from app.migrate import upgrade
from app.models import Person
from app.workflow.people import add_person, create_token
from app.workflow.sessions import confirm_totp, new_totp_secret
from ledger import FundSettings, init_books
from ledger import entries as E

PG_ENV = "CAREBOOKS_TEST_DATABASE_URL"
PASSWORD = "correct horse battery staple"


def _pg_admin_url() -> str | None:
    return os.environ.get(PG_ENV)


def _backends() -> list:
    return ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@pytest.fixture(scope="session")
def pg_server():
    """The PostgreSQL URL from the environment; the run fails if it is set and down."""
    url = _pg_admin_url()
    if not url:
        pytest.skip(f"{PG_ENV} is not set; PostgreSQL variants are skipped")
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"{PG_ENV}={url} is set but the server does not answer: {exc}")
    yield url, engine
    engine.dispose()


@pytest.fixture(params=_backends())
def database_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'carebooks.db'}"
        return
    url, engine = request.getfixturevalue("pg_server")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def months_back(today: dt.date, n: int) -> dt.date:
    """The first day of the month `n` months before `today`'s."""
    year, month = today.year, today.month - n
    while month <= 0:
        year, month = year - 1, month + 12
    return dt.date(year, month, 1)


@dataclass
class Fund:
    """A test fund: the app, its people, their API tokens, and helpers."""

    app: object
    people: dict[str, Person] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    totp: dict[str, str] = field(default_factory=dict)        # authenticator secrets
    recovery: dict[str, list[str]] = field(default_factory=dict)
    start: dt.date = None

    def client(self):
        return self.app.test_client()

    def headers(self, who: str, **extra) -> dict:
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}

    def api(self, who: str | None, method: str, path: str, json=None, **headers):
        """Call the API as `who` (None: anonymous); return (status, json)."""
        hdrs = self.headers(who, **headers) if who else dict(headers)
        resp = getattr(self.client(), method.lower())(f"/api/v1{path}", json=json, headers=hdrs)
        return resp.status_code, resp.get_json()

    def ctx(self):
        return self.app.app_context()

    def code(self, who: str) -> str:
        """A valid authenticator code for `who`, as if 30 seconds had passed since the last
        one (each code works once)."""
        from app.db import session_scope
        with self.ctx(), session_scope() as session:
            session.get(Person, self.people[who].id).totp_last_step = None
        return pyotp.TOTP(self.totp[who]).now()


def make_fund(tmp_path: Path, database_url: str, *, opening: str = "5000.00",
              months_of_history: int = 2, **config) -> Fund:
    instance = tmp_path / "instance"
    app = create_app(instance=instance, test_config={"DATABASE_URL": database_url,
                                                     "TESTING": True,
                                                     "RATELIMIT_ENABLED": False, **config})
    upgrade(database_url)
    today = dt.date.today()
    start = months_back(today, months_of_history)
    books = init_books(Path(app.config["BOOKS_DIR"]), FundSettings("Test Fund"), start)
    if opening:
        books.post(E.opening_balance("Assets:Fund:Bank", start, Decimal(opening), "USD"))
    fund = Fund(app=app, start=start)
    with app.app_context():
        for name, roles in [("member", ["member"]), ("member2", ["member"]),
                            ("treasurer", ["treasurer"]), ("treasurer2", ["treasurer"]),
                            ("admin", ["admin"])]:
            fund.people[name] = add_person(f"{name}@example.org", roles, handle=name,
                                           password=PASSWORD)
            if fund.people[name].needs_second_factor:  # enrolled, as after a first sign-in
                secret = new_totp_secret()
                fund.totp[name] = secret
                fund.recovery[name] = confirm_totp(fund.people[name].id, secret,
                                                   pyotp.TOTP(secret).now(),
                                                   password=PASSWORD)
            fund.tokens[name] = create_token(f"{name}@example.org")  # every scope it may hold
    return fund


@pytest.fixture
def fund(tmp_path, database_url):
    """A fund with 5,000.00 USD in the bank, two members, two treasurers and an admin."""
    f = make_fund(tmp_path, database_url)
    yield f
    close_fund(f, tmp_path)


def close_fund(fund: Fund, tmp_path: Path) -> None:
    """What the `fund` fixture checks at teardown: database and books agree, books valid."""
    from app.workflow.check import run_check

    with fund.ctx():
        report = run_check()
    fund.app.extensions["carebooks.engine"].dispose()
    assert report.ok, str(report)
    problems = books_problems(tmp_path)
    assert not problems, "books left invalid:\n" + "\n".join(problems)


def ask(fund: Fund, who: str = "member", amount: str = "200.00", category: str = "rent",
        **extra) -> str:
    """Submit a request through the API; return its code."""
    body = {"amount": amount, "category": category,
            "needed_by": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
            "payout_method": "bank", "story": "Rent is due and my shift was cut."}
    body.update(extra)
    status, data = fund.api(who, "POST", "/requests", json=body)
    assert status == 201, data
    return data["code"]
