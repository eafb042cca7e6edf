"""The fund's other money movements: transfers between its own cash accounts (with an
optional fee), running costs, and aid payments that came back.

Each is one entry in the books, written through the outbox like an approval or a
payment (`money_step`, docs/design.md §5), answered with `replies.answer` in the same
transaction (so an Idempotency-Key replays it), and done by treasurers only. Nothing a
person typed reaches the books: a transfer's words are its two account leaves, a cost's
its kind, a returned payment's the request's category.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import text as sql
from sqlmodel import Session

from app.fund import books
from app.models import Person, Role, Status
from app.workflow import audit, inputs, notify, replies
from app.workflow.errors import Forbidden, InvalidInput, PolicyRefused
from app.workflow.outbox import books_turn, check_entry, enqueue, money_step
from app.workflow.requests import _PAYMENTS, _find, next_code, view
from app.workflow.states import Action, authorize, transition
from ledger import entries as E
from ledger.accounts import OPERATIONS_ROOT, category_of
from ledger.money import fmt


def _require_treasurer(actor: Person) -> None:
    if not actor.has(Role.treasurer):
        raise Forbidden(_("only a treasurer may do this"))


def _date(body: dict, today: dt.date) -> dt.date:
    date = inputs.date(body.get("date"), "date", default=today)
    if date > today:
        raise InvalidInput(_("date: %(date)s is in the future", date=date), field="date")
    return date


def cost_kinds() -> list[str]:
    """The kinds of running cost: the leaves of the fund's open Expenses:Operations
    accounts (`fees`, `other`)."""
    state = books().state
    return sorted(category_of(a) for a in state.opens
                  if a.startswith(OPERATIONS_ROOT + ":") and a not in state.closes)


def transfer(actor: Person, body: dict, *, today: dt.date | None = None) -> dict:
    """Move money between two of the fund's cash accounts; `amount` is what left
    `from_account`, `fee` (optional) the part of it that did not arrive."""
    _require_treasurer(actor)
    today = today or dt.date.today()
    cur = books().currency
    cash = books().state.cash_accounts()
    amount = inputs.amount(body.get("amount"), cur)
    fee = inputs.amount(body.get("fee"), cur, "fee", allow_zero=True) \
        if body.get("fee") not in (None, "") else None
    if fee is not None and fee >= amount:
        raise InvalidInput(_("fee: %(fee)s must be less than the amount %(amount)s",
                             fee=fmt(fee, cur), amount=fmt(amount, cur)), field="fee")
    source = inputs.choice(body.get("from_account"), cash, "from_account")
    target = inputs.choice(body.get("to_account"), cash, "to_account")
    if source == target:
        raise InvalidInput(_("to_account: must differ from from_account"), field="to_account")
    date = _date(body, today)
    with money_step() as session:
        code = next_code(session, "T", date.year)
        entry = E.transfer(code, date, source, target, amount, cur, fee=fee)
        enqueue(session, entry)
        audit.record(session, actor.id, "transfer.recorded", code, amount=str(amount),
                     fee=str(fee or 0), from_account=source, to_account=target)
        result = {"code": code, "date": date.isoformat(), "from_account": source,
                  "to_account": target, "amount": str(amount),
                  "fee": str(fee or Decimal("0.00")),
                  "arrived": str(amount - (fee or 0))}
        replies.answer(session, result)
        books_turn(session)
        check_entry(entry)
    return result


def cost(actor: Person, body: dict, *, today: dt.date | None = None) -> dict:
    """Pay a running cost of the fund (`kind`: fees or other) from a cash account."""
    _require_treasurer(actor)
    today = today or dt.date.today()
    cur = books().currency
    amount = inputs.amount(body.get("amount"), cur)
    account = inputs.choice(body.get("account"), books().state.cash_accounts(), "account")
    kind = inputs.choice(body.get("kind") or "other", cost_kinds(), "kind")
    date = _date(body, today)
    with money_step() as session:
        code = next_code(session, "C", date.year)
        entry = E.operating_cost(code, date, kind, account, amount, cur)
        enqueue(session, entry)
        audit.record(session, actor.id, "cost.recorded", code, amount=str(amount),
                     account=account, kind=kind)
        result = {"code": code, "date": date.isoformat(), "kind": kind, "account": account,
                  "amount": str(amount)}
        replies.answer(session, result)
        books_turn(session)
        check_entry(entry)
    return result


def _next_return(session: Session, code: str) -> int:
    """The next sequence number of a request's returned payments (atomic, as codes are)."""
    return session.execute(sql(
        "INSERT INTO counter (name, value) VALUES (:n, 1) ON CONFLICT (name) "
        "DO UPDATE SET value = counter.value + 1 RETURNING value"),
        {"n": f"ret{code[1:]}"}).scalar_one()  # the counter's name holds 16 characters


