"""Donations: record one (with an optional fee), list them, refund what is left of one.

A donor's name is kept, and written to the books, only with their recorded consent;
otherwise it is dropped here and the books say "Anonymous".
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import gettext as _
from sqlmodel import select

from app.db import session_scope
from app.fund import books, donation_categories
from app.models import Donation, Person
from app.workflow import audit, inputs, replies
from app.workflow.errors import InvalidInput, NotFound
from app.workflow.outbox import books_turn, check_entry, enqueue, money_step
from app.workflow.requests import next_code
from ledger import entries as E
from ledger import EntryRefused, fmt


def view(d: Donation) -> dict:
    """A donation as treasurers see it."""
    return {"code": d.code, "date": d.date.isoformat(), "amount": str(d.amount),
            "fee": str(d.fee), "account": d.account, "category": d.category,
            "donor_name": d.donor_name, "donor_consents_public": d.donor_consents_public,
            "refunded": str(d.refunded)}


def record(actor: Person, body: dict, *, today: dt.date | None = None,
           unconsented_name: str = "drop") -> dict:
    """A treasurer records a donation received. A donor's name given without their consent
    is dropped (the API's contract), or refused with `unconsented_name="refuse"` (the form,
    where the treasurer can still tick the box)."""
    today = today or dt.date.today()
    cur = books().currency

    def fee_of() -> Decimal | None:
        if body.get("fee") is None:
            return None
        fee = inputs.amount(body.get("fee"), cur, "fee", allow_zero=True)
        amount = inputs.amount(body.get("amount"), cur)  # refused on its own line if bad
        if fee >= amount:
            raise InvalidInput(_("fee: %(fee)s must be less than the amount %(amount)s",
                                 fee=fmt(fee, cur), amount=fmt(amount, cur)), field="fee")
        return fee

    def received_on() -> dt.date:
        date = inputs.date(body.get("date"), "date")
        if date > today:
            raise InvalidInput(_("date: %(date)s is in the future", date=date), field="date")
        return date

    def named() -> str | None:
        consents = inputs.boolean(body.get("donor_consents_public"), "donor_consents_public")
        name = body.get("donor_name")
        if name is not None:
            name = inputs.text(name, "donor_name", max_len=E.DISPLAY_NAME_MAX,
                               required=False) or None
        if name and not consents and unconsented_name == "refuse":
            raise InvalidInput(_("donor_name: a name is kept only if the donor agreed to be "
                                 "named; tick the box, or leave the name empty"),
                               field="donor_name")
        if name and consents:
            try:
                return E.safe_display_name(name)
            except EntryRefused as exc:
                raise InvalidInput(exc.message, field="donor_name") from None
        return None  # without consent the name is not kept at all

    got = inputs.gather(
        amount=lambda: inputs.amount(body.get("amount"), cur), fee=fee_of,
        account=lambda: inputs.choice(body.get("account"), books().state.cash_accounts(),
                                      "account"),
        date=received_on,
        category=lambda: inputs.choice(body.get("category"), donation_categories(),
                                       "category"),
        consents=lambda: inputs.boolean(body.get("donor_consents_public"),
                                        "donor_consents_public"),
        name=named)
    amount, fee, account, date = got["amount"], got["fee"], got["account"], got["date"]
    category, consents, name = got["category"], got["consents"], got["name"]
    with money_step() as session:
        code = next_code(session, "D", date.year)
        entry = E.donation(code, date, category, account, amount, cur, fee=fee,
                           donor_name=name)
        donation = Donation(code=code, date=date, amount=amount, fee=fee or Decimal("0.00"),
                            account=account, category=category, donor_name=name,
                            donor_consents_public=consents, recorded_by=actor.id)
        session.add(donation)
        enqueue(session, entry)
        audit.record(session, actor.id, "donation.recorded", code, amount=str(amount),
                     fee=str(fee or 0), account=account)
        result = view(donation)  # before the lock: nobody waits on it
        replies.answer(session, result)
        books_turn(session)
        check_entry(entry)
    return result


def list_donations(actor: Person) -> list[dict]:
    """All donations, newest first."""
    with session_scope() as session:
        rows = session.exec(select(Donation).order_by(Donation.date.desc(),
                                                      Donation.id.desc())).all()
        return [view(d) for d in rows]


def refund(actor: Person, code: str, body: dict | None = None, *,
           today: dt.date | None = None) -> dict:
    """Give back what is left of a donation (or `amount` of it), from its account."""
    body = body or {}
    today = today or dt.date.today()
    cur = books().currency
    if not isinstance(code, str) or not E.DONATION_CODE.fullmatch(code):
        raise NotFound(_("no donation %(code)s", code=repr(str(code)[:20])))
    with money_step() as session:
        donation = session.exec(select(Donation).where(Donation.code == code)
                                .with_for_update()).first()
        if donation is None:
            raise NotFound(_("no donation %(code)s", code=code))
        left = donation.amount - donation.refunded
        if left <= 0:
            raise InvalidInput(f"{code} is already fully refunded", field="amount")
        raw = body.get("amount")
        amount = inputs.amount(raw, cur) if raw is not None else left
        if amount > left:
            raise InvalidInput(f"amount: {fmt(amount, cur)} is more than the "
                               f"{fmt(left, cur)} left of {code}", field="amount")
        seq = donation.refund_count + 1
        entry = E.donation_refund(code, seq, today, donation.category, donation.account,
                                  amount, cur)
        donation.refunded += amount
        donation.refund_count = seq
        enqueue(session, entry)
        audit.record(session, actor.id, "donation.refunded", code, amount=str(amount),
                     seq=seq)
        result = view(donation)  # before the lock: nobody waits on it
        replies.answer(session, result)
        books_turn(session)
        check_entry(entry)
    return result
