"""Month end in one pass: the dashboard names the month waiting and what is left; the
close page refuses a blank balance naming the account, asks for a confirmation, seals,
and goes on to the report's preview in both languages and a publish step that says what
is already published; the paper follows the fund's currency."""

from __future__ import annotations

import re

from tests.app.conftest import ask
from tests.app.import_helpers import DATA, new_fund
from tests.app.test_web import Browser, text


def first_month(fund) -> str:
    return f"{fund.start.year:04d}-{fund.start.month:02d}"


def test_the_dashboard_says_which_month_waits_and_what_is_left(fund):
    code = ask(fund, amount="90.00")
    assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    t = Browser(fund).sign_in("treasurer")
    page = text(t.get("/treasurer/"))
    month_words = re.search(r"<h2 id=\"month-end-title\">([^<]+) is waiting to be closed",
                            page)
    assert month_words, page[:3000]
    assert "Not reconciled with a statement file: Bank" in page
    assert "1 approved request(s) not paid yet" in page
    assert "Statement balance missing for Bank" in page
    # a balance typed on the close page (not sealed) is no longer missing
    t.post("/treasurer/close", data={"action": "preview", "bal-Assets:Fund:Bank": "5000.00"})
    page = text(t.get("/treasurer/"))
    assert "Statement balance missing for Bank" not in page
    assert 'value="5000.00"' in text(t.get("/treasurer/close"))  # kept for next time


def test_a_blank_balance_is_refused_naming_the_account(fund):
    t = Browser(fund).sign_in("treasurer")
    resp = t.post("/treasurer/close", data={"action": "seal", "bal-Assets:Fund:Bank": ""})
    page = text(resp)
    assert resp.status_code == 422
    assert ('<a href="#bal-1">Statement balance for Bank: required; type the '
            'balance the statement shows on') in page
    assert 'aria-invalid="true"' in page
    with fund.ctx():
        from app.fund import books
        assert books().state.sealed_through is None  # nothing sealed


def test_the_spanish_close_page_says_it_too(fund):
    t = Browser(fund, "es").sign_in("treasurer")
    resp = t.post("/treasurer/close", data={"action": "seal", "bal-Assets:Fund:Bank": ""})
    assert resp.status_code == 422
    assert "Saldo del extracto de Banco: obligatorio" in text(resp)


def test_sealing_goes_on_to_the_preview_and_publishing(fund):
    month = first_month(fund)
    t = Browser(fund).sign_in("treasurer")
    resp = t.post("/treasurer/close", data={"action": "seal",
                                            "bal-Assets:Fund:Bank": "5000.00"})
    assert resp.status_code == 200 and "Yes, seal" in text(resp)
    with fund.ctx():
        from app.fund import books
        assert books().state.sealed_through is None  # not until confirmed
    resp = t.post("/treasurer/close", data={"action": "confirm",
                                            "bal-Assets:Fund:Bank": "5000.00"})
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/treasurer/reports?month={month}")
    page = text(t.get(resp.headers["Location"]))
    assert "is not published yet" in page
    for lang in ("en", "es"):
        assert f"/treasurer/reports/{month}/preview-{lang}.pdf?paper=letter" in page
        pdf = t.get(f"/treasurer/reports/{month}/preview-{lang}.pdf?paper=letter")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert re.search(r'<option selected value="letter">', page)  # a USD fund: Letter
    resp = t.post(f"/treasurer/reports?month={month}", "/treasurer/reports",
                  data={"month": month, "paper": "a4"})
    assert resp.status_code == 303
    page = text(t.get(resp.headers["Location"]))
    assert "Version 1, English, A4, published" in page and "Version 1, Español, A4" in page
    assert "Publishing again makes a new version" in page


def test_a_preview_of_a_month_not_sealed_is_refused(fund):
    t = Browser(fund).sign_in("treasurer")
    resp = t.get(f"/treasurer/reports/{first_month(fund)}/preview-en.pdf")
    assert resp.status_code == 422 and b"not sealed yet" in resp.data


def test_paper_follows_the_currency():
    from app.workflow.reports import default_paper
    assert default_paper("USD") == "letter"
    assert default_paper("EUR") == "a4" and default_paper("MXN") == "a4"


def test_reconciling_a_statement_counts_for_the_close_page(tmp_path):
    fund = new_fund(tmp_path, f"sqlite:///{tmp_path / 'rec.db'}")
    t = Browser(fund).sign_in("treasurer")
    page = text(t.get("/treasurer/reconcile?month=2026-10&account=Assets:Fund:PayPal"))
    assert re.search(r'<option selected value="Assets:Fund:PayPal">', page)
    assert re.search(r'<option selected value="paypal">', page)
    with open(DATA / "paypal.csv", "rb") as fh:
        resp = t.post("/treasurer/reconcile", data={
            "file": (fh, "paypal.csv"), "format": "paypal", "mapping": "", "month": "2026-10",
            "account": "Assets:Fund:PayPal"}, content_type="multipart/form-data")
    assert resp.status_code == 200, text(resp)[:2000]
    with fund.ctx():
        from app.workflow import monthend
        kept = monthend.waiting()
    assert kept["month"] == "2026-10"  # the books open with the samples' month
    row = next(a for a in kept["accounts"] if a["account"] == "Assets:Fund:PayPal")
    assert row["reconciled"] is False and row["lines_left"] > 0
    page = text(t.get("/treasurer/close"))
    assert "line(s) left over" in page
