"""/books.zip serves the community's books only; sealing and `derive-public` keep them."""

from __future__ import annotations

import io
import re
import zipfile

from app.cli import main
from app.workflow import months
from tests.app.conftest import ask


def _zip(fund) -> dict[str, str]:
    resp = fund.client().get("/books.zip")
    assert resp.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(resp.data))
    return {n: zf.read(n).decode() for n in zf.namelist()}


def test_the_download_holds_no_request_code_amount_or_handle(fund):
    code = ask(fund, amount="275.00", category="medical")
    assert fund.api("treasurer", "POST", f"/requests/{code}/approve", json={})[0] == 200
    files = _zip(fund)
    assert sorted(files) == [f"community-books/{n}" for n in
                             ("accounts.beancount", "main.beancount", "periods.beancount",
                              "seals.beancount")]
    text = "".join(files.values())
    assert code not in text and not re.search(r"\bR-\d{4}-\d{4}\b", text)
    assert "275.00" not in text and "Medical" not in text.replace("Expenses:Aid:Medical", "")
    for who in ("member", "treasurer", "admin"):
        assert f"{who}@example.org" not in text


def test_sealing_a_month_derives_them_and_derive_public_agrees(fund):
    month = f"{fund.start.year:04d}-{fund.start.month:02d}"
    with fund.ctx():
        result = months.seal(fund.people["treasurer"], month,
                             {"balances": {"Assets:Fund:Bank": "5000.00"}})
        assert result["community_books"] == "derived"
        folder = fund.app.config["BOOKS_DIR"].replace("/books", "/community")
    seals = open(f"{folder}/seals.beancount").read()
    assert f'"{month}"' in seals and result["seal_hash"] in seals
    out = fund.app.test_cli_runner().invoke(main, ["derive-public"])
    assert out.exit_code == 0, out.output
    assert "unchanged" in out.output
