"""Adding a name touches only the files docs/architecture.md lists ("How to add ..."):
a fake payout method, import format and language, put only there, reach the form, the
API schema, the CLI and the books."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.cli import main
from app.imports import FORMATS, PayPalImporter
from app.web import forms
from ledger import PAYOUT_METHODS, Month
from tests.app.conftest import make_fund
from tests.app.import_helpers import DATA, books_bytes, ifund  # noqa: F401 - fixture
from tests.app.test_web import Browser, text


@pytest.fixture
def sqlite_fund(tmp_path):
    return make_fund(tmp_path, f"sqlite:///{tmp_path / 'reg.db'}")


@pytest.fixture
def zelle(monkeypatch):
    """A payout method `zelle`: its name and book words in the ledger, its label in the app."""
    monkeypatch.setitem(PAYOUT_METHODS, "zelle", "Zelle")
    monkeypatch.setitem(forms.PAYOUT_LABELS, "zelle", "Zelle (fake)")


def _enums(node, key: str) -> list[list]:
    """Every `enum` of a property named `key` in the OpenAPI document."""
    found = []
    if isinstance(node, dict):
        if key in node and isinstance(node[key], dict) and "enum" in node[key]:
            found.append(node[key]["enum"])
        for value in node.values():
            found += _enums(value, key)
    elif isinstance(node, list):
        for value in node:
            found += _enums(value, key)
    return found


def test_a_payout_method_added_to_the_registry_reaches_form_schema_and_books(sqlite_fund,
                                                                            zelle):
    fund = sqlite_fund
    page = text(Browser(fund).sign_in("member").get("/my/requests/new"))
    assert '<option value="zelle">Zelle (fake)</option>' in page
    schema = fund.client().get("/api/v1/openapi.json").get_json()
    enums = _enums(schema, "payout_method")
    assert enums and all("zelle" in e for e in enums)
    status, made = fund.api("member", "POST", "/requests", json={
        "amount": "120.00", "category": "rent", "payout_method": "zelle",
        "needed_by": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
        "story": "The rent is due on Friday."})
    assert status == 201, made
    code = made["code"]
    assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    status, paid = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                            json={"amount": "120.00", "account": "Assets:Fund:Bank"})
    assert status == 201, paid
    month_file = Month.of(dt.date.today()).path(Path(fund.app.config["BOOKS_DIR"]))
    paid_line = [ln for ln in month_file.read_text().splitlines() if '"Aid paid"' in ln]
    assert paid_line and f'"Rent, Zelle" ^{code}' in paid_line[-1]


def test_a_payout_method_not_in_the_registry_is_refused(sqlite_fund):
    status, data = sqlite_fund.api("member", "POST", "/requests", json={
        "amount": "120.00", "category": "rent", "payout_method": "zelle",
        "needed_by": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
        "story": "The rent is due on Friday."})
    assert status == 422 and data["error"]["field"] == "payout_method"


class ZzPayImporter(PayPalImporter):
    """A fake export format: PayPal's columns under another name, paid out by Zelle."""

    fmt = "zzpay"
    label = "ZzPay CSV"
    pays_by = "zelle"


def test_an_import_format_added_to_the_registry_reaches_form_cli_and_books(ifund, zelle,
                                                                          monkeypatch):
    monkeypatch.setitem(FORMATS, "zzpay", ZzPayImporter)
    monkeypatch.setitem(forms.SOURCE_LABELS, "zzpay", "ZzPay export (fake)")
    page = text(Browser(ifund).sign_in("treasurer").get("/treasurer/import"))
    assert '<option value="zzpay">ZzPay export (fake)</option>' in page
    runner = ifund.app.test_cli_runner()
    assert "zzpay" in runner.invoke(main, ["import", "--help"]).stdout
    assert "zzpay" in runner.invoke(main, ["reconcile", "--help"]).stdout
    before = books_bytes(ifund)
    done = runner.invoke(main, ["import", str(DATA / "paypal.csv"), "--format", "zzpay",
                                "--yes", "--as", "treasurer@example.org"])
    assert done.exit_code == 0, done.output
    assert "added" in done.stdout and books_bytes(ifund) != before


def test_the_cli_refuses_a_format_not_in_the_registry(ifund):
    result = ifund.app.test_cli_runner().invoke(
        main, ["import", str(DATA / "paypal.csv"), "--format", "zzpay",
               "--as", "treasurer@example.org"])
    assert result.exit_code == 2 and "zzpay" in result.output


def test_a_language_added_to_the_registry_reaches_switch_form_cli_and_reports(sqlite_fund,
                                                                             monkeypatch):
    """French, with no catalogs yet: offered everywhere, English words, French dates."""
    from reports.languages import LANGUAGES
    from reports.render import Formats

    monkeypatch.setitem(LANGUAGES, "fr", "Français")
    fund = sqlite_fund
    browser = Browser(fund).sign_in("member")
    page = text(browser.get("/account/notifications"))
    assert '<option value="fr">Français</option>' in page
    browser.post("/account/notifications", "/language", data={"lang": "fr", "next": "/"})
    assert '<html lang="fr">' in text(browser.get("/my/requests"))
    runner = fund.app.test_cli_runner()
    assert "[en|es|fr]" in runner.invoke(main, ["report", "--help"]).stdout
    assert Formats("fr", "USD").month("2026-11") == "novembre 2026"
    from app.workflow import notify
    with fund.ctx():
        notify.set_choice(fund.people["member"].id, "email", "fr")


def test_a_language_not_in_the_registry_is_refused(sqlite_fund):
    from app.workflow import notify
    from app.workflow.errors import InvalidInput

    with sqlite_fund.ctx(), pytest.raises(InvalidInput, match="lang: choose en or es"):
        notify.set_choice(sqlite_fund.people["member"].id, "email", "fr")
