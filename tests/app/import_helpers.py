"""Shared by the import tests: a fund whose books open before the samples' month (October
2026), the samples' expected figures, and beanquery over the books."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import beanquery
import pytest

from tests.app.conftest import close_fund, make_fund

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE_MONTH = dt.date(2026, 10, 1)

# What each sample holds: donations to add, their gross and fees, the cash account, the
# one donor who consented to be named, and names that must never be kept.
EXPECTED = {
    "paypal": dict(count=5, gross="1390.00", fees="42.01", account="Assets:Fund:PayPal",
                   named="Marisol Ejemplo", outgoing=1, skipped=1,
                   transfers=1, refunds=1,
                   hidden=["Rowan Example", "Tobias Placeholder", "Quinn Sampleperson",
                           "Casey Madeup", "Jordan Notreal", "Recipient One"]),
    "venmo": dict(count=4, gross="127.50", fees="2.83", account="Assets:Fund:Venmo",
                  named="Dana Madeup", outgoing=1, skipped=1,
                  transfers=1,
                  hidden=["Pat Sample", "Lee Fictional", "Robin Notreal", "Avery Example",
                          "Recipient Two"]),
    "stripe": dict(count=6, gross="505.00", fees="16.45", account="Assets:Fund:Bank",
                   named="Ada Invented", outgoing=0, skipped=2,
                   hidden=["Bo Fictitious", "Cam Placeholder", "Dee Sample", "Eli Madeup",
                           "Fay Notreal", "Gus Example"]),
    "bank": dict(count=5, gross="1555.50", fees="0.00", account="Assets:Fund:Bank",
                 named="Noor Example", outgoing=2, skipped=0,
                 hidden=["Sam Fictitious", "Recipient Three", "Uma Placeholder"]),
}
FORMATS = list(EXPECTED)


def months_since_samples(today: dt.date | None = None) -> int:
    """How many months of history a fund needs to hold the samples' month."""
    today = today or dt.date.today()
    return (today.year - SAMPLE_MONTH.year) * 12 + today.month - SAMPLE_MONTH.month


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def mapping_spec() -> dict:
    return json.loads((DATA / "bank-mapping.json").read_text())


def options(fmt: str) -> dict:
    return {"mapping": "eastside-bank"} if fmt == "bank" else {}


def new_fund(tmp_path, database_url):
    """A fund whose books open before October 2026, with the sample bank mapping saved."""
    fund = make_fund(tmp_path, database_url, months_of_history=max(2, months_since_samples()))
    with fund.ctx():
        from app.workflow import imports
        imports.save_mapping(fund.people["treasurer"], "eastside-bank", mapping_spec())
    return fund


@pytest.fixture
def ifund(tmp_path, database_url):
    """A fund for importing the samples, on SQLite and PostgreSQL."""
    fund = new_fund(tmp_path, database_url)
    yield fund
    close_fund(fund, tmp_path)


def main_file(fund) -> Path:
    return Path(fund.app.config["BOOKS_DIR"]) / "main.beancount"


def query(fund, bql: str) -> list[tuple]:
    """Run `bql` with beanquery over the books as a community member would."""
    conn = beanquery.connect("beancount:" + str(main_file(fund)))
    assert not conn.errors, conn.errors
    return conn.execute(bql).fetchall()


def books_bytes(fund) -> dict[str, str]:
    """Every file of the books and its SHA-256."""
    root = Path(fund.app.config["BOOKS_DIR"])
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.beancount"))}


def table_counts(fund) -> dict[str, int]:
    from sqlalchemy import text

    from app.db import engine
    with fund.ctx(), engine().connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("donation", "payment", "imported_line", "outbox", "audit_event",
                          "counter")}


def dec(value) -> Decimal:
    return Decimal(str(value))


def approve_before_samples(fund, code: str, who: str = "treasurer2") -> None:
    """Approve `code` as of the first day of the samples' month: a payment row of the
    samples can settle it only if it was approved before (never dated before its approval)."""
    from app.workflow import requests

    with fund.ctx():
        result = requests.approve(fund.people[who], code, {}, today=SAMPLE_MONTH)
    assert result["status"] == "approved", result
