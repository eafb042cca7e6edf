"""`carebooks audit MONTH`: auditors check the fund's books against the seal, the Merkle
root, and the community's books against a fresh derivation; attestations are counted in
public (never named)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from app.cli import main
from app.workflow import attest, months, reports, requests
from app.workflow.community import folder, recipients
from app.workflow.errors import Forbidden
from reports.community import derive, write
from reports.privacy import Rules
from tests.app.conftest import PASSWORD, ask
from tests.app.test_access_matrix import sign_in
from tests.reports.conftest import pdf_text


@pytest.fixture
def sealed(fund):
    """Two auditors; a request approved and paid in the fund's first month, sealed."""
    from app.workflow.people import add_person

    code = ask(fund, amount="275.00", category="medical")
    first = fund.start
    month = f"{first.year:04d}-{first.month:02d}"
    with fund.ctx():
        for name in ("auditor", "auditor2"):
            fund.people[name] = add_person(f"{name}@example.org", ["auditor"], handle=name,
                                           password=PASSWORD)
        treasurer = fund.people["treasurer"]
        requests.approve(treasurer, code, {}, today=first.replace(day=8))
        requests.pay(treasurer, code, {"amount": "275.00", "account": "Assets:Fund:Bank",
                                       "date": first.replace(day=14).isoformat()},
                     today=first.replace(day=14))
        months.seal(treasurer, month, {"balances": {"Assets:Fund:Bank": "4725.00"}})
    return month


def _audit(fund, month: str, who: str = "auditor"):
    return fund.app.test_cli_runner().invoke(main, ["audit", month, "--as",
                                                    f"{who}@example.org"])


def test_two_auditors_attest_and_the_page_and_the_pdf_count_them(fund, sealed):
    out = _audit(fund, sealed)
    assert out.exit_code == 0, out.output
    assert f"{sealed}: passed" in out.output and "byte for byte" in out.output
    assert "audit chain intact" in out.output
    assert _audit(fund, sealed, "auditor2").exit_code == 0
    with fund.ctx():
        assert attest.attested() == {sealed: 2}
        pdf = " ".join(pdf_text(reports.render(sealed)))
    assert "Checked by 2 of the fund's auditors." in pdf.replace("\n", " ")
    assert "auditor2" not in pdf
    page = fund.client().get("/").get_data(as_text=True)
    assert "was checked by 2 of the fund's auditors" in page
    assert "auditor@" not in page and "@auditor" not in page
    books_page = sign_in(fund, "treasurer").get("/books/").get_data(as_text=True)
    assert "@auditor2" in books_page and "passed" in books_page   # who, for the book readers


def test_a_changed_byte_in_the_fund_s_books_fails(fund, sealed):
    path = Path(fund.app.config["BOOKS_DIR"]) / sealed[:4] / f"{sealed}.beancount"
    original = path.read_bytes()
    path.write_bytes(original.replace(b'"Aid paid"', b'"Aid paiD"', 1))   # still valid books
    out = _audit(fund, sealed)
    assert out.exit_code == 1 and f"{sealed}: failed" in out.output
    assert "fund's books" in out.output and "changed after it was sealed" in out.output
    with fund.ctx():
        assert attest.attested() == {}
    path.write_bytes(original.replace(b"275.00 USD", b"275.01 USD", 1))   # books now invalid
    out = _audit(fund, sealed)
    assert out.exit_code == 1 and "does not balance" in out.output
    path.write_bytes(original)


def test_a_changed_byte_in_the_community_s_books_fails(fund, sealed):
    with fund.ctx():
        periods = folder() / "seals.beancount"
    text = periods.read_bytes()
    periods.write_bytes(text.replace(b"seal:", b"Seal:", 1))
    out = _audit(fund, sealed)
    assert out.exit_code == 1 and "community's books: seals.beancount: differs" in out.output
    periods.write_bytes(text)
    assert _audit(fund, sealed).exit_code == 0


def test_community_books_built_with_other_rules_fail(fund, sealed):
    with fund.ctx():
        from app.fund import books
        write(folder(), derive(books(), recipients(), Rules(k=1)))
    out = _audit(fund, sealed)
    assert out.exit_code == 1 and "community's books: accounts.beancount: differs" in out.output


def test_only_an_auditor_attests(fund, sealed):
    with fund.ctx(), pytest.raises(Forbidden):
        attest.audit(fund.people["treasurer"], sealed)


def test_the_fund_s_books_are_for_treasurers_admins_and_auditors_only(fund, sealed):
    for who, want in (("auditor", 200), ("treasurer", 200), ("admin", 200),
                      ("member", 403), ("member2", 403)):
        client = sign_in(fund, who)
        resp = client.get("/books/fund-books.zip")
        assert resp.status_code == want, who
        if want == 200:
            names = zipfile.ZipFile(io.BytesIO(resp.data)).namelist()
            assert f"books/{sealed[:4]}/{sealed}.beancount" in names
        page = client.get("/books/")
        assert page.status_code == want
    assert fund.client().get("/books/fund-books.zip").status_code in (302, 303)
