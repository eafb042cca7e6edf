"""Issue 19: the pieces of the interface around the forms: the chart, the QR code, the
favicon, the words (plurals, Spanish months, accounts), the queue's filters, the
dashboard's first section, and `carebooks --help`."""

from __future__ import annotations

import re

from click.testing import CliRunner

from tests.app.conftest import ask
from tests.app.test_web import Browser, text


def test_carebooks_help_shows_only_carebooks_options_and_commands():
    from app.cli import main

    out = CliRunner().invoke(main, ["--help"]).output
    assert "Carebooks" in out and "policy" in out and "init" in out
    for foreign in ("--app", "--env-file", "--debug", "limiter", "Flask"):
        assert foreign not in out, foreign


def test_the_public_chart_has_axes_month_names_and_values(fund):
    html = text(fund.app.test_client().get("/", headers={"Accept-Language": "en"}))
    svg = re.search(r'<svg class="chart".*?</svg>', html, re.S).group(0)
    assert 'class="axis-line"' in svg and svg.count('class="grid"') == 5
    assert ">Jan<" in svg or ">Dec<" in svg  # month names, not 01..12
    assert not re.search(r">(0[1-9]|1[0-2])<", svg)
    assert "How to check these numbers" in html and "<table" in html  # the table fallback
    es = text(fund.app.test_client().get("/", headers={"Accept-Language": "es"}))
    assert re.search(r">(ene|dic|nov)<", es)


def test_every_page_links_the_favicon(fund):
    client = fund.app.test_client()
    html = text(client.get("/"))
    href = re.search(r'<link rel="icon" href="([^"]+)"', html).group(1)
    assert client.get(href).status_code == 200


def test_spanish_months_are_lower_case_in_a_sentence(fund):
    from app.web.filters import month_name, month_title

    with fund.app.test_request_context(headers={"Accept-Language": "es"}):
        assert month_name("2026-12") == "diciembre de 2026"
        assert month_title("2026-12") == "Diciembre de 2026"
    with fund.app.test_request_context(headers={"Accept-Language": "en"}):
        assert month_name("2026-12") == "December 2026"


def test_the_dashboard_starts_with_what_waits_and_counts_in_words(fund):
    ask(fund, amount="40.00")
    t = Browser(fund).sign_in("treasurer")
    page = text(t.get("/treasurer/"))
    main = page[page.index("<main"):]
    assert main.index("To do today") < main.index("Cash the fund holds")
    assert "1 request waits for your decision" in main and "(s)" not in main
    assert "Bank" in main and "Assets:Fund:Bank" not in main  # accounts in words


def test_the_queue_filters_by_status_category_age_and_code(fund):
    rent = ask(fund, amount="40.00", category="rent")
    food = ask(fund, amount="30.00", category="food")
    t = Browser(fund).sign_in("treasurer")
    page = text(t.get("/treasurer/queue?category=food"))
    assert food in page and rent not in page
    page = text(t.get(f"/treasurer/queue?code={rent[-4:]}"))
    assert rent in page and food not in page
    page = text(t.get("/treasurer/queue?status=approved"))
    assert rent not in page and "No open request matches these filters." in page
    page = text(t.get("/treasurer/queue?age=30"))  # asked today: none is 30 days old
    assert rent not in page and food not in page


def test_the_invitation_names_the_handle_truthfully(fund):
    from app.web.forms import AcceptInvitationForm

    with fund.app.test_request_context():
        label = str(AcceptInvitationForm.handle.args[0])
    assert label == "Name other members see" and "report" not in label


def test_a_ledger_refusal_reaches_a_spanish_page_in_spanish(fund):
    from app.web.words import refusal
    from app.workflow.errors import BooksRefused

    exc = BooksRefused("month sealed: 2026-10 is sealed", code="month_sealed")
    with fund.app.test_request_context(headers={"Accept-Language": "es"}):
        assert "mes sellado" in refusal(exc)
    with fund.app.test_request_context(headers={"Accept-Language": "en"}):
        assert refusal(exc) == "month sealed: 2026-10 is sealed"
