"""The public summary of a month: balances, donations, aid by category under the privacy
rules (reports.privacy), outstanding and available, and the seal."""

from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal

from sqlalchemy import bindparam
from sqlmodel import func, select

from flask import current_app

from app.db import engine, session_scope
from app.fund import aid_categories, books
from app.models import AidRequest, Donation, Payment
from app.workflow import policy as rules_mod
from app.workflow.errors import InvalidInput
from ledger.accounts import APPROVED
from ledger.seal import first_day_after
from ledger.state import month_of
from reports.privacy import Group, Row, Rules, protect

ZERO = Decimal("0.00")
# The last answer per month, in each process, kept while the books' state is the same
# object with the same number of entries and the privacy settings are the same. Every
# figure that comes from the database (donations, approvals, payments of the month) is
# committed there before its entry is appended to the books (docs/design.md §5), and the entry
# count is read before the database is: a database change this answer missed is followed
# by an append, which changes the key. A hand edit of the books reloads them into a new
# state object. Without it, every public read decrypted and summed the month's rows.
_CACHE = "carebooks.summary_cache"
_COMPUTING = "carebooks.summary_computing"


def money(value: Decimal) -> str:
    """An amount as the API writes it: a string with cents, "0.00"."""
    return str(value.quantize(ZERO))


def _row(row: Row | None) -> dict | None:
    if row is None:
        return None
    return {"category": row.label, "recipients": row.recipients,
            "total": None if row.total is None else str(row.total),
            "median": None if row.median is None else str(row.median),
            "note": row.note}


# Sums and counts from the database, grouped as the privacy rules need them (a
# recipient's requests of one amount are one row): a month of a thousand payments costs
# three small answers, not a thousand rows, on each change of the books. Built once:
# SQLAlchemy then reuses their compiled SQL without working out its cache key again.
_DONATIONS = select(func.count(), func.coalesce(func.sum(Donation.amount), ZERO),
                    func.coalesce(func.sum(Donation.fee), ZERO)).where(
    Donation.date >= bindparam("start"), Donation.date < bindparam("end"))
_APPROVED = (select(AidRequest.category, AidRequest.member_id, AidRequest.approved_amount,
                    func.count())
             .where(AidRequest.approved_at >= bindparam("from"),
                    AidRequest.approved_at < bindparam("to"))
             .group_by(AidRequest.category, AidRequest.member_id, AidRequest.approved_amount))
_PAID = (select(AidRequest.category, AidRequest.member_id, Payment.amount, func.count())
         .join(AidRequest, Payment.request_id == AidRequest.id)
         .where(Payment.date >= bindparam("start"), Payment.date < bindparam("end"))
         .group_by(AidRequest.category, AidRequest.member_id, Payment.amount))


def _order(row) -> tuple:
    """Grouped rows in one order whatever the database returns (categories the fund no
    longer lists come after its own, as before)."""
    category, member_id, amount, _times = row
    return (category, member_id, amount)


def summary(month: str | None = None) -> dict:
    """Figures for `month` (default: this month) that anyone may see."""
    month = month or month_of(dt.date.today())
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month) or not "1900" <= month[:4] <= "9998":
        raise InvalidInput(f"month: {month!r} is not a month YYYY-MM between 1900 and 9998",
                           field="month")
    start = dt.date.fromisoformat(month + "-01")
    end = first_day_after(month)
    state = books().state
    count = state.entry_count  # read before the database: see _CACHE
    prev = month_of(start - dt.timedelta(days=1))
    k, dominance_share, rounding_unit = rules_mod.privacy()
    rules = Rules(k=k, dominance=Decimal(dominance_share) / 100,
                  rounding=Decimal(rounding_unit))
    key = (month, count, k, dominance_share, rounding_unit)
    cache = current_app.extensions.setdefault(_CACHE, {})
    hit = cache.get(month)
    if hit is not None and hit[0] is state and hit[1] == key:
        return hit[2]
    # One thread of the process works it out; the others reading at that moment wait for
    # its answer rather than each reading the same rows again.
    with current_app.extensions.setdefault(_COMPUTING, threading.Lock()):
        hit = cache.get(month)
        if hit is not None and hit[0] is state and hit[1] == key:
            return hit[2]
        result = _compute(month, start, end, prev, state, rules, dominance_share,
                          rounding_unit)
        cache[month] = (state, key, result, _json(result))
    return result


