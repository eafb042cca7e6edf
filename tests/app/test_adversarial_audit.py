"""The adversarial audit (docs/privacy.md, "The attacker we test against").

A simulated year of a small fund — 20 members, six categories, months with one recipient,
partial payments, cancellations, donation refunds, a corrected published report — runs
through the app's own workflow, day by day. It publishes everything it would publish, and
an attacker reads all of it: the public summary and the transparency page after every
single event (a poller), every published month's summary, every version of every
monthly report (the figures each PDF is rendered from, read as the template prints them),
and every version of the community's books (`/books.zip`, after each seal and publication,
the correction included), every posting and balance of each publication period.

The attacker knows everything but the amounts of aid: the timeline of every request
(who asked, in which category, on which day it was approved, paid in part or in full,
cancelled), every donation, fee and refund exactly, and the fund's public cap per
request. Each published figure becomes a linear constraint over the unknown amounts (a
rounded figure an interval, a band its range), and scipy's HiGHS finds the smallest and
largest amount of each request's approval and of each recipient's aid in a month. The
test fails if any such interval is narrower than ±50% of the true value (its width below
the value), or if a category that had fewer than k recipients in a month can be shown to
have had any at all. Medians are order statistics, outside a linear program: they are
left out of the constraints (docs/privacy.md says what that means).
"""

from __future__ import annotations

import datetime as dt
import os
import random
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from tests.app.conftest import close_fund, make_fund

np = pytest.importorskip("numpy")
linprog = pytest.importorskip("scipy.optimize").linprog

SEED = 15
MEMBERS = 20
CATEGORIES = ("rent", "food", "medical", "utilities", "transport", "legal")
BANK = "Assets:Fund:Bank"
CAP = Decimal("1000.00")
MONTHS = 12
ONE_RECIPIENT = (2, 7)   # months (1-based) with a single request


# --- the year ------------------------------------------------------------------------------


@dataclass
class Request:
    code: str
    member: int
    category: str
    amount: Decimal
    approved_on: dt.date
    payments: list[tuple[dt.date, Decimal]] = field(default_factory=list)
    cancelled_on: dt.date | None = None


@dataclass(frozen=True)
class Step:
    day: dt.date
    order: int
    kind: str          # donation, refund, submit, approve, pay, cancel
    data: tuple


def plan_year(start: dt.date) -> list[Step]:
    """Random but fixed: the events of a year, in the order they happen."""
    rnd = random.Random(SEED)
    steps, order = [], 0

    def add(day, kind, *data):
        nonlocal order
        order += 1
        steps.append(Step(day, order, kind, data))

    for m in range(MONTHS):
        first = add_months(start, m)
        for _ in range(rnd.randint(5, 10)):
            add(first + dt.timedelta(days=rnd.randint(0, 25)), "donation",
                Decimal(rnd.randrange(2000, 60000)) / 100, Decimal(rnd.randrange(0, 300)) / 100)
        n = 1 if m + 1 in ONE_RECIPIENT else rnd.randint(4, 11)
        for i in range(n):
            member = rnd.randrange(MEMBERS)
            # skewed: rent and food are common, the others rare (cells below k)
            category = rnd.choices(CATEGORIES, weights=(6, 5, 2, 3, 1, 1))[0]
            amount = Decimal(rnd.randrange(5000, 48000)) / 100
            day = first + dt.timedelta(days=rnd.randint(0, 14))
            shape = rnd.choices(["full", "two", "partial-cancel", "cancel"],
                                weights=(6, 3, 1, 1))[0]
            add(day, "submit", i, m, member, category, amount)
            add(day, "approve", i, m)
            if shape == "full":
                add(day + dt.timedelta(days=rnd.randint(1, 5)), "pay", i, m, None)
            elif shape == "two":
                half = (amount / 2).quantize(Decimal("0.01"))
                add(day + dt.timedelta(days=2), "pay", i, m, half)
                add(day + dt.timedelta(days=rnd.randint(8, 25)), "pay", i, m, None)
            elif shape == "partial-cancel":
                add(day + dt.timedelta(days=2), "pay", i, m, (amount / 3).quantize(
                    Decimal("0.01")))
                add(day + dt.timedelta(days=9), "cancel", i, m)
            else:
                add(day + dt.timedelta(days=4), "cancel", i, m)
        if m in (3, 8):
            add(first + dt.timedelta(days=27), "refund")
    return sorted(steps, key=lambda s: (s.day, s.order))


