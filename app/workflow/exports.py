"""Exports the people around a fund ask for: CSV files of requests, donations and payments
for a date range, and a year-end statement for a donor who gave their name and consent.

The CSV files hold codes, dates, categories, amounts and statuses — never a name, a story,
a note, a payment's reference or a handle — so that treasurers, admins and auditors (who
read no personal text, docs/privacy.md) may all take them. The donor statement does hold
the donor's name: only treasurers and admins make one, and only for donations whose donor
agreed to be named (a name is kept only then).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from decimal import Decimal

from flask_babel import gettext as _
from sqlmodel import select

from reports.languages import LANGUAGES

from app.db import session_scope
from app.fund import books
from app.models import AidRequest, Donation, Payment, Person, Role
from app.workflow import inputs
from app.workflow.errors import Forbidden, InvalidInput, NotFound, PolicyRefused

KINDS = ("requests", "donations", "payments")
READERS = (Role.treasurer, Role.admin, Role.auditor)
MAX_DAYS = 3700  # about ten years in one file

COLUMNS = {
    "requests": ["code", "created_on", "needed_by", "category", "amount", "approved_amount",
                 "paid_amount", "status", "payout_method", "currency"],
    "donations": ["code", "date", "category", "account", "amount", "fee", "refunded",
                  "named", "currency"],
    "payments": ["request", "seq", "date", "category", "account", "payout_method", "amount",
                 "currency"],
}


def _reader(actor: Person) -> None:
    if not any(actor.has(r) for r in READERS):
        raise Forbidden(_("only treasurers, admins and auditors may export the fund's "
                          "figures"))


def date_range(start, end, *, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """`from` and `to` (both included); by default the year so far."""
    today = today or dt.date.today()
    first = inputs.date(start, "from", default=dt.date(today.year, 1, 1))
    last = inputs.date(end, "to", default=today)
    if last < first:
        raise InvalidInput(_("to: %(to)s is before from (%(from_)s)", to=last.isoformat(),
                             from_=first.isoformat()), field="to")
    if (last - first).days > MAX_DAYS:
        raise InvalidInput(_("to: at most %(days)s days in one file", days=MAX_DAYS),
                           field="to")
    return first, last


def _cell(value) -> str:
    """A value as the CSV holds it; text that a spreadsheet would run as a formula is
    quoted with an apostrophe (OWASP, "CSV injection")."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r" and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def csv_export(actor: Person, kind: str, start=None, end=None) -> tuple[str, str]:
    """(file name, CSV text) of `kind` between `start` and `end`."""
    _reader(actor)
    kind = inputs.choice(kind, KINDS, "kind")
    first, last = date_range(start, end)
    rows = {"requests": _requests, "donations": _donations, "payments": _payments}[kind](
        first, last, books().currency)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS[kind])
    for row in rows:
        writer.writerow([_cell(row[c]) for c in COLUMNS[kind]])
    return f"{kind}-{first.isoformat()}-to-{last.isoformat()}.csv", out.getvalue()


def _requests(first: dt.date, last: dt.date, cur: str) -> list[dict]:
    start = dt.datetime.combine(first, dt.time.min, dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, dt.UTC)
    with session_scope() as session:
        rows = session.exec(select(AidRequest).where(
            AidRequest.created_at >= start, AidRequest.created_at < end)
            .order_by(AidRequest.created_at, AidRequest.id)).all()
        return [{"code": r.code, "created_on": r.created_at.date().isoformat(),
                 "needed_by": r.needed_by.isoformat(), "category": r.category,
                 "amount": r.amount, "approved_amount": r.approved_amount,
                 "paid_amount": r.paid_amount, "status": r.status,
                 "payout_method": r.payout_method, "currency": cur} for r in rows]


def _donations(first: dt.date, last: dt.date, cur: str) -> list[dict]:
    with session_scope() as session:
        rows = session.exec(select(Donation).where(Donation.date >= first,
                                                   Donation.date <= last)
                            .order_by(Donation.date, Donation.id)).all()
        return [{"code": d.code, "date": d.date.isoformat(), "category": d.category,
                 "account": d.account, "amount": d.amount, "fee": d.fee,
                 "refunded": d.refunded, "named": "yes" if d.donor_consents_public else "no",
                 "currency": cur} for d in rows]


def _payments(first: dt.date, last: dt.date, cur: str) -> list[dict]:
    with session_scope() as session:
        rows = session.exec(select(Payment, AidRequest.code, AidRequest.category,
                                   AidRequest.payout_method)
                            .join(AidRequest, AidRequest.id == Payment.request_id)
                            .where(Payment.date >= first, Payment.date <= last)
                            .order_by(Payment.date, Payment.id)).all()
        return [{"request": code, "seq": p.seq, "date": p.date.isoformat(),
                 "category": category, "account": p.account, "payout_method": method,
                 "amount": p.amount, "currency": cur}
                for p, code, category, method in rows]


# --- a donor's year-end statement ----------------------------------------------------------

def _same_name(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", s).casefold().split())
    return norm(a) == norm(b)


def donor_statement(actor: Person, name, year, *, lang: str = "en",
                    paper: str | None = None, today: dt.date | None = None) -> tuple[str, bytes]:
    """(file name, PDF) of the donations a named donor made in `year`, with their total."""
    from app.workflow.reports import PAPERS, default_paper
    from reports.statement import DonorStatement, StatementLine, render_statement_pdf

    if not (actor.has(Role.treasurer) or actor.has(Role.admin)):
        raise Forbidden(_("only treasurers and admins may make a donor's statement"))
    today = today or dt.date.today()
    name = inputs.text(name, "donor_name", max_len=60)
    try:
        year = int(str(year).strip())
    except ValueError:
        raise InvalidInput(_("year: %(value)s is not a year like 2026",
                             value=repr(str(year)[:10])), field="year") from None
    if not 2000 <= year <= today.year:
        raise InvalidInput(_("year: %(year)s is not between 2000 and %(now)s", year=year,
                             now=today.year), field="year")
    lang = inputs.choice(lang, tuple(LANGUAGES), "lang")
    paper = inputs.choice(paper or default_paper(), PAPERS, "paper")
    with session_scope() as session:
        rows = session.exec(select(Donation).where(
            Donation.date >= dt.date(year, 1, 1), Donation.date <= dt.date(year, 12, 31),
            Donation.donor_name.is_not(None)).order_by(Donation.date, Donation.id)).all()
        if any(getattr(d.donor_name, "locked", False) for d in rows):
            raise PolicyRefused(_("donor_name: the fund is locked; treasurers must unlock it "
                                  "before a donor's name can be read"), field="donor_name",
                                code="locked")
        mine = [d for d in rows if d.donor_consents_public and _same_name(d.donor_name, name)]
        if not mine:
            raise NotFound(_("donor_name: no donation in %(year)s from a donor named "
                             "%(name)s who agreed to be named", year=year, name=name))
        shown = mine[0].donor_name
        lines = [StatementLine(code=d.code, date=d.date, category=d.category,
                               amount=d.amount, refunded=d.refunded) for d in mine]
    statement = DonorStatement(fund=books().title, donor=shown, year=year,
                               currency=books().currency, lines=lines, issued=today)
    pdf = render_statement_pdf(statement, lang=lang, paper=paper)
    return f"donations-{year}-{lang}.pdf", pdf
