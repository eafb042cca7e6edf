"""Every figure in the PDF equals an independent computation with beanquery over the
same books.

The expected figures are computed here from Beancount's own loader and `beanquery`
queries (no code from `ledger.state` or `reports.figures`), grouped by recipient with the
request facts, put through the privacy rules, formatted with Babel, and looked for in
the text pypdf extracts from the PDF, on the line of their label.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal
from statistics import median

import beanquery
import pytest
from babel.numbers import format_currency, format_decimal, format_percent
from beancount import loader
from beancount.core import data

from reports.figures import month_figures
from reports.privacy import Group, Rules, protect
from reports.render import render_pdf
from tests.reports.conftest import SEALED, TODAY, pdf_text

RULES = Rules()
CASH_LABEL = {"Assets:Fund:Bank": "Bank", "Assets:Fund:Cash": "Cash",
              "Assets:Fund:PayPal": "PayPal", "Assets:Fund:Venmo": "Venmo"}
CATEGORY_LABEL = {"rent": "Rent", "utilities": "Utilities", "food": "Food",
                  "medical": "Medical", "transport": "Transport", "legal": "Legal",
                  "funeral": "Funeral", "other": "Other"}
KIND_LABEL = {"individual": "Individuals", "grant": "Grants", "event": "Events"}


def money(value: Decimal) -> str:
    return format_currency(value, "USD", locale="en")


def whole(value: Decimal) -> str:
    return format_currency(value, "USD", locale="en", format="¤#,##0", currency_digits=False)


class Query:
    """beanquery over a full load of the books."""

    def __init__(self, main):
        entries, errors, options = loader.load_file(str(main))
        assert not errors
        self.entries = entries
        self.conn = beanquery.connect("beancount:", entries=entries, errors=errors,
                                      options=options)

    def rows(self, sql: str) -> list[tuple]:
        cur = self.conn.execute(sql)
        return [tuple(r) for r in cur.fetchall()]

    def one(self, sql: str) -> Decimal:
        rows = self.rows(sql)
        return (rows[0][0] if rows and rows[0][0] is not None else Decimal(0))


@pytest.fixture(scope="module")
def q(fund) -> Query:
    return Query(fund.main)


def next_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:])
    return f"{y + m // 12:04d}-{m % 12 + 1:02d}"


def expected(q: Query, fund, month: str, *, with_facts: bool) -> dict:
    """The report's figures, computed with beanquery and the facts only."""
    y, m = month[:4], int(month[5:])
    in_month = f"year = {y} AND month = {m}"
    start, end = f"{month}-01", f"{next_month(month)}-01"
    who = {f.code: f.recipient for f in fund.plan.facts} if with_facts else {}
    exp: dict = {}

    def balances(before: str) -> dict:
        return dict(q.rows("SELECT account, sum(number) WHERE account ~ '^Assets:Fund:' "
                           f"AND date < {before} GROUP BY account"))

    opening, closing = balances(start), balances(end)
    exp["accounts"] = {a: (opening.get(a, Decimal(0)), closing.get(a, Decimal(0)))
                       for a in CASH_LABEL}
    exp["cash"] = sum(c for _, c in exp["accounts"].values())
    exp["cash_open"] = sum(o for o, _ in exp["accounts"].values())
    exp["kinds"] = {acct.rsplit(":", 1)[-1].lower(): (n, -total) for acct, n, total in q.rows(
        "SELECT account, count(*), sum(number) WHERE account ~ '^Income:Donations:' "
        f"AND number < 0 AND {in_month} GROUP BY account")}
    exp["donations"] = (sum(n for n, _ in exp["kinds"].values()),
                        sum((t for _, t in exp["kinds"].values()), Decimal(0)))
    exp["refunds"] = q.rows("SELECT count(*), sum(number) WHERE account ~ '^Income:Donations:' "
                            f"AND number > 0 AND {in_month}")[0]
    exp["fees"] = q.one("SELECT sum(number) WHERE account = 'Expenses:Operations:Fees' "
                        f"AND {in_month}")
    exp["outstanding"] = -q.one("SELECT sum(number) WHERE account = 'Liabilities:Aid:Approved' "
                                f"AND date < {end}")

    def table(rows) -> tuple:
        groups = {c: Group(c) for c in CATEGORY_LABEL}
        for category, code, amount in rows:
            groups[category].add(who.get(code, code), amount)
        return protect([groups[c] for c in sorted(groups)], RULES)

    exp["approved"] = table(
        (acct.rsplit(":", 1)[-1].lower(), code, amount) for acct, code, amount in q.rows(
            "SELECT account, joinstr(links) AS request, sum(number) WHERE "
            f"account ~ '^Expenses:Aid:' AND number > 0 AND {in_month} "
            "GROUP BY account, request"))
    exp["paid"] = table(
        (cat.lower().replace(" ", "-"), code, amount) for cat, code, amount in q.rows(
            "SELECT subst(',.*', '', narration) AS category, joinstr(links) AS request, "
            "sum(number) WHERE account = 'Liabilities:Aid:Approved' AND payee = 'Aid paid' "
            f"AND {in_month} GROUP BY category, request"))
    # Trend: the 12 months ending with this one (the books begin in 2026-01).
    trend = []
    cash = Decimal(0)
    changes = {(int(a), int(b)): v for a, b, v in q.rows(
        "SELECT year, month, sum(number) WHERE account ~ '^Assets:Fund:' "
        f"AND date < {end} GROUP BY year, month")}
    gifts = {(int(a), int(b)): -v for a, b, v in q.rows(
        "SELECT year, month, sum(number) WHERE account ~ '^Income:Donations:' "
        f"AND date < {end} GROUP BY year, month")}
    paid = {(int(a), int(b)): v for a, b, v in q.rows(
        "SELECT year, month, sum(number) WHERE account = 'Liabilities:Aid:Approved' "
        f"AND payee = 'Aid paid' AND date < {end} GROUP BY year, month")}
    for key in sorted(changes):
        cash += changes[key]
        trend.append((f"{key[0]:04d}-{key[1]:02d}", cash, gifts.get(key, Decimal(0)),
                      paid.get(key, Decimal(0))))
    exp["trend"] = trend[-12:]
    # The seal, straight from the files and the custom entries.
    seals = {e.values[0].value: [v.value for v in e.values] for e in q.entries
             if isinstance(e, data.Custom) and e.type == "carebooks-seal"}
    exp["seal"] = seals.get(month)
    if exp["seal"]:
        path = fund.root / month[:4] / f"{month}.beancount"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == exp["seal"][1]
        hashed = exp["seal"][:3] + exp["seal"][4:]   # with the Merkle root, when there is one
        assert hashlib.sha256("".join(f"{x}\n" for x in hashed).encode()
                              ).hexdigest() == exp["seal"][3]
    if with_facts:
        first = [f for f in fund.plan.facts
                 if f.first_paid_on and f.first_paid_on.strftime("%Y-%m") == month]
        ontime = [f.first_paid_on <= f.needed_by for f in first if f.needed_by]
        exp["timing"] = (len(first), median((f.first_paid_on - f.requested_on).days
                                            for f in first),
                         Decimal(sum(ontime)) / len(ontime),
                         len({f.recipient for f in first}))
    return exp


