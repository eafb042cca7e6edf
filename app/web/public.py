"""What the community sees without signing in: balances, the month, the last 12 months,
aid by category under the privacy rules, and the public books to download."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from flask import Blueprint, render_template, send_file

from app.fund import books
from app.workflow import attest, summary
from ledger import BooksInvalid
from ledger.seal import next_month
from ledger.state import month_of

bp = Blueprint("public", __name__)


ZERO = Decimal("0.00")


def _month_total(state, prefix: str, month: str) -> Decimal:
    """What accounts under `prefix` moved in `month`."""
    return sum((per.get(month, ZERO) for a, per in state.monthly.items()
                if a.startswith(prefix)), ZERO)


def _last_months(n: int, today: dt.date) -> list[str]:
    month = month_of(today)
    out = [month]
    for _ in range(n - 1):
        year, mon = int(out[-1][:4]), int(out[-1][5:])
        out.append(f"{year - (mon == 1):04d}-{(mon - 2) % 12 + 1:02d}")
    return list(reversed(out))


@bp.get("/")
def transparency():
    """The transparency page."""
    try:
        state = books().state
    except BooksInvalid as exc:
        return render_template("books_error.html", error=exc), 503
    today = dt.date.today()
    trend = [{"month": m,
              "cash": sum((state.balance_at_end_of(a, m) for a in state.cash_accounts()),
                          ZERO),
              "donations": -_month_total(state, "Income:Donations:", m),
              "aid": _month_total(state, "Expenses:Aid:", m)}
             for m in _last_months(12, today)]
    peak = max([r[k] for r in trend for k in ("donations", "aid")] + [Decimal(1)])
    return render_template("public/transparency.html", state=state,
                           month=summary.summary(month_of(today)), trend=trend, peak=peak,
                           verification=books().verify(), next_month=next_month,
                           attested=attest.attested())


@bp.get("/books.zip")
def download_books():
    """The community's books (never the fund's own: docs/privacy.md)."""
    from app.workflow import community

    return send_file(io.BytesIO(community.zipped()), mimetype="application/zip",
                     as_attachment=True,
                     download_name=f"community-books-{dt.date.today().isoformat()}.zip")


@bp.get("/reports")
def report_archive():
    """Every published monthly report, every version, with its SHA-256."""
    from app.workflow import reports

    return render_template("public/reports.html", items=reports.archive())


@bp.get("/reports/<filename>")
def report_file(filename: str):
    """One published report, exactly as published (checked against its SHA-256)."""
    from app.workflow import reports

    return send_file(reports.published_file(filename), mimetype="application/pdf",
                     download_name=filename)