def summary_json(month: str | None = None) -> bytes:
    """`summary(month)` as the API sends it (JSON text, made once per answer kept)."""
    result = summary(month)
    hit = current_app.extensions[_CACHE][result["month"]]
    return hit[3] if hit[2] is result else _json(result)  # replaced meanwhile: made anew


def _json(result: dict) -> bytes:
    return current_app.json.dumps(result).encode() + b"\n"  # as jsonify writes it


def _compute(month: str, start: dt.date, end: dt.date, prev: str, state, rules: Rules,
             dominance_share: int, rounding_unit: int) -> dict:
    """The figures of `month`, read afresh from the books' `state` and the database."""
    params = {"start": start, "end": end,
              "from": dt.datetime.combine(start, dt.time(), dt.UTC),
              "to": dt.datetime.combine(end, dt.time(), dt.UTC)}
    with engine().connect() as conn:  # three plain queries: no ORM session needed
        n_donations, gross, fees = conn.execute(_DONATIONS, params).one()
        approved = conn.execute(_APPROVED, params).all()
        payments = conn.execute(_PAID, params).all()
    categories = aid_categories()
    approved_groups = {c: Group(c) for c in categories}
    for category, member_id, amount, times in sorted(approved, key=_order):
        approved_groups.setdefault(category, Group(category)).add(member_id, amount, times)
    paid_groups = {c: Group(c) for c in categories}
    for category, member_id, amount, times in sorted(payments, key=_order):
        paid_groups.setdefault(category, Group(category)).add(member_id, amount, times)

    def table(groups: dict[str, Group]) -> dict:
        rows, merged, total = protect(list(groups.values()), rules)
        return {"rows": [_row(r) for r in rows], "other": _row(merged), "total": _row(total)}

    cash = state.cash_accounts()
    committed = -state.balance_at_end_of(APPROVED, month)  # as at the end of the month
    cash_total = sum((state.balance_at_end_of(a, month) for a in cash), ZERO)
    seal = next((s for s in state.seals if s.month == month), None)
    return {
        "month": month,
        "currency": state.currency,
        "balances": {a: {"opening": money(state.balance_at_end_of(a, prev)),
                         "closing": money(state.balance_at_end_of(a, month))} for a in cash},
        "donations": {"count": n_donations, "total": money(Decimal(gross)),
                      "fees": money(Decimal(fees))},
        "aid_approved": table(approved_groups),
        "aid_paid": table(paid_groups),
        "outstanding": money(committed),
        "available": money(cash_total - committed),
        "sealed": seal is not None,
        "seal_hash": seal.seal_hash if seal else None,
        "privacy": {"k": rules.k, "dominance_share": dominance_share,
                    "rounding_unit": rounding_unit},
    }


def dashboard(today: dt.date | None = None) -> dict:
    """The treasurer's dashboard: cash, committed, available, this month in and out, and
    how many requests wait on a decision or a payment."""
    today = today or dt.date.today()
    month = month_of(today)
    state = books().state
    start = dt.date.fromisoformat(month + "-01")
    with session_scope() as session:
        waiting = session.exec(select(AidRequest).where(
            AidRequest.status.in_(["submitted", "needs_info", "approved",
                                   "partially_paid"]))).all()
        donations = session.exec(select(Donation).where(Donation.date >= start)).all()
        payments = session.exec(select(Payment).where(Payment.date >= start)).all()
    return {
        "month": month, "currency": state.currency,
        "cash": state.cash(), "committed": state.committed(), "available": state.available(),
        "accounts": [(a, state.balance(a)) for a in state.cash_accounts()],
        "in": sum((d.amount - d.fee for d in donations), ZERO),
        "out": sum((p.amount for p in payments), ZERO),
        "to_decide": sum(r.status == "submitted" for r in waiting),
        "to_answer": sum(r.status == "needs_info" for r in waiting),
        "to_pay": sum(r.status in ("approved", "partially_paid") for r in waiting),
        "sealed_through": state.sealed_through,
    }