def line(pages: list[str], label: str) -> str:
    """The rest of the first line that starts with `label` (exactly; then a space)."""
    for page in pages:
        for text in page.splitlines():
            if text.startswith(label + " "):
                return text[len(label) + 1:]
    raise AssertionError(f"no line starts with {label!r}")


def lines(pages: list[str], label: str) -> list[str]:
    return [t[len(label) + 1:] for p in pages for t in p.splitlines()
            if t.startswith(label + " ")]


def check_aid(section: list[str], rows, merged, total) -> None:
    for row in rows:
        if not row.shown or not row.requests:
            # hidden like empty: not listed at all (nobody can tell one from the other)
            assert not lines(section, CATEGORY_LABEL[row.label]), row
            continue
        got = line(section, CATEGORY_LABEL[row.label])
        assert got == f"{row.recipients} {whole(row.total)} {whole(row.median)}", (row, got)
    label = "Categories not shown separately, combined"
    if merged is None:
        assert not lines(section, label)
    elif merged.shown:
        assert line(section, label) == (f"{merged.recipients} {whole(merged.total)} "
                                        f"{whole(merged.median)}")
    else:
        assert line(section, label).startswith("not shown")
    got = line(section, "All aid")
    if total.shown and total.requests:
        assert got == f"{total.recipients} {whole(total.total)} {whole(total.median)}"
    elif total.shown:
        assert got == "0 — —"
    else:
        assert got.startswith("not shown")


