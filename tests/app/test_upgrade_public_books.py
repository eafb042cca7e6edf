"""Upgrading a fund from before the community's books (docs/privacy.md, docs/verify.md).

The fund below was run by the old code: its first month's entries carry no salt and its
seal no Merkle root, and it has no community's books — `/books.zip` served the fund's
own books. (Its database schema is the current one: SQLite cannot step the schema back
below 0009 with people in it, and each migration's own upgrade is tested apart.) After
`carebooks db upgrade`:

- the sealed month is not rewritten: same file, same seal, and the chain verifies;
- `/books.zip` at once serves the community's books — derived on the spot, holding that
  month's seal — and not one request code;
- that month gets no receipts (unsalted leaves could be guessed from a path); receipts
  start with the first month sealed after the upgrade, whose seal has a Merkle root.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

from click.testing import CliRunner

from tests.app.conftest import close_fund, make_fund

BANK = "Assets:Fund:Bank"
PASSWORD = "correct horse battery staple"


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def test_an_old_fund_upgrades_keeps_its_seals_and_serves_only_the_community_s_books(
        tmp_path, monkeypatch):
    from app.cli import main
    from app.fund import books, forget_books
    from app.migrate import current_revision
    from app.workflow import months, receipts, requests
    from app.workflow.errors import NotFound
    from app.workflow.people import add_person
    from ledger import Books

    url = "sqlite:///" + str(tmp_path / "instance" / "carebooks.db")
    fund = make_fund(tmp_path, url, months_of_history=2)
    old, new = fund.start, fund.start.replace(day=28) + dt.timedelta(days=4)
    old_month, new_month = _month(old), _month(new)
    treasurer = fund.people["treasurer"]
    codes: dict[str, list[str]] = {old_month: [], new_month: []}
    with fund.ctx():
        members = [add_person(f"old{i}@example.org", ["member"], handle=f"old{i}",
                              password=PASSWORD) for i in range(6)]
        for first in (old, new):
            for i, member in enumerate(members):
                day = first + dt.timedelta(days=1 + i)
                code = requests.submit(member, {
                    "amount": f"{200 + 10 * i}.00", "category": "rent",
                    "needed_by": (day + dt.timedelta(days=20)).isoformat(),
                    "payout_method": "bank", "story": "Rent is due."}, today=day)["code"]
                requests.approve(treasurer, code, {}, today=day)
                requests.pay(treasurer, code, {"amount": f"{200 + 10 * i}.00", "account": BANK,
                                               "date": day.isoformat()}, today=day)
                codes[_month(first)].append(code)
            if first == old:
                # the old code wrote no salts and sealed without a Merkle root
                forget_books()
                folder = books().dir
                month_file = folder / old_month[:4] / f"{old_month}.beancount"
                text = month_file.read_text(encoding="utf-8")
                month_file.write_text(re.sub(r"(?m)^\s+carebooks-salt: .*\n", "", text),
                                      encoding="utf-8")
                forget_books()
                ledger_books = Books.open(folder)
                state = ledger_books.state
                ledger_books.seal(old_month, {a: state.balance_at_end_of(a, old_month)
                                              for a in state.cash_accounts()},
                                  today=new)
                forget_books()
        old_seal = books().state.seals[0]
        sealed_bytes = month_file.read_bytes()
    assert old_seal.month == old_month and old_seal.merkle_root == ""
    community = tmp_path / "instance" / "community"
    assert not community.exists()
    fund.app.extensions["carebooks.engine"].dispose()

    result = CliRunner().invoke(main, ["db", "upgrade"],
                                env={"CAREBOOKS_INSTANCE": str(tmp_path / "instance"),
                                     "DATABASE_URL": url})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.strip() == f"database at revision {current_revision(url)}"

    # the public download is the community's books at once, with the old month's seal
    client = fund.client()
    answer = client.get("/books.zip")
    assert answer.status_code == 200
    with zipfile.ZipFile(io.BytesIO(answer.data)) as zf:
        names = zf.namelist()
        text = "".join(zf.read(n).decode() for n in names)
    assert sorted(names) == sorted(f"community-books/{n}" for n in
                                   ("main.beancount", "accounts.beancount",
                                    "periods.beancount", "seals.beancount"))
    assert old_seal.seal_hash in text and not re.search(r"\bR-\d{4}-\d{4}\b", text)
    assert "Publication period" in text
    for name in ("main.beancount", "seals.beancount"):
        assert client.get(f"/books/{name}").status_code in (302, 303, 401, 403, 404)

    with fund.ctx():
        # the sealed month is untouched, and has no receipts
        assert month_file.read_bytes() == sealed_bytes
        assert books().state.seals[0] == old_seal and books().verify().ok
        member_of = {c: m for c, m in zip(codes[old_month], members)}
        code = codes[old_month][0]
        listed = receipts.for_request(member_of[code], code)
        assert listed and not any(r["available"] for r in listed)
        try:
            receipts.request_receipt(member_of[code], code, listed[0]["id"])
            raise AssertionError("a receipt of an unsalted month")
        except NotFound:
            pass
        # receipts begin with the first month sealed after the upgrade
        state = books().state
        months.seal(treasurer, new_month, {"balances": {
            a: str(state.balance_at_end_of(a, new_month)) for a in state.cash_accounts()}},
            today=new.replace(day=28) + dt.timedelta(days=4))
        new_seal = books().state.seals[1]
        assert new_seal.merkle_root
        code = codes[new_month][0]
        receipt = receipts.request_receipt(members[0], code, f"approve:{code}:1")
        assert receipt["month"] == new_month
        assert books().state.seals[0] == old_seal and books().verify().ok
    with zipfile.ZipFile(io.BytesIO(client.get("/books.zip").data)) as zf:
        seals = zf.read("community-books/seals.beancount").decode()
    assert old_seal.seal_hash in seals and new_seal.merkle_root in seals
    close_fund(fund, tmp_path)