# --- what the attacker knows and reads -----------------------------------------------------


class Attacker:
    """Unknowns: each request's approved amount and each payment; the rest is known."""

    def __init__(self, opening: Decimal, k: int, rounding: Decimal):
        self.opening, self.k, self.half = opening, k, rounding / 2
        self.index: dict[tuple, int] = {}
        self.rows: list[tuple[dict[int, float], float, float]] = []
        self.requests: dict[str, Request] = {}
        self.known: list[tuple[dt.date, str, Decimal]] = []   # (day, account, +/- cash)
        self.events: list[tuple[dt.date, str, str, int]] = []  # (day, kind, code, payment #)
        self.nonempty: list[str] = []       # categories under k shown to be non-empty
        self.seen: set = set()
        self.seen_reports: list = []
        self.seen_books: set[str] = set()   # SHA-256 of each version of /books.zip read
        self.tables: dict[tuple, list] = {}  # (month, kind) -> [(table, listed categories)]

    def var(self, key: tuple) -> int:
        return self.index.setdefault(key, len(self.index))

    # the attacker's side knowledge: the timeline, and donations exactly
    def approve(self, req: Request) -> None:
        self.requests[req.code] = req
        self.var(("a", req.code))
        self.events.append((req.approved_on, "approve", req.code, 0))

    def pay(self, code: str, day: dt.date, n: int) -> None:
        self.var(("p", code, n))
        self.events.append((day, "pay", code, n))

    def cancel(self, code: str, day: dt.date) -> None:
        self.events.append((day, "cancel", code, 0))

    # expressions over the unknowns, as {index: coefficient} plus a known constant
    def _cancelled(self, code: str) -> dict[int, float]:
        expr = {self.index[("a", code)]: 1.0}
        for key, i in self.index.items():
            if key[0] == "p" and key[1] == code:
                expr[i] = -1.0
        return expr

    def aid(self, kind: str, *, month: str | None = None, until: dt.date | None = None,
            categories=None) -> dict[int, float]:
        """Approved / paid / cancelled in `month` (or up to `until`) as an expression."""
        expr: dict[int, float] = {}
        for day, what, code, n in self.events:
            if what != kind or (month and day.strftime("%Y-%m") != month) \
                    or (until and day > until):
                continue
            if categories is not None and self.requests[code].category not in categories:
                continue
            part = ({self.index[("a", code)]: 1.0} if kind == "approve" else
                    {self.index[("p", code, n)]: 1.0} if kind == "pay" else
                    self._cancelled(code))
            for i, c in part.items():
                expr[i] = expr.get(i, 0.0) + c
        return expr

    def aid_between(self, kind: str, first: dt.date, last: dt.date,
                    categories=None) -> dict[int, float]:
        """Approved / paid / cancelled from `first` to `last` (days included)."""
        expr: dict[int, float] = {}
        for day, what, code, n in self.events:
            if what != kind or not first <= day <= last:
                continue
            if categories is not None and self.requests[code].category not in categories:
                continue
            part = ({self.index[("a", code)]: 1.0} if kind == "approve" else
                    {self.index[("p", code, n)]: 1.0} if kind == "pay" else
                    self._cancelled(code))
            for i, c in part.items():
                expr[i] = expr.get(i, 0.0) + c
        return expr

    def cash_known(self, until: dt.date) -> float:
        return float(sum((v for d, _, v in self.known if d <= until), Decimal(0)))

    def cash(self, until: dt.date) -> tuple[dict[int, float], float]:
        return ({i: -c for i, c in self.aid("pay", until=until).items()},
                self.cash_known(until))

    def outstanding(self, until: dt.date) -> dict[int, float]:
        expr: dict[int, float] = {}
        for kind, sign in (("approve", 1), ("pay", -1), ("cancel", -1)):
            for i, c in self.aid(kind, until=until).items():
                expr[i] = expr.get(i, 0.0) + sign * c
        return expr

    def constrain(self, expr: dict[int, float], const: float, lo: float | None,
                  hi: float | None, why: str) -> None:
        """lo <= expr + const <= hi (None: unbounded)."""
        key = (tuple(sorted(expr.items())), const, lo, hi)
        if key in self.seen:
            return
        self.seen.add(key)
        self.rows.append((expr, -np.inf if lo is None else lo - const,
                          np.inf if hi is None else hi - const, why))

    def rounded(self, expr, value, why: str) -> None:
        self.constrain(expr, 0.0, float(Decimal(value) - self.half),
                       float(Decimal(value) + self.half), why)

    def exact(self, expr, const, value, why: str) -> None:
        v = float(Decimal(value))
        self.constrain(expr, const, v - 0.005, v + 0.005, why)

    # --- reading what is published --------------------------------------------------------

    def read_summary(self, data: dict, poll_day: dt.date) -> None:
        """One answer of /api/v1/summary: every figure in it, whatever its shape."""
        month = data["month"]
        end = min(poll_day, first_after(month) - dt.timedelta(days=1))
        live = data.get("live")
        if live:
            day = dt.date.fromisoformat(live["as_of"])
            band = live["available"]
            cash_expr, known = self.cash(day)
            expr = dict(cash_expr)
            for i, c in self.outstanding(day).items():
                expr[i] = expr.get(i, 0.0) - c
            self.constrain(expr, known, None if band["from"] is None else float(band["from"]),
                           None if band["to"] is None else float(band["to"]) - 0.005, "band")
        if data.get("outstanding") is not None:
            self.exact(self.outstanding(end), 0.0, data["outstanding"], "outstanding")
        if data.get("available") is not None:
            cash_expr, known = self.cash(end)
            expr = dict(cash_expr)
            for i, c in self.outstanding(end).items():
                expr[i] = expr.get(i, 0.0) - c
            self.exact(expr, known, data["available"], "available")
        if data.get("cash"):
            self.exact(*self.cash(end), data["cash"]["closing"], "cash")
        for account, pair in (data.get("balances") or {}).items():
            if account == BANK:   # every payment leaves from the bank in this fund
                self.exact(*self.cash(end), pair["closing"], "bank")
        for table, kind in (("aid_approved", "approve"), ("aid_paid", "pay")):
            if data.get(table):
                self.read_table(data[table], kind, month, until=poll_day)
        for period in data.get("periods") or ():   # publication periods, exact totals
            first = dt.date.fromisoformat(period["from"] + "-01")
            last = first_after(period["to"]) - dt.timedelta(days=1)
            self.exact(self.aid_between("pay", first, last), 0.0, period["aid_paid"],
                       "api period paid")
            approved = self.aid_between("approve", first, last)
            for i, c in self.aid_between("cancel", first, last).items():
                approved[i] = approved.get(i, 0.0) - c
            self.exact(approved, 0.0, period["aid_approved"], "api period approved")
            self.exact(*self.cash(last), period["cash"], "api period cash")
        cancelled = data.get("cancelled")
        if cancelled and cancelled.get("total") is not None:
            self.rounded(self.aid("cancel", month=month, until=poll_day), cancelled["total"],
                         "cancelled")

    def read_table(self, table: dict, kind: str, month: str,
                   until: dt.date | None = None) -> None:
        """A table of aid by category (as of `until`, if the month was not over): listed
        rows, the combined row, the total."""
        listed = set()
        for row in table["rows"]:
            cat = row["category"]
            if row["total"] is not None:
                listed.add(cat)
                self.rounded(self.aid(kind, month=month, until=until, categories={cat}),
                             row["total"], cat)
            elif row.get("note", "").startswith("fewer"):
                self.nonempty.append(f"{month} {kind} {cat}: the row says 'fewer than k'")
            elif row.get("recipients"):
                self.nonempty.append(f"{month} {kind} {cat}: a recipient count is shown")
        rest = set(CATEGORIES) - listed
        other = table.get("other")
        if other and other.get("total") is not None:
            self.rounded(self.aid(kind, month=month, until=until, categories=rest),
                         other["total"], "other")
        total = table.get("total")
        if total and total.get("total") is not None:
            self.rounded(self.aid(kind, month=month, until=until), total["total"], "total")
        if until is None or until >= first_after(month):   # the month's final figures
            self.tables.setdefault((month, kind), []).append((table, listed))

    def small_categories_shown(self) -> list[str]:
        """Each category that had 1..k-1 recipients in a month: can the published tables of
        that month prove it had any aid? An attacker who does not know the categories of
        the requests (or the proof would be trivial) solves for each category's total."""
        found = []
        cats = list(CATEGORIES)
        for (month, kind), versions in sorted(self.tables.items()):
            people: dict[str, set] = {}
            for day, what, code, _n in self.events:
                if what == kind and day.strftime("%Y-%m") == month:
                    req = self.requests[code]
                    people.setdefault(req.category, set()).add(req.member)
            small = [c for c, who in people.items() if 0 < len(who) < self.k]
            if not small:
                continue
            a_ub, b_ub = [], []

            def rounded(columns, value):
                row = np.array([1.0 if c in columns else 0.0 for c in cats])
                v = float(Decimal(value))
                a_ub.extend([row, -row])
                b_ub.extend([v + float(self.half), -(v - float(self.half))])

            for table, listed in versions:
                for row in table["rows"]:
                    if row["total"] is not None:
                        rounded({row["category"]}, row["total"])
                other = table.get("other")
                if other and other.get("total") is not None:
                    rounded(set(cats) - listed, other["total"])
                if table.get("total") and table["total"].get("total") is not None:
                    rounded(set(cats), table["total"]["total"])
            for c in small:
                goal = np.array([1.0 if x == c else 0.0 for x in cats])
                low = linprog(goal, A_ub=np.array(a_ub) if a_ub else None,
                              b_ub=np.array(b_ub) if b_ub else None,
                              bounds=[(0.0, None)] * len(cats), method="highs")
                assert low.status == 0, low.message
                if low.fun > 0.005:
                    found.append(f"{month} {kind} {c}: at least {low.fun:.2f}")
        return found

    def read_report(self, fig) -> None:
        """One version of a monthly report, as its template prints it."""
        month = fig.month
        end = first_after(month) - dt.timedelta(days=1)
        shown = getattr(fig, "balances_shown", None)   # None: the code before issue 15
        if shown is None or shown:
            self.exact(*self.cash(end), fig.closing_cash, "pdf cash")
        if shown is None:   # before issue 15 the PDF printed these too
            self.exact(self.outstanding(end), 0.0, fig.outstanding, "pdf outstanding")
            for a in fig.accounts:
                if a.account == BANK:
                    self.exact(*self.cash(end), a.closing, "pdf bank")
        for p in fig.trend:
            pend = first_after(p.month) - dt.timedelta(days=1)
            if p.cash is not None:
                self.exact(*self.cash(pend), p.cash, "pdf trend cash")
            if p.aid_paid is not None:
                self.exact(self.aid("pay", month=p.month), 0.0, p.aid_paid, "pdf trend paid")
        for table, kind in ((fig.aid_approved, "approve"), (fig.aid_paid, "pay")):
            rows = [{"category": c.label, "total": c.total, "recipients": c.recipients,
                     "note": "fewer than k" if c.hidden == "fewer" else ""}
                    for c in table.rows
                    if shown is None or (c.shown and c.requests)]  # what the PDF lists
            other = {"total": table.other.total} if table.other else None
            self.read_table({"rows": rows, "other": other,
                             "total": {"total": table.total.total}}, kind, month)
        if fig.cancelled.shown:
            self.rounded(self.aid("cancel", month=month), fig.cancelled.total, "pdf cancelled")

    def read_community_books(self, zipped: bytes, folder) -> bool:
        """One version of the community's books (`/books.zip`): every posting and balance
        of every publication period, as exact constraints. False if seen before."""
        import hashlib
        import io
        import zipfile

        from beancount import loader
        from beancount.core import data as bc

        digest = hashlib.sha256(zipped).hexdigest()
        if digest in self.seen_books:
            return False
        self.seen_books.add(digest)
        target = folder / digest[:12]
        with zipfile.ZipFile(io.BytesIO(zipped)) as zf:
            zf.extractall(target)
        entries, errors, _ = loader.load_file(str(target / "community-books" /
                                                  "main.beancount"))
        assert not errors, errors[:3]
        cats = set(CATEGORIES)
        for entry in entries:
            if isinstance(entry, bc.Balance):
                day = entry.date - dt.timedelta(days=1)   # at the end of the day before
                value = entry.amount.number
                if entry.account == "Assets:Fund:All":
                    self.exact(*self.cash(day), value, "books cash")
                elif entry.account == "Liabilities:Aid:Approved":
                    self.exact(self.outstanding(day), 0.0, -value, "books owed")
                continue
            if not isinstance(entry, bc.Transaction) or "period" not in entry.meta:
                continue
            key = entry.meta["period"]
            first = dt.date.fromisoformat(key[:7] + "-01")
            last = entry.date
            for posting in entry.postings:
                meta = posting.meta or {}
                number = posting.units.number
                if "categories" in meta:       # the combined group names its categories
                    group = {c.strip() for c in meta["categories"].split(",")}
                elif "paid" in meta:
                    group = {meta["paid"]}
                else:
                    group = {posting.account.rsplit(":", 1)[-1].lower()}
                if posting.account.startswith("Expenses:Aid:"):
                    assert group <= cats, group
                    expr = self.aid_between("approve", first, last, group)
                    for i, c in self.aid_between("cancel", first, last, group).items():
                        expr[i] = expr.get(i, 0.0) - c
                    self.exact(expr, 0.0, number, "books approved")
                elif posting.account == "Liabilities:Aid:Approved" and "paid" in meta:
                    assert group <= cats, group
                    self.exact(self.aid_between("pay", first, last, group), 0.0, number,
                               "books paid")
                elif posting.account == "Liabilities:Aid:Approved":
                    expr = self.aid_between("approve", first, last)
                    for i, c in self.aid_between("cancel", first, last).items():
                        expr[i] = expr.get(i, 0.0) - c
                    self.exact(expr, 0.0, -number, "books approved, all")
                elif posting.account == "Assets:Fund:All":
                    cash_end, known_end = self.cash(last)
                    cash_start, known_start = self.cash(first - dt.timedelta(days=1))
                    expr = dict(cash_end)
                    for i, c in cash_start.items():
                        expr[i] = expr.get(i, 0.0) - c
                    self.exact(expr, known_end - known_start, number, "books cash change")
        return True

    # --- solving ---------------------------------------------------------------------------

    def solve(self, members: dict[str, int]) -> list[tuple[float, str, float, float, float]]:
        """(width / true, what, true, min, max) for every request and recipient-month."""
        n = len(self.index)
        bounds = [(0.0, None)] * n
        a_eq, b_eq = [], []
        for code, req in self.requests.items():
            bounds[self.index[("a", code)]] = (0.0, float(CAP))
            paid = {i: 1.0 for key, i in self.index.items() if key[0] == "p" and key[1] == code}
            row = np.zeros(n)
            for i in paid:
                row[i] = 1.0
            row[self.index[("a", code)]] -= 1.0
            if req.cancelled_on is None and paid and sum(a for _, a in req.payments) == req.amount:
                a_eq.append(row)           # paid in full: the payments add up to the approval
                b_eq.append(0.0)
            else:
                self.rows.append(({i: c for i, c in enumerate(row) if c}, -np.inf, 0.0,
                                  "paid <= approved"))
        truth = np.zeros(n)
        for key, i in self.index.items():
            req = self.requests[key[1]]
            truth[i] = float(req.amount if key[0] == "a" else req.payments[key[2] - 1][1])
        for expr, lo, hi, why in self.rows:   # the attacker's reading is right about the truth
            value = sum(c * truth[i] for i, c in expr.items())
            assert lo - 0.01 <= value <= hi + 0.01, f"{why}: {lo} <= {value} <= {hi}"
        a_ub, b_ub = [], []
        for expr, lo, hi, _why in self.rows:
            row = np.zeros(n)
            for i, c in expr.items():
                row[i] += c
            if hi != np.inf:
                a_ub.append(row)
                b_ub.append(hi)
            if lo != -np.inf:
                a_ub.append(-row)
                b_ub.append(-lo)
        problem = dict(A_ub=np.array(a_ub), b_ub=np.array(b_ub),
                       A_eq=np.array(a_eq) if a_eq else None,
                       b_eq=np.array(b_eq) if b_eq else None, bounds=bounds, method="highs")
        targets = []
        for code, req in self.requests.items():
            targets.append((f"request {code} ({req.category}, approved)",
                            {self.index[("a", code)]: 1.0}, float(req.amount)))
        per: dict[tuple, dict[int, float]] = {}
        truth: dict[tuple, float] = {}
        for day, kind, code, n_ in self.events:
            if kind not in ("approve", "pay"):
                continue
            req = self.requests[code]
            key = (members[code], day.strftime("%Y-%m"), kind)
            i = self.index[("a", code)] if kind == "approve" else self.index[("p", code, n_)]
            per.setdefault(key, {})[i] = 1.0
            amount = req.amount if kind == "approve" else next(
                a for j, (_, a) in enumerate(req.payments, 1) if j == n_)
            truth[key] = truth.get(key, 0.0) + float(amount)
        for key, expr in per.items():
            targets.append((f"recipient {key[0]} in {key[1]}, {key[2]}", expr, truth[key]))
        out = []
        for what, expr, true in targets:
            c = np.zeros(n)
            for i, v in expr.items():
                c[i] = v
            low = linprog(c, **problem)
            high = linprog(-c, **problem)
            assert low.status == 0 and high.status == 0, (what, low.message, high.message)
            lo, hi = low.fun, -high.fun
            assert lo - 0.02 <= true <= hi + 0.02, f"the truth is outside {what}'s interval"
            if os.environ.get("AUDIT_DEBUG") and hi - lo < true:
                names = {i: k for k, i in self.index.items()}
                print("\n" + what, [names[i] for i in expr])
                for row, rlo, rhi, why in self.rows:
                    if any(row.get(i) for i in expr) and why != "band":
                        print("  ", why, rlo, rhi, {names[i]: c for i, c in row.items()})
            out.append(((hi - lo) / true, what, true, lo, hi))
        return sorted(out)


