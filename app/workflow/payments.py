"""Paying as treasurers pay: from the account that matches how the member asked to be paid,
with the balances in sight, and several approved requests at once from one account.

`pay_many` is one action: one entry per request, in one money step, each checked against
the books after the ones before it, so that either every request is paid or none is. A
`batch` name (the page sends one with each form; the API may) makes it idempotent: sent
again, it answers what it did the first time and pays nothing twice.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from decimal import Decimal

from flask_babel import gettext as _
from sqlmodel import select

from app.db import session_scope
from app.fund import books
from app.models import AidRequest, Payment, Person, Role, Status
from app.workflow import audit, inputs, replies
from app.workflow.errors import (BooksRefused, Conflict, Forbidden, InvalidInput,
                                 WorkflowError)
from app.workflow.outbox import books_turn, money_step
from app.workflow.requests import BATCH_MAX, BATCH_SIZE, _find, _payment_text, pay_in
from ledger import EntryRefused
from ledger.accounts import payout_account
from ledger.state import BooksState
from ledger.validate import check_entry, round_trip

_BATCH = re.compile(r"[A-Za-z0-9_-]{8,%d}" % BATCH_MAX)


def new_batch() -> str:
    """A fresh name for one pay-several action (the page puts it in its form)."""
    return "b-" + secrets.token_urlsafe(18)


def balances() -> list[tuple[str, Decimal]]:
    """Each open cash account and what it holds now."""
    state = books().state
    return [(a, state.balance(a)) for a in state.cash_accounts()]


def default_account(method: str) -> str | None:
    """The cash account a payment by `method` is made from, if the fund has one."""
    return payout_account(method, books().state.cash_accounts())


def payable(actor: Person) -> list[dict]:
    """The approved requests `actor` may pay now: code, category, method, what is left,
    and the account that matches the method (soonest needed first)."""
    if not actor.has(Role.treasurer):
        raise Forbidden(_("only a treasurer may do this"))
    cash = books().state.cash_accounts()
    with session_scope() as session:
        rows = session.exec(select(AidRequest).where(
            AidRequest.status.in_([Status.approved.value, Status.partially_paid.value]))
            .order_by(AidRequest.needed_by, AidRequest.id)).all()
        return [{"code": r.code, "category": r.category, "payout_method": r.payout_method,
                 "needed_by": r.needed_by.isoformat(),
                 "outstanding": r.approved_amount - r.paid_amount,
                 "account": payout_account(r.payout_method, cash),
                 "own": r.member_id == actor.id} for r in rows]


def _items(raw) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(_('payments: required, a list like [{"code": "R-2026-0042"}, ...]'),
                           field="payments")
    if len(raw) > BATCH_SIZE:
        raise InvalidInput(_("payments: %(n)s requests; at most %(most)s in one action",
                             n=len(raw), most=BATCH_SIZE), field="payments")
    cur = books().currency
    seen: set[str] = set()
    items = []
    for i, item in enumerate(raw):
        where = f"payments[{i}]"
        if isinstance(item, str):
            item = {"code": item}
        if not isinstance(item, dict):
            raise InvalidInput(_('%(where)s: an object like {"code": "R-2026-0042"}',
                                 where=where), field="payments")
        unknown = sorted(set(item) - {"code", "amount", "reference", "note"})
        if unknown:
            raise InvalidInput(_("%(where)s.%(key)s: not a field here; the fields are code, "
                                 "amount, reference, note", where=where, key=unknown[0]),
                               field="payments")
        code = item.get("code")
        if not isinstance(code, str) or not code:
            raise InvalidInput(_("%(where)s.code: required, a request code like R-2026-0042",
                                 where=where), field="payments")
        if code in seen:
            raise InvalidInput(_("%(where)s.code: %(code)s is listed twice", where=where,
                                 code=code), field="payments")
        seen.add(code)
        amount = (inputs.amount(item["amount"], cur, f"{where}.amount")
                  if item.get("amount") not in (None, "") else None)
        reference, note = _payment_text(item, f"{where}.")
        items.append({"code": code, "amount": amount, "reference": reference, "note": note})
    return items


def pay_many(actor: Person, body: dict, *, today: dt.date | None = None) -> dict:
    """Pay several approved requests from one account in one action: each its outstanding
    amount (or the amount given), one entry each, all or nothing."""
    today = today or dt.date.today()
    if not actor.has(Role.treasurer):
        raise Forbidden(_("only a treasurer may do this"))
    account = inputs.choice(body.get("account"), books().state.cash_accounts(), "account")
    date = inputs.date(body.get("date"), "date", default=today)
    if date > today:
        raise InvalidInput(_("date: %(date)s is in the future", date=date), field="date")
    batch = body.get("batch")
    if batch is not None and (not isinstance(batch, str) or not _BATCH.fullmatch(batch)):
        raise InvalidInput(_("batch: 8 to %(most)s letters, digits, - or _", most=BATCH_MAX),
                           field="batch")
    items = _items(body.get("payments"))
    shared_ref, shared_note = _payment_text(body)
    if batch is not None:
        done = _done(batch)
        if done is not None:
            return _replay(done, items, account, batch)
    batch = batch or new_batch()
    with money_step() as session:
        written = []
        paid = []
        # rows are locked in code order: two actions over the same requests cannot deadlock
        for item in sorted(items, key=lambda i: i["code"]):
            try:
                req = _find(session, item["code"], actor, lock=True)  # locked, then read
                amount = item["amount"]
                if amount is None and req.approved_amount is not None:
                    amount = req.approved_amount - req.paid_amount
                if amount is None or amount <= 0:
                    amount = Decimal("0.01")  # pay_in refuses it, saying why
                req, entry, _payments = pay_in(
                    session, actor, item["code"], amount, account, date,
                    reference=item["reference"] or shared_ref,
                    note=item["note"] or shared_note, batch=batch)
            except WorkflowError as exc:  # say which request, and that none was paid
                exc.message = _("%(code)s: %(reason)s; nothing was paid", code=item["code"],
                                reason=exc.message)
                exc.args = (exc.message,)
                raise
            written.append(entry)
            paid.append({"code": req.code, "amount": str(amount), "status": req.status})
        order = {i["code"]: n for n, i in enumerate(items)}
        paid.sort(key=lambda p: order[p["code"]])
        total = sum((Decimal(p["amount"]) for p in paid), Decimal("0.00"))
        audit.record(session, actor.id, "payments.batch", batch, account=account,
                     count=len(paid), total=str(total))
        result = {"batch": batch, "account": account, "date": date.isoformat(),
                  "paid": paid, "total": str(total)}
        replies.answer(session, result)
        state = books_turn(session).copy()  # each entry checked after those before it
        for entry in written:
            _check_in(state, entry, today)
    return result


def _check_in(state: BooksState, entry, today: dt.date) -> None:
    try:
        check_entry(state, entry, today)
        round_trip(entry)
    except EntryRefused as exc:
        code = entry.meta.get("carebooks-id", "").split(":")[1]  # pay:R-2026-0042:1
        raise BooksRefused(_("%(code)s: %(reason)s; nothing was paid",
                             code=code, reason=exc.message),
                           code=exc.rule.replace("-", "_"), field="account") from exc
    state.apply(entry)


def _done(batch: str) -> list[tuple[str, Payment]] | None:
    with session_scope() as session:
        rows = session.exec(select(AidRequest.code, Payment).join(
            AidRequest, AidRequest.id == Payment.request_id).where(Payment.batch == batch)
            .order_by(Payment.id)).all()
        return [(code, p) for code, p in rows] or None


def _replay(done: list[tuple[str, Payment]], items: list[dict], account: str,
            batch: str) -> dict:
    """The answer of a batch already paid, if this is the same action sent again."""
    codes = {code for code, _p in done}
    if codes != {i["code"] for i in items} or any(p.account != account for _c, p in done):
        raise Conflict(_("batch: %(batch)s already paid other requests or from another "
                         "account; nothing was paid", batch=batch), field="batch",
                       code="batch_reused")
    with session_scope() as session:
        status = dict(session.exec(select(AidRequest.code, AidRequest.status).where(
            AidRequest.code.in_(codes))).all())
    order = {i["code"]: n for n, i in enumerate(items)}
    paid = sorted(({"code": c, "amount": str(p.amount), "status": status[c]}
                   for c, p in done), key=lambda p: order[p["code"]])
    return {"batch": batch, "account": account, "date": done[0][1].date.isoformat(),
            "paid": paid, "total": str(sum((p.amount for _c, p in done), Decimal("0.00")))}