def return_payment(actor: Person, code: str, body: dict | None = None, *,
                   today: dt.date | None = None) -> dict:
    """Record that a payment of request `code` came back (it bounced): `amount` (default:
    everything paid) is in `account` (default: the account of the last payment) again,
    and owed to the request again — pay it anew, or cancel the approval."""
    _require_treasurer(actor)
    body = body or {}
    today = today or dt.date.today()
    cur = books().currency
    cash = books().state.cash_accounts()
    raw = body.get("amount")
    amount = inputs.amount(raw, cur) if raw not in (None, "") else None
    account = inputs.choice(body.get("account"), cash, "account") \
        if body.get("account") not in (None, "") else None
    date = _date(body, today)
    with money_step() as session:
        req = _find(session, code, actor, lock=True)
        authorize(req, Action.return_payment, actor)
        payments = list(session.exec(_PAYMENTS, params={"rid": req.id}).all())
        if amount is None:
            amount = req.paid_amount
        if amount > req.paid_amount:
            raise PolicyRefused(_("returned: %(amount)s is more than the %(paid)s paid on "
                                  "%(code)s", amount=fmt(amount, cur),
                                  paid=fmt(req.paid_amount, cur), code=code),
                                code="exceeds_paid", field="amount")
        if account is None:
            account = payments[-1].account if payments else cash[0]
        first_paid = min((p.date for p in payments), default=None)
        if first_paid is not None and date < first_paid:
            raise InvalidInput(_("date: a payment cannot come back on %(date)s, before it "
                                 "was made (%(paid)s)", date=date.isoformat(),
                                 paid=first_paid.isoformat()), field="date")
        seq = _next_return(session, code)
        entry = E.payment_returned(code, seq, date, req.category, account, amount, cur)
        req.paid_amount -= amount
        transition(req, Action.return_payment, actor,
                   Status.approved if req.paid_amount == 0 else Status.partially_paid)
        enqueue(session, entry)
        audit.record(session, actor.id, "request.payment_returned", code,
                     amount=str(amount), account=account, seq=seq, status_to=req.status)
        notify.request_changed(session, req.member_id, actor.id)
        result = view(session, req, actor, payments=payments)
        replies.answer(session, result)
        books_turn(session)
        check_entry(entry)
    return result


def recent(actor: Person, limit: int = 50) -> list[dict]:
    """The latest transfers and running costs, newest first, as the books hold them."""
    _require_treasurer(actor)
    b = books()
    rows = []
    for month in reversed(b.state.months()):
        for entry in b.entries_of(month):
            cid = E.carebooks_id(entry) or ""
            kind = cid.split(":", 1)[0]
            if kind not in ("transfer", "cost"):
                continue
            out = {p.account: p.units.number for p in entry.postings}
            code = next(iter(entry.links))
            if kind == "transfer":
                source = next(a for a, n in out.items() if n < 0)
                target = next(a for a, n in out.items() if n > 0 and a.startswith("Assets:"))
                rows.append({"code": code, "kind": "transfer", "date": entry.date.isoformat(),
                             "from_account": source, "to_account": target,
                             "amount": str(-out[source]),
                             "fee": str(sum((n for a, n in out.items()
                                             if a.startswith(OPERATIONS_ROOT)),
                                            Decimal("0.00")))})
            else:
                account = next(a for a, n in out.items() if n < 0)
                other = next(a for a, n in out.items() if n > 0)
                rows.append({"code": code, "kind": "cost", "date": entry.date.isoformat(),
                             "cost_kind": category_of(other), "account": account,
                             "amount": str(-out[account])})
        if len(rows) >= limit:
            break
    rows.sort(key=lambda r: (r["date"], r["code"]), reverse=True)
    return rows[:limit]
