"""Requests for aid: ask, question, answer, approve, deny, withdraw, cancel, pay.

Each function takes the acting person and the parsed body, runs the transition table
(`states`), the policy (`policy`) and the books' own rules (`outbox.check_entry`), and
returns the request as the API shows it. Money-moving steps run under the money lock
and go through the outbox.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from beancount.core import data
from sqlalchemy import bindparam
from sqlalchemy import text as sql
from flask_babel import gettext as _
from sqlmodel import Session, select

from app.db import session_scope
from app.fund import aid_categories, books
from app.models import (AidRequest, Approval, Payment, Person, RequestNote, Role, Status, iso,
                        utcnow)
from app.workflow import audit, inputs, notify, replies
from app.workflow import policy as rules
from app.workflow.errors import Conflict, InvalidInput, NotFound, PolicyRefused
from app.workflow.outbox import books_turn, check_entry, enqueue, money_step
from app.workflow.retention import purge_on
from app.workflow.states import Action, authorize, transition
from ledger import entries as E
from ledger import PAYOUT_METHODS, aid_account, fmt, month_of

STORY_MAX = 2000
NOTE_MAX = 1000
REFERENCE_MAX = 100   # a bank's or processor's transaction id
PAYMENT_NOTE_MAX = 280
BATCH_MAX = 40
BATCH_SIZE = 100      # requests one action may pay


def next_code(session: Session, prefix: str, year: int) -> str:
    """The next code of a series, e.g. `R-2026-0042` (atomic on SQLite and PostgreSQL)."""
    name = f"{prefix}-{year}"
    value = session.execute(sql(
        "INSERT INTO counter (name, value) VALUES (:n, 1) ON CONFLICT (name) "
        "DO UPDATE SET value = counter.value + 1 RETURNING value"), {"n": name}).scalar_one()
    return f"{name}-{value:04d}"


# The statements every request's answer runs, built once (SQLAlchemy then reuses their
# compiled SQL without working out their cache keys again; docs/performance.md).
_BY_CODE = select(AidRequest).where(AidRequest.code == bindparam("code"))
_BY_CODE_LOCKED = _BY_CODE.with_for_update()
_APPROVALS = (select(Approval).where(Approval.request_id == bindparam("rid"))
              .order_by(Approval.id))
_NOTES = (select(RequestNote).where(RequestNote.request_id == bindparam("rid"))
          .order_by(RequestNote.id))
_PAYMENTS = select(Payment).where(Payment.request_id == bindparam("rid")).order_by(Payment.seq)
_HANDLES = select(Person.id, Person.handle).where(
    Person.id.in_(bindparam("ids", expanding=True)))


def _find(session: Session, code: str, actor: Person, *, lock: bool = False) -> AidRequest:
    req = session.exec(_BY_CODE_LOCKED if lock else _BY_CODE, params={"code": code}).first()
    if req is None or not (actor.has(Role.treasurer) or req.member_id == actor.id):
        raise NotFound(_("no request %(code)s", code=code))  # same answer if it exists
    return req


def view(session: Session, req: AidRequest, actor: Person, *, policy=None,
         approvals: list | None = None, payments: list | None = None,
         notes: list | None = None) -> dict:
    """The request as its member or a treasurer sees it. A step that already holds the
    policy, or all of the request's approvals, payments or notes (in their order), passes
    them: each is one query fewer on every write (docs/performance.md)."""
    if approvals is None:
        approvals = session.exec(_APPROVALS, params={"rid": req.id}).all()
    if notes is None:
        notes = session.exec(_NOTES, params={"rid": req.id}).all()
    if payments is None:
        payments = (session.exec(_PAYMENTS, params={"rid": req.id}).all()
                    if req.paid_amount else [])  # every payment adds a positive amount
    handles = {actor.id: actor.handle}
    wanted = ({req.member_id} | {a.treasurer_id for a in approvals}
              | {n.author_id for n in notes}
              | ({req.filed_by} if req.filed_by else set())) - handles.keys()
    if wanted:
        handles.update(session.exec(_HANDLES, params={"ids": sorted(wanted)}).all())
    policy = policy or rules.current(session)
    approved = req.approved_amount
    outstanding = (approved - req.paid_amount
                   if approved is not None and req.status in (Status.approved,
                                                              Status.partially_paid)
                   else Decimal("0.00"))
    purge_day = purge_on(req, policy)
    return {
        "code": req.code,
        "status": req.status,
        "member": handles.get(req.member_id),
        "amount": str(req.amount),
        "category": req.category,
        "needed_by": req.needed_by.isoformat(),
        "payout_method": req.payout_method,
        "story": req.story,
        "approvals": [{"by": handles.get(a.treasurer_id), "amount": str(a.amount),
                       "at": iso(a.created_at)} for a in approvals],
        "approvals_needed": rules.approvals_needed(policy, req.amount),
        "approved_amount": str(approved) if approved is not None else None,
        "paid_amount": str(req.paid_amount),
        "outstanding": str(outstanding),
        "notes": [{"kind": n.kind, "by": handles.get(n.author_id), "body": n.body,
                   "at": iso(n.created_at)} for n in notes],
        "payments": [_payment_view(p, actor) for p in payments],
        "approved_at": iso(req.approved_at) if req.approved_at else None,
        "created_at": iso(req.created_at),
        "updated_at": iso(req.updated_at),
        "purge_on": purge_day.isoformat() if purge_day else None,
        # filed on the person's behalf (app/workflow/intake.py): by whom, and how to reach them
        "filed_by": handles.get(req.filed_by) if req.filed_by else None,
        "reach_by": req.reach_by,
        "contact": req.contact,
    }


def _payment_view(p: Payment, actor: Person) -> dict:
    """A payment as the member sees it; a treasurer also sees where it came from, its
    reference and note (personal text, kept out of the books)."""
    shown = {"amount": str(p.amount), "date": p.date.isoformat()}
    if actor.has(Role.treasurer):
        shown.update(account=p.account, reference=p.reference, note=p.note)
    return shown


def check_fields(body: dict, *, today: dt.date | None = None, policy: bool = True) -> tuple:
    """A request's fields, checked (with `policy`, against the cap on one request too):
    amount, category, needed_by, payout method, story. Every refusal at once
    (inputs.gather); each names its field."""
    today = today or dt.date.today()
    cur = books().currency

    def needed() -> dt.date:
        needed_by = inputs.date(body.get("needed_by"), "needed_by")
        if needed_by < today:
            raise InvalidInput(_("needed_by: %(date)s has passed; give today or a later date",
                                 date=needed_by), field="needed_by")
        return needed_by

    got = inputs.gather(
        amount=lambda: inputs.amount(body.get("amount"), cur),
        category=lambda: inputs.choice(body.get("category"), aid_categories(), "category"),
        needed_by=needed,
        method=lambda: inputs.choice(body.get("payout_method"), PAYOUT_METHODS,
                                     "payout_method"),
        story=lambda: inputs.text(body.get("story"), "story", max_len=STORY_MAX))
    amount = got["amount"]
    if policy:
        with session_scope() as session:
            rules.check_request_cap(rules.current(session), amount, cur)
    return amount, got["category"], got["needed_by"], got["method"], got["story"]


def submit(actor: Person, body: dict, *, today: dt.date | None = None,
           behalf: tuple[Person, str, str | None] | None = None) -> dict:
    """A member asks for aid; or, with `behalf` (the person, how they want to be reached,
    the contact), an intake volunteer or a treasurer files it for them
    (app/workflow/intake.py checks who may)."""
    today = today or dt.date.today()
    cur = books().currency
    amount, category, needed_by, method, story = check_fields(body, today=today,
                                                              policy=False)
    member, reach_by, contact = behalf if behalf else (actor, None, None)
    with session_scope() as session:
        policy = rules.current(session)
        rules.check_request_cap(policy, amount, cur)
        req = AidRequest(code=next_code(session, "R", today.year), member_id=member.id,
                         amount=amount, category=category, needed_by=needed_by,
                         payout_method=method, story=story,
                         filed_by=actor.id if behalf else None, reach_by=reach_by,
                         contact=contact)
        session.add(req)
        session.flush()
        audit.record(session, actor.id, "request.submitted", req.code, amount=str(amount),
                     category=category, **({"for": f"person:{member.id}"} if behalf else {}))
        notify.request_submitted(session, actor.id)
        result = view(session, req, actor, policy=policy, approvals=[], payments=[],
                      notes=[])
        replies.answer(session, result)
    return result


def get(actor: Person, code: str) -> dict:
    """One request, if `actor` may see it."""
    with session_scope() as session:
        return view(session, _find(session, code, actor), actor)


def list_requests(actor: Person, status: str | None = None) -> list[dict]:
    """A member's own requests; a treasurer's view of all, soonest needed first."""
    if status is not None:
        inputs.choice(status, [s.value for s in Status], "status")
    with session_scope() as session:
        query = select(AidRequest)
        if not actor.has(Role.treasurer):
            query = query.where(AidRequest.member_id == actor.id)
        if status:
            query = query.where(AidRequest.status == status)
        rows = session.exec(query.order_by(AidRequest.needed_by, AidRequest.id)).all()
        return [view(session, r, actor) for r in rows]


def _note_step(actor: Person, code: str, action: Action, to: Status, kind: str | None,
               note: str | None) -> dict:
    with session_scope() as session:
        req = _find(session, code, actor, lock=True)
        before = transition(req, action, actor, to)
        if kind and note:
            session.add(RequestNote(request_id=req.id, author_id=actor.id, kind=kind, body=note))
        audit.record(session, actor.id, f"request.{action.value}", code,
                     status_from=before.value, status_to=to.value)
        if action == Action.answer:
            notify.request_answered(session, req.id, req.member_id)
        else:
            notify.request_changed(session, req.member_id, actor.id)
        session.flush()
        result = view(session, req, actor)
        replies.answer(session, result)  # committed with the change (app/workflow/replies.py)
        return result


def ask(actor: Person, code: str, body: dict) -> dict:
    """A treasurer asks the member a question."""
    question = inputs.text(body.get("question"), "question", max_len=NOTE_MAX)
    return _note_step(actor, code, Action.ask, Status.needs_info, "question", question)


def answer(actor: Person, code: str, body: dict) -> dict:
    """The member answers; the request goes back to the queue."""
    reply = inputs.text(body.get("answer"), "answer", max_len=NOTE_MAX)
    return _note_step(actor, code, Action.answer, Status.submitted, "answer", reply)


def deny(actor: Person, code: str, body: dict) -> dict:
    """A treasurer denies the request, saying why (the member sees the reason)."""
    reason = inputs.text(body.get("reason"), "reason", max_len=NOTE_MAX)
    return _note_step(actor, code, Action.deny, Status.denied, "denied", reason)


def withdraw(actor: Person, code: str, body: dict | None = None) -> dict:
    """The member withdraws the request."""
    return _note_step(actor, code, Action.withdraw, Status.withdrawn, None, None)


def approve(actor: Person, code: str, body: dict, *, today: dt.date | None = None) -> dict:
    """A treasurer approves; the last approval needed books the expense and the promise."""
    stamp = utcnow() if today is None else dt.datetime.combine(today, dt.time(12), dt.UTC)
    today = today or dt.date.today()
    cur = books().currency
    raw = body.get("amount")
    given = inputs.amount(raw, cur) if raw is not None else None
    with money_step() as session:
        req = _find(session, code, actor, lock=True)
        authorize(req, Action.approve, actor)
        policy = rules.current(session)
        earlier = list(session.exec(_APPROVALS, params={"rid": req.id}).all())
        if any(a.treasurer_id == actor.id for a in earlier):
            raise Conflict(_("you already approved this request; another treasurer's "
                             "approval is needed"), code="already_approved")
        amount = given or (earlier[0].amount if earlier else req.amount)
        if earlier and amount != earlier[0].amount:
            raise InvalidInput(f"amount: the first approval was for "
                               f"{fmt(earlier[0].amount, cur)}; a second approval must be "
                               "for the same amount", field="amount")
        approval = Approval(request_id=req.id, treasurer_id=actor.id, amount=amount)
        session.add(approval)
        # the threshold is the request's: approving part of it does not dodge a second
        needed = rules.approvals_needed(policy, max(amount, req.amount))
        entry = None
        if len(earlier) + 1 >= needed:
            entry = E.approval(code, 1, today, req.category, amount, cur)
            transition(req, Action.approve, actor, Status.approved)
            req.approved_amount, req.approved_at = amount, stamp
            enqueue(session, entry)
        else:
            transition(req, Action.approve, actor, Status.submitted)
        audit.record(session, actor.id, "request.approve", code, amount=str(amount),
                     approvals=len(earlier) + 1, needed=needed,
                     status_to=req.status)
        if entry is not None:
            notify.request_changed(session, req.member_id, actor.id)
        else:
            notify.second_approval_waiting(session, {a.treasurer_id for a in earlier}
                                           | {actor.id, req.member_id})
        result = view(session, req, actor, policy=policy,  # before the lock
                      approvals=[*earlier, approval])
        replies.answer(session, result)
        # The rules that read the books (and the member's other approvals) under the lock:
        # any refusal rolls all of the above back.
        state = books_turn(session)
        spent = state.monthly.get(aid_account(req.category), {}).get(month_of(today),
                                                                     Decimal(0))
        rules.check_approval(session, policy, req, amount, actor,
                             available=state.available(), category_month_total=spent,
                             currency=cur, now=stamp)
        if entry is not None:
            check_entry(entry)
    return result


def pay(actor: Person, code: str, body: dict, *, today: dt.date | None = None) -> dict:
    """A treasurer records a payment against an approved request."""
    today = today or dt.date.today()
    cur = books().currency

    def paid_on() -> dt.date:
        date = inputs.date(body.get("date"), "date", default=today)
        if date > today:
            raise InvalidInput(_("date: %(date)s is in the future", date=date), field="date")
        return date

    got = inputs.gather(
        amount=lambda: inputs.amount(body.get("amount"), cur),
        account=lambda: inputs.choice(body.get("account"), books().state.cash_accounts(),
                                      "account"),
        date=paid_on)
    amount, account, date = got["amount"], got["account"], got["date"]
    reference, note = _payment_text(body)
    with money_step() as session:
        req, entry, payments = pay_in(session, actor, code, amount, account, date,
                                      reference=reference, note=note)
        result = view(session, req, actor, payments=payments)  # before the lock
        replies.answer(session, result)
        books_turn(session)
        check_entry(entry)
    return result


def approval_date(req: AidRequest) -> dt.date | None:
    """The date of the request's approval entry in the books (its database stamp while a
    crash still holds the entry in the outbox); None when it was never approved."""
    entry = books().entry(f"approve:{req.code}:1")
    if entry is not None:
        return entry.date
    return req.approved_at.date() if req.approved_at else None


def _not_before_approval(req: AidRequest, date: dt.date, what: str) -> None:
    approved = approval_date(req)
    if approved is not None and date < approved:
        raise InvalidInput(_("date: a %(what)s cannot be dated %(date)s, before the approval "
                             "it settles (%(approved)s)", what=what, date=date.isoformat(),
                             approved=approved.isoformat()), field="date")


def _payment_text(body: dict, prefix: str = "") -> tuple[str | None, str | None]:
    """The optional reference and note of a payment (blank is none)."""
    out = []
    for name, most in (("reference", REFERENCE_MAX), ("note", PAYMENT_NOTE_MAX)):
        raw = body.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            out.append(None)
        else:
            out.append(inputs.text(raw, prefix + name, max_len=most))
    return out[0], out[1]


def pay_in(session: Session, actor: Person, code: str, amount: Decimal, account: str,
           date: dt.date, *, reference: str | None = None, note: str | None = None,
           batch: str | None = None) -> tuple[AidRequest, data.Transaction, list[Payment]]:
    """Record a payment inside the caller's money step, before its `books_turn`; return
    the request, the payment's entry, which the caller checks against the books, and the
    request's payments, this one last."""
    cur = books().currency
    req = _find(session, code, actor, lock=True)
    authorize(req, Action.pay, actor)
    if req.member_id == actor.id:
        raise PolicyRefused(_("self-payment: nobody records the payment of their own "
                              "request"), code="self_payment")
    _not_before_approval(req, date, "payment")
    outstanding = req.approved_amount - req.paid_amount
    if amount > outstanding:
        raise PolicyRefused(_("payment: %(amount)s is more than the %(left)s approved and "
                              "not yet paid", amount=fmt(amount, cur),
                              left=fmt(outstanding, cur)),
                            code="exceeds_approved", field="amount")
    payments = list(session.exec(_PAYMENTS, params={"rid": req.id}).all())
    seq = len(payments) + 1
    entry = E.payment(code, seq, date, req.category, req.payout_method, account, amount,
                      cur)
    payments.append(Payment(request_id=req.id, seq=seq, amount=amount, account=account,
                            date=date, treasurer_id=actor.id,
                            carebooks_id=entry.meta["carebooks-id"], reference=reference,
                            note=note, batch=batch))
    session.add(payments[-1])
    req.paid_amount += amount
    transition(req, Action.pay, actor,
               Status.paid if req.paid_amount == req.approved_amount
               else Status.partially_paid)
    enqueue(session, entry)
    audit.record(session, actor.id, "request.pay", code, amount=str(amount),
                 account=account, seq=seq, status_to=req.status)
    notify.request_changed(session, req.member_id, actor.id)
    return req, entry, payments


