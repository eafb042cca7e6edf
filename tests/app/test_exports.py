"""Exports: CSV files of requests, donations and payments for a date range (treasurers,
admins and auditors; never a name or a story), and a named donor's year-end statement PDF
in English and Spanish (treasurers and admins)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess

from tests.app.conftest import PASSWORD, ask
from tests.app.test_web import Browser, text

TODAY = dt.date.today()
RANGE = f"from={TODAY.year}-01-01&to={TODAY.isoformat()}"


def rows(resp) -> list[dict]:
    assert resp.status_code == 200, text(resp)[:1500]
    assert resp.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))


def donate(fund, amount="25.00", name=None, consent=False, date=None):
    status, data = fund.api("treasurer", "POST", "/donations", json={
        "amount": amount, "account": "Assets:Fund:Bank", "category": "individual",
        "date": (date or TODAY).isoformat(), "donor_name": name,
        "donor_consents_public": consent})
    assert status == 201, data
    return data["code"]


def test_requests_csv_has_codes_and_amounts_and_no_person(fund):
    code = ask(fund, amount="140.00", category="food")
    fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    fund.api("treasurer", "POST", f"/requests/{code}/payments", json={
        "amount": "40.00", "account": "Assets:Fund:Bank", "reference": "SECRET-REF-9"})
    body = Browser(fund).sign_in("treasurer").get(f"/exports/requests.csv?{RANGE}")
    got = rows(body)
    assert got == [{"code": code, "created_on": TODAY.isoformat(),
                    "needed_by": (TODAY + dt.timedelta(days=7)).isoformat(),
                    "category": "food", "amount": "140.00", "approved_amount": "140.00",
                    "paid_amount": "40.00", "status": "partially_paid",
                    "payout_method": "bank", "currency": "USD"}]
    raw = body.get_data(as_text=True)
    assert "shift was cut" not in raw and "member" not in raw  # no story, no handle
    pay = rows(Browser(fund).sign_in("treasurer").get(f"/exports/payments.csv?{RANGE}"))
    assert [(p["request"], p["amount"], p["account"]) for p in pay] == \
        [(code, "40.00", "Assets:Fund:Bank")]
    assert "SECRET-REF-9" not in str(pay)


def test_the_date_range_chooses_the_rows(fund):
    old = donate(fund, "10.00", date=fund.start)
    new = donate(fund, "20.00")
    t = Browser(fund).sign_in("treasurer")
    assert [r["code"] for r in rows(t.get(f"/exports/donations.csv?{RANGE}"))] == \
        ([old, new] if fund.start.year == TODAY.year else [new])
    only_start = f"from={fund.start.isoformat()}&to={fund.start.isoformat()}"
    assert [r["code"] for r in rows(t.get(f"/exports/donations.csv?{only_start}"))] == [old]


def test_donations_csv_never_holds_a_donor_name(fund):
    donate(fund, "30.00", name="Rosa Martinez", consent=True)
    got = rows(Browser(fund).sign_in("treasurer").get(f"/exports/donations.csv?{RANGE}"))
    assert got[0]["named"] == "yes" and "Rosa" not in str(got)


def test_a_range_backwards_is_refused_naming_the_field(fund):
    resp = Browser(fund).sign_in("treasurer").get("/exports/requests.csv?from=2026-05-01"
                                                  "&to=2026-04-01")
    assert resp.status_code == 422
    assert "to: 2026-04-01 is before from (2026-05-01)" in text(resp)
    assert 'href="#to"' in text(resp)


def test_an_auditor_exports_but_makes_no_donor_statement(fund):
    with fund.ctx():
        from app.workflow.people import add_person
        fund.people["auditor"] = add_person("auditor@example.org", ["auditor"],
                                            handle="auditor", password=PASSWORD)
    donate(fund, "30.00", name="Rosa Martinez", consent=True)
    a = Browser(fund).sign_in("auditor")
    assert len(rows(a.get(f"/exports/donations.csv?{RANGE}"))) == 1
    assert "year-end statement" not in text(a.get("/exports/"))
    resp = a.get(f"/exports/donor-statement.pdf?donor_name=Rosa+Martinez&year={TODAY.year}")
    assert resp.status_code == 403
    member = Browser(fund).sign_in("member")
    assert member.get(f"/exports/requests.csv?{RANGE}").status_code == 403


def test_a_formula_is_never_a_cell_a_spreadsheet_runs():
    from app.workflow.exports import _cell
    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _cell("-10.00") == "-10.00" and _cell("rent") == "rent"


def pdf_text(data: bytes, tmp_path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / name.removesuffix(".pdf"))], check=True)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def test_a_named_donor_gets_a_year_end_statement_in_both_languages(fund, tmp_path):
    a = donate(fund, "50.00", name="Rosa Martínez", consent=True)
    b = donate(fund, "25.50", name="rosa martínez", consent=True)  # typed differently
    donate(fund, "99.00", name="Rosa Martínez", consent=False)       # no consent: no name
    donate(fund, "12.00", name="Someone Else", consent=True)
    t = Browser(fund).sign_in("treasurer")
    q = f"donor_name=Rosa+Mart%C3%ADnez&year={TODAY.year}"
    en = t.get(f"/exports/donor-statement.pdf?{q}&lang=en")
    assert en.status_code == 200 and en.mimetype == "application/pdf"
    words = pdf_text(en.data, tmp_path, "en.pdf")
    assert "Statement of donations" in words and "Rosa Martínez" in words
    assert a in words and b in words and "$75.50" in words
    assert "99.00" not in words and "12.00" not in words
    es = t.get(f"/exports/donor-statement.pdf?{q}&lang=es")
    words = pdf_text(es.data, tmp_path, "es.pdf")
    assert "Resumen de donaciones" in words and "75,50" in words
    assert (tmp_path / "en-1.png").exists() and (tmp_path / "es-1.png").exists()


def test_a_donor_statement_for_an_unknown_name_says_so(fund):
    donate(fund, "12.00", name="Someone Else", consent=True)
    resp = Browser(fund).sign_in("treasurer").get(
        f"/exports/donor-statement.pdf?donor_name=Nobody+Here&year={TODAY.year}")
    assert resp.status_code == 404
    assert "no donation in" in text(resp) and "Nobody Here" in text(resp)
    resp = Browser(fund).sign_in("treasurer").get(
        "/exports/donor-statement.pdf?donor_name=&year=1999")
    assert resp.status_code == 422 and "donor_name: required" in text(resp)
