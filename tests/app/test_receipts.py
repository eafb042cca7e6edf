"""Receipts: a member downloads one per entry of their request and checks it with nothing
but the script printed in docs/verify.md and the root printed in the month's PDF."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.workflow import months, receipts, requests
from app.workflow.errors import Forbidden, NotFound
from tests.app.conftest import ask
from tests.app.test_web import Browser
from tests.reports.conftest import pdf_text

DOCS = Path(__file__).resolve().parents[2] / "docs" / "verify.md"


def _script(tmp_path: Path) -> Path:
    """The script docs/verify.md prints in full, extracted as a reader would copy it."""
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"## Check a receipt: the script.*?```python\n(.*?)```", text, re.S)
    assert block, "docs/verify.md prints no script"
    assert len(block.group(1).splitlines()) <= 40
    path = tmp_path / "check_receipt.py"
    path.write_text(block.group(1), encoding="utf-8")
    return path


def _run(script: Path, receipt: dict, root: str, tmp_path: Path) -> subprocess.CompletedProcess:
    file = tmp_path / "receipt.json"
    file.write_text(json.dumps(receipt), encoding="utf-8")
    return subprocess.run([sys.executable, "-I", str(script), str(file), root],
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def paid_in_sealed_month(fund):
    """A member's request approved and paid in the fund's first month, which is sealed."""
    code = ask(fund, amount="275.00", category="medical")
    first = fund.start
    month = f"{first.year:04d}-{first.month:02d}"
    with fund.ctx():
        treasurer = fund.people["treasurer"]
        requests.approve(treasurer, code, {}, today=first.replace(day=8))
        requests.pay(treasurer, code, {"amount": "275.00", "account": "Assets:Fund:Bank",
                                       "date": first.replace(day=14).isoformat()},
                     today=first.replace(day=14))
        months.seal(treasurer, month, {"balances": {"Assets:Fund:Bank": "4725.00"}})
    return code, month


def test_the_docs_script_accepts_a_real_receipt_and_refuses_a_changed_one(
        fund, paid_in_sealed_month, tmp_path):
    code, month = paid_in_sealed_month
    browser = Browser(fund).sign_in("member")
    page = browser.get(f"/my/requests/{code}").get_data(as_text=True)
    links = re.findall(r'href="(/my/requests/[^"]+\.json)"', page)
    assert len(links) == 2   # the approval and the payment
    resp = browser.get(links[1].replace("&#34;", '"'))
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    receipt = resp.get_json()
    assert f'"pay:{code}:1"' in receipt["entry"] and "275.00 USD" in receipt["entry"]
    # the root a member reads in the month's PDF
    with fund.ctx():
        from app.workflow import reports
        pdf = " ".join(pdf_text(reports.render(month)))
    assert receipt["root"] in pdf.replace("\n", "").replace(" ", "")
    script = _script(tmp_path)
    ok = _run(script, receipt, receipt["root"], tmp_path)
    assert ok.returncode == 0 and ok.stdout.startswith(f"OK: this entry is in the sealed books "
                                                       f"of {month}"), ok.stderr
    changed = dict(receipt, entry=receipt["entry"].replace("275.00 USD", "27.50 USD"))
    bad = _run(script, changed, receipt["root"], tmp_path)
    assert bad.returncode != 0 and "NOT OK" in bad.stderr
    other_salt = "f" * 32
    salted = dict(receipt, salt=other_salt,
                  entry=receipt["entry"].replace(receipt["salt"], other_salt))
    assert "NOT OK" in _run(script, salted, receipt["root"], tmp_path).stderr
    assert "NOT OK" in _run(script, dict(receipt, salt=other_salt), receipt["root"],
                            tmp_path).stderr


def test_only_the_member_or_a_treasurer_gets_a_request_s_receipt(fund, paid_in_sealed_month):
    code, _ = paid_in_sealed_month
    with fund.ctx():
        with pytest.raises(NotFound):
            receipts.request_receipt(fund.people["member2"], code, f"approve:{code}:1")
        with pytest.raises(NotFound):  # an entry of another code is not this request's
            receipts.request_receipt(fund.people["member"], code, "opening:Assets:Fund:Bank")
        assert receipts.request_receipt(fund.people["treasurer"], code, f"approve:{code}:1")
    resp = Browser(fund).sign_in("member2").get(
        f"/my/requests/{code}/receipts/approve:{code}:1.json")
    assert resp.status_code == 404


def test_a_donation_s_receipt_goes_to_treasurers_only(fund):
    first = fund.start
    month = f"{first.year:04d}-{first.month:02d}"
    status, made = fund.api("treasurer", "POST", "/donations", json={
        "amount": "40.00", "account": "Assets:Fund:Bank", "category": "individual",
        "donor_consents_public": False,
        "date": first.replace(day=3).isoformat()})
    assert status == 201, made
    with fund.ctx():
        months.seal(fund.people["treasurer"], month,
                    {"balances": {"Assets:Fund:Bank": "5040.00"}})
        with pytest.raises(Forbidden):
            receipts.donation_receipts(fund.people["member"], made["code"])
        (one,) = receipts.donation_receipts(fund.people["treasurer"], made["code"])
    assert f'"donation:{made["code"]}"' in one["entry"]
    assert Browser(fund).get(f"/treasurer/donations/{made['code']}/receipts.json"
                             ).status_code in (302, 303)