def cancel(actor: Person, code: str, body: dict, *, today: dt.date | None = None) -> dict:
    """A treasurer cancels an approval; the unpaid part is reversed in the books."""
    today = today or dt.date.today()
    cur = books().currency
    reason = inputs.text(body.get("reason"), "reason", max_len=NOTE_MAX)
    with money_step() as session:
        req = _find(session, code, actor, lock=True)
        authorize(req, Action.cancel, actor)
        _not_before_approval(req, today, "cancellation")
        unpaid = req.approved_amount - req.paid_amount
        entry = E.cancellation(code, 1, today, req.category, unpaid, cur) if unpaid > 0 else None
        if entry is not None:
            enqueue(session, entry)
        before = transition(req, Action.cancel, actor, Status.cancelled)
        session.add(RequestNote(request_id=req.id, author_id=actor.id, kind="cancelled",
                                body=reason))
        audit.record(session, actor.id, "request.cancel", code, reversed=str(unpaid),
                     status_from=before.value, status_to=req.status)
        notify.request_changed(session, req.member_id, actor.id)
        result = view(session, req, actor)
        replies.answer(session, result)
        if entry is not None:
            books_turn(session)
            check_entry(entry)
    return result


def approval_preview(actor: Person, code: str, *, today: dt.date | None = None) -> dict:
    """What approving `code` would do, before anyone clicks — and, if the button must be
    disabled, the sentence that says why (the same checks `approve` runs)."""
    from app.workflow.errors import Forbidden, IllegalTransition

    today = today or dt.date.today()
    cur = books().currency
    state = books().state
    with session_scope() as session:
        req = _find(session, code, actor)
        policy = rules.current(session)
        earlier = list(session.exec(_APPROVALS, params={"rid": req.id}).all())
        amount = earlier[0].amount if earlier else req.amount
        # the threshold is the request's: approving part of it does not dodge a second
        needed = rules.approvals_needed(policy, max(amount, req.amount))
        now = utcnow()
        since = now - dt.timedelta(days=policy.member_window_days)
        used = rules.member_used(session, req.member_id, since, req.id)
        reason = None
        try:
            authorize(req, Action.approve, actor)
            if any(a.treasurer_id == actor.id for a in earlier):
                raise Conflict(_("you already approved this request; another treasurer's "
                                 "approval is needed"))
            spent = state.monthly.get(aid_account(req.category), {}).get(month_of(today),
                                                                         Decimal(0))
            rules.check_approval(session, policy, req, amount, actor,
                                 available=state.available(), category_month_total=spent,
                                 currency=cur, now=now)
        except (IllegalTransition, Forbidden, Conflict, PolicyRefused, InvalidInput) as exc:
            reason = exc.message
    books_it = len(earlier) + 1 >= needed
    return {"amount": amount, "approvals": len(earlier), "needed": needed, "books_it": books_it,
            "member_used": used, "member_cap": policy.member_cap,
            "member_remaining_after": policy.member_cap - used - amount,
            "window_days": policy.member_window_days,
            "available": state.available(),
            "available_after": state.available() - (amount if books_it else 0),
            "reserve_floor": policy.reserve_floor, "currency": cur,
            "can_approve": reason is None, "reason": reason}
