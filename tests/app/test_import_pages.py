"""The import and reconcile pages and the `carebooks import`, `import-mapping` and
`reconcile` commands, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from app.cli import main
from tests.app.conftest import ask
from tests.app.import_helpers import (DATA, EXPECTED, approve_before_samples,  # noqa: F401
                                      books_bytes, ifund, query, sample, table_counts)
from tests.app.test_access_matrix import csrf_token, sign_in


def page(client, path: str) -> tuple[str, str]:
    html = client.get(path).get_data(as_text=True)
    return html, csrf_token(html)


def upload(client, name: str, fmt: str, **fields):
    _html, token = page(client, "/treasurer/import")
    data = {"csrf_token": token, "format": fmt, "mapping": "", "account": "",
            "category": "individual", **fields}
    if name:
        data["file"] = (io.BytesIO(sample(name)), name)
    return client.post("/treasurer/import", data=data, content_type="multipart/form-data")


def confirm_fields(html: str) -> dict:
    fields = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', html))
    fields.update({n: v for v, n in re.findall(r'<input[^>]*value="([^"]*)"[^>]*name="([a-z_]+)"',
                                                html)})
    return fields


def held_files(fund) -> list[Path]:
    folder = Path(fund.app.instance_path) / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_upload_preview_confirm(ifund):
    client = sign_in(ifund, "treasurer")
    before = books_bytes(ifund)
    resp = upload(client, "paypal.csv", "paypal")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "5 donation(s) to add to PayPal" in html
    assert "Marisol Ejemplo" in html and "Rowan Example" not in html
    # the refund and the withdrawal to the bank are written too (issue 18)
    assert "Refunds of donations" in html and "Transfers between the fund" in html
    assert "Write it to the books" in html
    assert books_bytes(ifund) == before  # the preview wrote nothing
    [held] = held_files(ifund)
    assert b"Marisol" not in held.read_bytes()  # kept encrypted
    fields = confirm_fields(html)
    resp = client.post("/treasurer/import/confirm", data={**fields, "action": "confirm"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/treasurer/donations")
    assert held_files(ifund) == []
    [(count,)] = query(ifund, "SELECT count(*) WHERE account = 'Income:Donations:Individual' "
                              "AND entry_meta('carebooks-id') ~ '^donation:'")
    assert count == 5
    follow = client.get("/treasurer/donations").get_data(as_text=True)
    assert "Imported: 5 donation(s) and 0 payment(s)" in follow


def test_the_page_pays_the_request_chosen_for_a_payment_sent(ifund):
    code = ask(ifund, amount="40.00", payout_method="paypal")
    approve_before_samples(ifund, code)  # the rows are of the samples' month
    client = sign_in(ifund, "treasurer")
    html = upload(client, "paypal.csv", "paypal").get_data(as_text=True)
    assert f'<option value="{code}">' in html and 'for="match-5"' in html
    resp = client.post("/treasurer/import/confirm", data={**confirm_fields(html),
                                                          "action": "confirm", "match-5": code})
    assert resp.status_code == 303
    assert ifund.api("treasurer", "GET", f"/requests/{code}")[1]["status"] == "paid"


def test_a_wrong_match_shows_the_preview_again_with_the_reason(ifund):
    client = sign_in(ifund, "treasurer")
    html = upload(client, "paypal.csv", "paypal").get_data(as_text=True)
    before = books_bytes(ifund)
    resp = client.post("/treasurer/import/confirm", data={
        **confirm_fields(html), "action": "confirm", "match-5": "R-2026-0999"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "R-2026-0999 is not a request row 5 can pay" in body
    assert 'class="error-summary"' in body and books_bytes(ifund) == before
    assert len(held_files(ifund)) == 1  # still there to try again


def test_a_malformed_file_shows_its_rows_and_offers_no_confirm(ifund):
    client = sign_in(ifund, "treasurer")
    resp = upload(client, "paypal-malformed.csv", "paypal")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Row 3:" in html and "Row 5:" in html and "Write it to the books" not in html
    before, counts = books_bytes(ifund), table_counts(ifund)
    resp = client.post("/treasurer/import/confirm", data={**confirm_fields(html),
                                                          "action": "confirm"})
    assert resp.status_code == 422 and "nothing was written" in resp.get_data(as_text=True)
    assert books_bytes(ifund) == before and table_counts(ifund) == counts


def test_cancel_deletes_the_held_file(ifund):
    client = sign_in(ifund, "treasurer")
    html = upload(client, "venmo.csv", "venmo").get_data(as_text=True)
    assert len(held_files(ifund)) == 1
    resp = client.post("/treasurer/import/confirm", data={**confirm_fields(html),
                                                          "action": "cancel"})
    assert resp.status_code == 303 and held_files(ifund) == []
    resp = client.post("/treasurer/import/confirm", data={**confirm_fields(html),
                                                          "action": "confirm"},
                       follow_redirects=True)
    assert "this preview has expired" in resp.get_data(as_text=True)


@pytest.mark.parametrize("name, fmt, field, message", [
    (None, "paypal", "file", "required, the CSV file"),
    ("bank-mapping.json", "paypal", "file", "only CSV files"),
    ("venmo.csv", "paypal", "file", "this is not a PayPal activity CSV"),
    ("bank.csv", "bank", "mapping", "a bank CSV needs a saved column mapping"),
])
def test_a_refused_upload_names_the_field(ifund, name, fmt, field, message):
    client = sign_in(ifund, "treasurer")
    resp = upload(client, name, fmt)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and message in html
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"',
                     html) or f'id="{field}-error"' in html
    assert held_files(ifund) == []


def test_a_bank_file_with_its_mapping_imports(ifund):
    client = sign_in(ifund, "treasurer")
    html = upload(client, "bank.csv", "bank", mapping="eastside-bank").get_data(as_text=True)
    assert "Noor Example" in html and "Sam Fictitious" not in html
    assert client.post("/treasurer/import/confirm", data={
        **confirm_fields(html), "action": "confirm"}).status_code == 303
    [(n,)] = query(ifund, "SELECT count(*) WHERE account = 'Income:Donations:Individual'")
    assert n == EXPECTED["bank"]["count"]


def test_without_its_csrf_token_an_upload_changes_nothing(ifund):
    client = sign_in(ifund, "treasurer")
    resp = client.post("/treasurer/import", content_type="multipart/form-data", data={
        "format": "paypal", "file": (io.BytesIO(sample("paypal.csv")), "paypal.csv")})
    assert resp.status_code == 400 and held_files(ifund) == []
    html = upload(client, "paypal.csv", "paypal").get_data(as_text=True)
    fields = {k: v for k, v in confirm_fields(html).items() if k != "csrf_token"}
    resp = client.post("/treasurer/import/confirm", data={**fields, "action": "confirm"})
    assert resp.status_code == 400 and table_counts(ifund)["donation"] == 0


def test_members_and_admins_cannot_import(ifund):
    for who in ("member", "admin"):
        client = sign_in(ifund, who)
        for path in ("/treasurer/import", "/treasurer/reconcile"):
            assert client.get(path).status_code == 403
        token = csrf_token(client.get("/").get_data(as_text=True))
        resp = client.post("/treasurer/import", content_type="multipart/form-data", data={
            "csrf_token": token, "format": "paypal",
            "file": (io.BytesIO(sample("paypal.csv")), "paypal.csv")})
        assert resp.status_code == 403
    assert held_files(ifund) == [] and table_counts(ifund)["donation"] == 0


def test_the_reconcile_page_lists_both_sides(ifund):
    client = sign_in(ifund, "treasurer")
    html = upload(client, "paypal.csv", "paypal").get_data(as_text=True)
    client.post("/treasurer/import/confirm", data={**confirm_fields(html), "action": "confirm"})
    _html, token = page(client, "/treasurer/reconcile")
    before = table_counts(ifund)
    resp = client.post("/treasurer/reconcile", content_type="multipart/form-data", data={
        "csrf_token": token, "format": "paypal", "mapping": "", "account": "",
        "month": "2026-10", "file": (io.BytesIO(sample("paypal.csv")), "paypal.csv")})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    # the refund and the withdrawal have their entries now (issue 18): only the payment
    # sent, never matched to a request, is left without one
    assert "Not reconciled: 1 line(s) without an entry, 0 entry(ies) without a line" in body
    assert body.count("No entry in the books") == 1 and "D-2026-0005" in body
    assert table_counts(ifund) == before and held_files(ifund) == []


# --- the command line ---------------------------------------------------------------------


def cli(fund, *args: str, input: str | None = None):
    result = fund.app.test_cli_runner().invoke(main, list(args), input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_cli_dry_run_then_import_then_again(ifund):
    path = str(DATA / "stripe.csv")
    before = books_bytes(ifund)
    dry = cli(ifund, "import", path, "--format", "stripe", "--dry-run",
              "--as", "treasurer@example.org")
    assert dry.exit_code == 0 and "to add: 6 donation(s), gross 505.00 USD, fees 16.45" in \
        dry.stdout and "dry run: nothing was written" in dry.stdout
    assert "Ada Invented" in dry.stdout and "Bo Fictitious" not in dry.stdout
    assert books_bytes(ifund) == before
    no = cli(ifund, "import", path, "--format", "stripe", "--as", "treasurer@example.org",
             input="n\n")
    assert no.exit_code != 0 and books_bytes(ifund) == before
    done = cli(ifund, "import", path, "--format", "stripe", "--yes",
               "--as", "treasurer@example.org")
    assert done.exit_code == 0 and "added 6 donation(s): D-2026-0001 to D-2026-0006" in done.stdout
    again = cli(ifund, "import", path, "--format", "stripe", "--yes",
                "--as", "treasurer@example.org")
    assert again.exit_code == 0 and "already in the books: 6" in again.stdout
    assert "nothing new to add" in again.stdout


def test_cli_refuses_a_malformed_file_naming_its_rows(ifund):
    before, counts = books_bytes(ifund), table_counts(ifund)
    result = cli(ifund, "import", str(DATA / "paypal-malformed.csv"), "--format", "paypal",
                 "--yes", "--as", "treasurer@example.org")
    assert result.exit_code == 1
    assert "row    3  Gross: '5O.00'" in result.stdout and "row    5  Date:" in result.stdout
    assert "2 row(s) cannot be read; nothing was written" in result.stderr
    assert books_bytes(ifund) == before and table_counts(ifund) == counts


def test_cli_mapping_bank_import_with_a_match_and_reconcile(ifund):
    code = ask(ifund, amount="250.00")
    approve_before_samples(ifund, code)  # the rows are of the samples' month
    saved = cli(ifund, "import-mapping", "other-bank", "--date", "Posting Date",
                "--amount", "Amount", "--reference", "Reference", "--date-format", "%d/%m/%Y",
                "--decimal", ",", "--as", "treasurer@example.org")
    assert saved.exit_code == 0 and "saved mapping other-bank" in saved.stdout
    bad = cli(ifund, "import-mapping", "x", "--date", "D", "--amount", "A", "--decimal", ".",
              "--date-format", "%H", "--as", "treasurer@example.org")
    assert bad.exit_code == 1 and "date_format" in bad.stderr
    path = str(DATA / "bank.csv")
    done = cli(ifund, "import", path, "--format", "bank", "--mapping", "other-bank",
               "--match", f"4={code}", "--yes", "--as", "treasurer@example.org")
    assert done.exit_code == 0, done.stderr
    assert f"paid {code} 200.00 (row 4)" in done.stdout
    assert ifund.api("treasurer", "GET", f"/requests/{code}")[1]["outstanding"] == "50.00"
    rec = cli(ifund, "reconcile", path, "--format", "bank", "--mapping", "other-bank",
              "--month", "2026-10", "--as", "treasurer@example.org")
    assert rec.exit_code == 1  # the bank's own fee has no entry
    assert "not reconciled: 1 line(s) without an entry" in rec.stdout
    assert "-5.00" in rec.stdout
    member = cli(ifund, "import", path, "--format", "bank", "--mapping", "other-bank",
                 "--dry-run", "--as", "member@example.org")
    assert member.exit_code == 1 and "is not a treasurer" in member.stderr


def test_a_held_file_that_cannot_be_read_or_is_old_is_gone(ifund):
    import os
    import time

    client = sign_in(ifund, "treasurer")
    html = upload(client, "paypal.csv", "paypal").get_data(as_text=True)
    [held] = held_files(ifund)
    held.write_text("cb1:00000000:damaged")  # e.g. its key was rotated away
    resp = client.post("/treasurer/import/confirm", data={**confirm_fields(html),
                                                          "action": "confirm"},
                       follow_redirects=True)
    assert "this preview has expired" in resp.get_data(as_text=True) and held_files(ifund) == []
    upload(client, "venmo.csv", "venmo")
    [held] = held_files(ifund)
    hour_ago = time.time() - 3601
    os.utime(held, (hour_ago, hour_ago))
    upload(client, "stripe.csv", "stripe")  # any new upload sweeps the old ones
    assert held not in held_files(ifund) and len(held_files(ifund)) == 1
    assert table_counts(ifund)["donation"] == 0