def add_months(first: dt.date, n: int) -> dt.date:
    """The first day of the month `n` months after `first`'s."""
    index = first.year * 12 + first.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def first_after(month: str) -> dt.date:
    year, mon = int(month[:4]), int(month[5:])
    return dt.date(year + (mon == 12), mon % 12 + 1, 1)


# --- the run -------------------------------------------------------------------------------


def test_an_attacker_reading_everything_pins_no_one(tmp_path, monkeypatch, capsys):
    from app.db import session_scope
    from app.workflow import donations, months, reports, requests
    from app.workflow import summary as summary_mod
    from app.workflow.people import add_person
    from reports.render import render_html

    fund = make_fund(tmp_path, "sqlite:///" + str(tmp_path / "audit.db"),
                     months_of_history=MONTHS)
    start = fund.start
    treasurer, second = fund.people["treasurer"], fund.people["treasurer2"]
    clock = {"day": start}
    monkeypatch.setattr(summary_mod, "today", lambda: clock["day"], raising=False)
    published: list = []

    def capture(figures, *, lang="en", paper="a4"):
        published.append(figures)                 # what the PDF is rendered from
        return render_html(figures, lang=lang, paper=paper).encode()  # (WeasyPrint: slow)

    monkeypatch.setattr(reports, "render_pdf", capture)
    attacker = Attacker(Decimal("5000.00"), 5, Decimal(10))
    attacker.known.append((start, BANK, Decimal("5000.00")))   # the opening balance
    client = fund.client()
    members, people, codes, donation_codes = {}, [], {}, []

    def poll(day: dt.date) -> None:
        data = client.get(f"/api/v1/summary?month={day.strftime('%Y-%m')}").get_json()
        attacker.read_summary(data, day)
        assert client.get("/").status_code == 200

    with fund.ctx():
        from app.workflow import policy as policy_mod

        with session_scope() as session:
            policy = policy_mod.current(session)
            policy.member_cap = Decimal("100000.00")    # a year of requests per member
            policy.second_approval_at = Decimal("1000.00")
        for i in range(MEMBERS):
            people.append(add_person(f"m{i}@example.org", ["member"], handle=f"m{i}",
                                     password="correct horse battery staple"))
        month_done = start.strftime("%Y-%m")
        published_months: list[str] = []
        for step in plan_year(start):
            day = step.day
            while day.strftime("%Y-%m") != month_done:    # a month ended: seal, publish
                clock["day"] = first_after(month_done)
                state = __import__("app.fund", fromlist=["books"]).books().state
                balances = {a: str(state.balance_at_end_of(a, month_done))
                            for a in state.cash_accounts()}
                months.seal(treasurer, month_done, {"balances": balances}, today=clock["day"])
                reports.publish(treasurer, month_done, today=clock["day"])
                published_months.append(month_done)
                if len(published_months) == 8:     # a correction of an earlier report
                    reports.publish(second, published_months[3], today=clock["day"],
                                    reason="Correction: a late bank statement line.")
                for fig in published[len(attacker.seen_reports):]:
                    attacker.read_report(fig)
                attacker.seen_reports = list(published)
                books_zip = client.get("/books.zip")   # the community's books, as downloaded
                assert books_zip.status_code == 200
                attacker.read_community_books(books_zip.data, tmp_path / "downloaded")
                for m in published_months:
                    attacker.read_summary(
                        client.get(f"/api/v1/summary?month={m}").get_json(), clock["day"])
                poll(clock["day"])
                month_done = clock["day"].strftime("%Y-%m")
            clock["day"] = day
            kind, data = step.kind, step.data
            if kind == "donation":
                amount, fee = data
                made = donations.record(treasurer, {
                    "amount": str(amount), "fee": str(fee) if fee else None, "account": BANK,
                    "date": day.isoformat(), "category": "individual",
                    "donor_consents_public": False}, today=day)
                donation_codes.append((made["code"], amount))
                attacker.known.append((day, BANK, amount - fee))
            elif kind == "refund":
                code, amount = donation_codes[-1]
                donations.refund(treasurer, code, {}, today=day)
                attacker.known.append((day, BANK, -amount))
            elif kind == "submit":
                i, m, member, category, amount = data
                made = requests.submit(people[member], {
                    "amount": str(amount), "category": category,
                    "needed_by": (day + dt.timedelta(days=30)).isoformat(),
                    "payout_method": "bank", "story": "Rent is due."}, today=day)
                codes[(i, m)] = made["code"]
                members[made["code"]] = member
                attacker.requests[made["code"]] = Request(made["code"], member, category,
                                                          amount, day)
            elif kind == "approve":
                code = codes[data]
                requests.approve(treasurer, code, {}, today=day)
                attacker.approve(attacker.requests[code])
            elif kind == "pay":
                i, m, part = data
                code = codes[(i, m)]
                req = attacker.requests[code]
                amount = part if part is not None else req.amount - sum(
                    a for _, a in req.payments)
                requests.pay(treasurer, code, {"amount": str(amount), "account": BANK,
                                               "date": day.isoformat()}, today=day)
                req.payments.append((day, amount))
                attacker.pay(code, day, len(req.payments))
            elif kind == "cancel":
                code = codes[data]
                requests.cancel(treasurer, code, {"reason": "No longer needed."}, today=day)
                attacker.requests[code].cancelled_on = day
                attacker.cancel(code, day)
            poll(day)
        results = attacker.solve(members)
        attacker.nonempty = sorted(set(attacker.nonempty + attacker.small_categories_shown()))
    close_fund(fund, tmp_path)

    narrow = [r for r in results if r[0] < 1.0]
    ratio, what, true, lo, hi = results[0]
    with capsys.disabled():
        print(f"\nadversarial audit: {len(attacker.requests)} requests, {len(attacker.rows)} "
              f"constraints from {len(published)} report versions, "
              f"{len(attacker.seen_books)} versions of the community's books and every poll; "
              f"narrowest interval: {what}: true {true:.2f}, "
              f"the attacker can say only {lo:.2f}..{hi:.2f} (width {ratio:.0%} of it); "
              f"intervals narrower than ±50%: {len(narrow)} of {len(results)}; "
              f"small categories shown non-empty: {len(attacker.nonempty)}")
    assert not narrow, [r[1:] for r in narrow[:10]]
    assert not attacker.nonempty, attacker.nonempty[:10]