@pytest.mark.parametrize("month, with_facts", [
    ("2026-03", True),     # sealed, recipients from the facts
    ("2026-02", False),    # sealed, each request counted as a recipient
    ("2026-06", True),     # not sealed, the month of the latest entries
])
def test_every_figure_in_the_pdf_equals_beanquery(fund, q, month, with_facts):
    facts = fund.plan.facts if with_facts else ()
    fig = month_figures(fund.books, month, facts=facts, rules=RULES,
                        treasurers=2, today=TODAY)
    pages = pdf_text(render_pdf(fig))
    exp = expected(q, fund, month, with_facts=with_facts)
    text = "\n".join(pages)

    sealed = month <= f"2026-{SEALED:02d}"
    held = [text.split("Money held")[1].split("Money in")[0]]
    for account, (opening, closing) in exp["accounts"].items():
        # one account's balances are never shown (they would tell payments by method)
        status = "matches" if sealed else "not yet reconciled"
        assert line(held, CASH_LABEL[account]) == f"— — {status}"
    summary = text.split("Money held")[0]
    available = money(exp["cash"] - exp["outstanding"])
    # what is approved and unpaid at the month's end, and so what was available, is never
    # printed: it can be one person's remainder
    assert not lines(pages, "Approved and not yet paid at the end of the month")
    assert money(exp["outstanding"]) not in text and available not in text
    if fig.balances_shown:
        assert line(held, "All cash") == f"{money(exp['cash_open'])} {money(exp['cash'])}"
        assert money(exp["cash"]) in summary
    else:  # a hidden month's aid would follow from its balances and the donations
        assert line(held, "All cash") == "— —"
        assert money(exp["cash"]) not in text
        assert "Balances are not shown for this month" in " ".join(text.split())

    for kind, (n, total) in exp["kinds"].items():
        assert line(pages, KIND_LABEL[kind]) == f"{n} {money(total)}"
    count, total = exp["donations"]
    assert line(pages, "All donations") == f"{count} {money(total)}"
    assert money(total) in summary
    n, refunds = exp["refunds"]
    assert line(pages, "Refunded to donors") == f"{n} {money(refunds or Decimal(0))}"
    assert line(pages, "Payment processor and bank fees") == money(exp["fees"])

    approved_part = text.split("Aid approved this month")[1].split("Aid paid this month")[0]
    paid_part = text.split("Aid paid this month")[1].split("Approvals cancelled")[0]
    if fig.aid_approved.total.shown:
        check_aid([approved_part], *exp["approved"])
    else:  # suppressed against the paid table (reports.figures._difference_safe)
        assert line([approved_part], "All aid").startswith("not shown")
    check_aid([paid_part], *exp["paid"])
    header = "Recipients" if with_facts else "Requests"
    assert line([approved_part], "Category").startswith(header)

    trend_part = text.split("Donations less refunds Aid paid")[-1]
    by_month = {p.month: p for p in fig.trend}
    for m, cash, gifts, paid in exp["trend"]:
        label = dt.date.fromisoformat(m + "-01").strftime("%b %Y")
        shown = by_month[m]
        want_cash = money(cash) if shown.cash is not None else "not shown"
        want_paid = money(paid) if shown.aid_paid is not None else "not shown"
        assert line([trend_part], label) == f"{want_cash} {money(gifts)} {want_paid}"
        if shown.cash is not None:
            assert shown.cash == cash
        if shown.aid_paid is not None:
            assert shown.aid_paid == paid
    assert len(exp["trend"]) == int(month[5:])   # the books begin in January

    if exp["seal"]:
        _, file_hash, prev, seal_hash, *root = exp["seal"]
        seal_part = text.split("The seal of the books")[1].split("Check these numbers")[0]
        name = dt.date.fromisoformat(month + "-01").strftime("%B %Y")
        assert f"Seal of {name}\n{seal_hash}" in seal_part
        assert f"Fingerprint of the month's file\n{file_hash}" in seal_part
        assert f"Previous seal in the chain\n{prev}" in seal_part
        assert f"Merkle root of the month's entries\n{root[0]}" in seal_part
        footers = [p for p in pages if f"Seal {month}: {seal_hash}" in p]
        assert len(footers) == len(pages), "every page's footer carries the seal hash"
    else:
        assert "This month is not sealed yet" in " ".join(text.split())
        assert all(f"{month}: not sealed" in p for p in pages)
    assert "Number of treasurers: 2." in text
    for handle in ("@treasurer-ana", "@ben_t"):
        assert handle not in text

    if with_facts:
        n, days, share, people = exp["timing"]
        assert people >= RULES.k
        assert line(pages, "Requests first paid this month") == format_decimal(n, locale="en")
        assert line(pages, "Median days from request to first payment") == str(
            int(Decimal(days).quantize(Decimal(1), "ROUND_HALF_EVEN")))
        assert line(pages, "Paid on or before the date it was needed by") == format_percent(
            share.quantize(Decimal("0.01")), locale="en")
    else:
        assert "Time from request to payment" not in text
        assert "Recipients are counted per request" in " ".join(text.split())


def test_no_donor_name_and_no_request_code_reaches_the_report(fund):
    """The books hold consented donor names and request codes; the report shows neither."""
    fig = month_figures(fund.books, "2026-03", facts=fund.plan.facts, today=TODAY)
    text = "\n".join(pdf_text(render_pdf(fig)))
    assert "Rosa" not in text and "Martínez" not in text
    assert not re.search(r"\b[RD]-\d{4}-\d{4}\b", text)
