"""Everything the public can fetch holds no request code, no hidden amount, no person.

A small fund runs three months through the app's own workflow — a month with six people
helped with rent and one with medical aid, a month with a single request, a month of food
aid — seals and publishes each (the first twice: a correction), and then everything an
anonymous visitor can fetch is collected: the page `/` in English and Spanish, the
summary API of every month, the report archive `/reports`, the text of every published
PDF (`pdftotext`, as a reader's tool extracts it), and every file of `/books.zip`. The
test greps it all for every request code, every exact approved amount of a group that
covers fewer than k people, and every handle and email of the fund's people.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal

import pytest

from tests.app.conftest import close_fund, make_fund

BANK = "Assets:Fund:Bank"
PASSWORD = "correct horse battery staple"
# (month index, member, category, amount): amounts with cents no total can share
REQUESTS = [(0, i, "rent", Decimal(f"{310 + 7 * i}.{11 + i}")) for i in range(6)] + [
    (0, 6, "medical", Decimal("275.17")),        # one person: a hidden group
    (1, 7, "legal", Decimal("333.37")),          # the month's only request
    (1, 0, "rent", Decimal("188.43")),           # paid in part, the rest next month
] + [(2, i, "food", Decimal(f"{120 + 9 * i}.{41 + i}")) for i in range(1, 6)]
HIDDEN = {Decimal("275.17"), Decimal("333.37"), Decimal("188.43")}


def _first_after(month: str) -> dt.date:
    year, mon = int(month[:4]), int(month[5:])
    return dt.date(year + (mon == 12), mon % 12 + 1, 1)


def _pdf_text(pdf: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True, timeout=60)
    return done.stdout.decode()


@pytest.mark.skipif(not shutil.which("pdftotext"),
                    reason="pdftotext is missing: apt-get install -y poppler-utils")
def test_no_public_artifact_names_a_request_a_hidden_amount_or_a_person(tmp_path):
    from app.db import session_scope
    from app.workflow import donations, months, reports, requests
    from app.workflow import policy as policy_mod
    from app.workflow.people import add_person

    fund = make_fund(tmp_path, "sqlite:///" + str(tmp_path / "artifacts.db"),
                     months_of_history=4)
    start = fund.start
    month_names = [f"{(start.year * 12 + start.month - 1 + m) // 12:04d}-"
                   f"{(start.month - 1 + m) % 12 + 1:02d}" for m in range(3)]
    with fund.ctx():
        with session_scope() as session:
            policy_mod.current(session).member_cap = Decimal("100000.00")
        people = [add_person(f"person.{i}.q7z@example.org", ["member"],
                             handle=f"hq7z-member-{i}", password=PASSWORD) for i in range(8)]
        tq1 = add_person("ana.tq9@example.org", ["treasurer"], handle="hq7z-ana",
                         password=PASSWORD)
        tq2 = add_person("bo.tq9@example.org", ["treasurer"], handle="hq7z-bo",
                         password=PASSWORD)
        codes, rests = [], []
        for m, month in enumerate(month_names):
            first = dt.date.fromisoformat(month + "-01")
            for code, amount in rests:        # last month's remainder, paid on the 3rd
                day = first + dt.timedelta(days=2)
                requests.pay(tq2, code, {"amount": str(amount), "account": BANK,
                                         "date": day.isoformat()}, today=day)
            rests = []
            donations.record(tq1, {"amount": "900.00", "fee": "3.10", "account": BANK,
                                   "date": first.isoformat(), "category": "individual",
                                   "donor_consents_public": False}, today=first)
            for n, (rm, member, category, amount) in enumerate(REQUESTS):
                if rm != m:
                    continue
                day = first + dt.timedelta(days=1 + n % 10)
                made = requests.submit(people[member], {
                    "amount": str(amount), "category": category,
                    "needed_by": (day + dt.timedelta(days=30)).isoformat(),
                    "payout_method": "bank", "story": "Rent is due."}, today=day)
                code = made["code"]
                codes.append(code)
                requests.approve(tq1, code, {}, today=day)
                part = amount if amount != Decimal("188.43") else Decimal("100.00")
                requests.pay(tq2, code, {"amount": str(part), "account": BANK,
                                         "date": (day + dt.timedelta(days=2)).isoformat()},
                             today=day + dt.timedelta(days=2))
                if part != amount:
                    rests.append((code, amount - part))
        for month in month_names:
            after = _first_after(month)
            state = __import__("app.fund", fromlist=["books"]).books().state
            balances = {a: str(state.balance_at_end_of(a, month)) for a in state.cash_accounts()}
            months.seal(tq1, month, {"balances": balances}, today=after)
            reports.publish(tq1, month, today=after)
        reports.publish(tq2, month_names[0], reason="Correction: a late statement line.")

    client = fund.client()
    artifacts: dict[str, str] = {}
    for lang in ("en", "es"):
        artifacts[f"/ ({lang})"] = client.get(
            "/", headers={"Accept-Language": lang}).get_data(as_text=True)
    for month in month_names + [None]:
        path = "/api/v1/summary" + (f"?month={month}" if month else "")
        artifacts[path] = client.get(path).get_data(as_text=True)
    archive = client.get("/reports").get_data(as_text=True)
    artifacts["/reports"] = archive
    pdfs = sorted(set(re.findall(r'href="(/reports/[^"]+\.pdf)"', archive)))
    assert len(pdfs) == 8, pdfs      # 3 months in 2 languages, and the correction
    for path in pdfs:
        answer = client.get(path)
        assert answer.status_code == 200
        artifacts[path] = _pdf_text(answer.data)
        assert "Publication period" in artifacts[path] or "publicación" in artifacts[path]
    books = client.get("/books.zip")
    assert books.status_code == 200
    with zipfile.ZipFile(io.BytesIO(books.data)) as zf:
        for name in zf.namelist():
            artifacts[f"/books.zip:{name}"] = zf.read(name).decode()
    assert any("Publication period" in text for name, text in artifacts.items()
               if name.startswith("/books.zip"))

    forbidden = {code: "a request code" for code in codes}
    for amount in HIDDEN:
        forbidden[str(amount)] = "a hidden group's exact amount"
        forbidden[str(amount).replace(".", ",")] = "a hidden group's exact amount (es)"
    for person in people + [tq1, tq2] + list(fund.people.values()):
        forbidden[person.email] = "an email"
        if person.handle.startswith("hq7z"):   # the fixture's handles are common words
            forbidden[person.handle] = "a handle"
    found = [(name, needle, why) for name, text in artifacts.items()
             for needle, why in forbidden.items() if needle in text]
    assert found == []
    assert not [name for name, text in artifacts.items()
                if re.search(r"\bR-\d{4}-\d{4}\b", text) or "@example.org" in text]
    close_fund(fund, tmp_path)
