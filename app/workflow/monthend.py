"""Month end in one pass: which month waits to be closed and what is left before it can be
sealed (statement balances not typed yet, accounts not reconciled with a statement file or
with lines left over, approvals not yet paid), the statement balances typed so far, and
the check that refuses a blank balance before anything is sealed.

What is kept (`MonthClose`) is numbers only: a statement balance per account, and how many
lines the last reconciliation left on each side. The statement file itself is never kept.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import gettext as _
from sqlmodel import select

from app.db import session_scope
from app.fund import books
from app.models import AidRequest, MonthClose, Person, Status, utcnow
from app.workflow import inputs, months
from app.workflow.errors import InvalidInput


def _rows(session, month: str) -> dict[str, MonthClose]:
    return {r.account: r for r in session.exec(
        select(MonthClose).where(MonthClose.month == month)).all()}


def _row(session, month: str, account: str, actor: Person) -> MonthClose:
    row = session.exec(select(MonthClose).where(MonthClose.month == month,
                                                MonthClose.account == account)).first()
    if row is None:
        row = MonthClose(month=month, account=account, updated_by=actor.id)
        session.add(row)
    row.updated_by, row.updated_at = actor.id, utcnow()
    return row


def saved_statements(month: str) -> dict[str, str]:
    """The statement balances typed for `month` so far, as the form shows them."""
    with session_scope() as session:
        return {a: str(r.statement) for a, r in _rows(session, month).items()
                if r.statement is not None}


def save_statements(actor: Person, month: str, entered: dict[str, str]) -> None:
    """Keep the statement balances typed for `month` (a valid amount; blank clears it), so
    that the dashboard knows which are still missing. Nothing goes to the books."""
    cur = books().currency
    accounts = set(books().state.cash_accounts())
    with session_scope() as session:
        for account, raw in entered.items():
            if account not in accounts:
                continue
            try:
                value = (inputs.amount(raw, cur, account, allow_zero=True)
                         if raw not in (None, "") else None)
            except InvalidInput:
                continue  # shown with its reason on the page; the last good one stays
            _row(session, month, account, actor).statement = value


def record_reconciliation(actor: Person, result: dict) -> None:
    """Keep the counts of a reconciliation (app/workflow/reconcile.py) of an open month."""
    state = books().state
    if state.sealed_through and result["month"] <= state.sealed_through:
        return
    with session_scope() as session:
        row = _row(session, result["month"], result["account"], actor)
        row.lines_only = len(result["lines_only"])
        row.entries_only = len(result["entries_only"])
        row.unreadable = len(result["errors"])
        row.reconciled_at = utcnow()


def balances_for_seal(preview: dict, entered: dict[str, str],
                      label=lambda account: account) -> tuple[dict, list]:
    """The statement balance of every account the close page shows, or, for each one left
    blank or not an amount, (index on the page, account, sentence naming it by `label`:
    the page passes the account's name in words). A blank is
    never read as 0.00 for an account that moved or holds money: its statement says a
    balance, and so must the form. An account with no activity that holds nothing (shown
    as such) may stay blank."""
    cur = books().currency
    balances, errors = {}, []
    for i, row in enumerate(preview["accounts"], start=1):
        account = row["account"]
        raw = (entered.get(account) or "").strip()
        if not raw and not row["needed"]:
            balances[account] = "0.00"  # no activity and nothing in it: nothing to type
            continue
        if not raw:
            errors.append((i, account, _(
                "Statement balance for %(account)s: required; type the balance the "
                "statement shows on %(date)s (0.00 if the account was empty)",
                account=label(account), date=preview["ends"].isoformat())))
            continue
        try:
            balances[account] = str(inputs.amount(raw, cur, account, allow_zero=True))
        except InvalidInput as exc:
            errors.append((i, account, _("Statement balance for %(account)s: %(reason)s",
                                         account=label(account),
                                         reason=exc.message.split(": ", 1)[-1])))
    return balances, errors


def waiting(today: dt.date | None = None) -> dict:
    """The month waiting to be closed and what is left before it can be sealed."""
    preview = months.close_preview(today=today)
    month = preview["month"]
    with session_scope() as session:
        kept = _rows(session, month)
        unpaid = len(session.exec(select(AidRequest.id).where(AidRequest.status.in_(
            [Status.approved.value, Status.partially_paid.value]))).all())
    accounts = []
    for row in preview["accounts"]:
        k = kept.get(row["account"])
        statement = k.statement if k else None
        reconciled = None if not k or k.reconciled_at is None else (
            k.lines_only == 0 and k.entries_only == 0 and k.unreadable == 0)
        accounts.append({
            "account": row["account"], "needed": row["needed"], "books": row["books"],
            "statement": statement,
            "difference": None if statement is None else statement - row["books"],
            "reconciled": reconciled,
            "lines_left": (k.lines_only or 0) + (k.entries_only or 0) if k else 0})
    missing = [a["account"] for a in accounts if a["statement"] is None]
    unreconciled = [a for a in accounts if a["needed"] and not a["reconciled"]]
    return {"month": month, "over": preview["over"], "ends": preview["ends"],
            "accounts": accounts, "missing_statements": missing,
            "unreconciled": unreconciled,
            "lines_left": sum(a["lines_left"] for a in accounts),
            "unpaid_approvals": unpaid,
            "ready": preview["over"] and not missing and not any(
                a["difference"] not in (None, Decimal(0)) for a in accounts)}
