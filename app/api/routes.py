"""The routes of /api/v1: each parses, calls one workflow function, and answers JSON."""

from __future__ import annotations

from flask import jsonify, request

from app.api import bp, body, current_person
from app.api.idempotency import idempotent
from app.api.openapi import spec
from app.models import Role
from app.web.cache import cacheable
from app.workflow import donations, months, movements, requests, summary
from app.workflow.errors import Forbidden, Unauthenticated


def _treasurer():
    person = current_person()
    if not person.has(Role.treasurer):
        raise Forbidden("only a treasurer may do this")
    return person


@bp.post("/requests")
@idempotent(status=201)
def create_request():
    """A member asks for aid."""
    return jsonify(requests.submit(current_person(), body(
        "amount", "category", "needed_by", "payout_method", "story"))), 201


@bp.get("/requests")
def list_requests():
    """Own requests, or all of them for a treasurer (?status= filters)."""
    return jsonify({"requests": requests.list_requests(current_person(),
                                                       request.args.get("status"))})


@bp.get("/requests/<code>")
def get_request(code: str):
    """One request."""
    return jsonify(requests.get(current_person(), code))


@bp.post("/requests/<code>/approve")
@idempotent
def approve_request(code: str):
    """A treasurer approves (optionally a smaller amount)."""
    return jsonify(requests.approve(current_person(), code, body("amount")))


@bp.post("/requests/<code>/deny")
@idempotent
def deny_request(code: str):
    """A treasurer denies, with a reason."""
    return jsonify(requests.deny(current_person(), code, body("reason")))


@bp.post("/requests/<code>/needs-info")
@idempotent
def ask_request(code: str):
    """A treasurer asks the member a question."""
    return jsonify(requests.ask(current_person(), code, body("question")))


@bp.post("/requests/<code>/answer")
@idempotent
def answer_request(code: str):
    """The member answers."""
    return jsonify(requests.answer(current_person(), code, body("answer")))


@bp.post("/requests/<code>/withdraw")
@idempotent
def withdraw_request(code: str):
    """The member withdraws."""
    return jsonify(requests.withdraw(current_person(), code, body()))


@bp.post("/requests/<code>/cancel")
@idempotent
def cancel_request(code: str):
    """A treasurer cancels an approval, with a reason."""
    return jsonify(requests.cancel(current_person(), code, body("reason")))


@bp.post("/requests/<code>/payments")
@idempotent(status=201)
def pay_request(code: str):
    """A treasurer records a payment."""
    return jsonify(requests.pay(current_person(), code, body("amount", "account", "date"))), 201


@bp.post("/donations")
@idempotent(status=201)
def create_donation():
    """A treasurer records a donation."""
    return jsonify(donations.record(_treasurer(), body(
        "amount", "fee", "account", "date", "category", "donor_name", "donor_consents_public"))), 201


@bp.get("/donations")
def list_donations():
    """All donations (treasurers)."""
    return jsonify({"donations": donations.list_donations(_treasurer())})


@bp.post("/donations/<code>/refund")
@idempotent
def refund_donation(code: str):
    """A treasurer refunds what is left of a donation."""
    return jsonify(donations.refund(_treasurer(), code, body("amount")))


@bp.post("/requests/<code>/returned")
@idempotent
def return_payment(code: str):
    """A treasurer records that a payment came back (it bounced)."""
    return jsonify(movements.return_payment(_treasurer(), code,
                                            body("amount", "account", "date")))


@bp.post("/transfers")
@idempotent(status=201)
def create_transfer():
    """A treasurer moves money between the fund's own cash accounts."""
    return jsonify(movements.transfer(_treasurer(), body(
        "amount", "fee", "from_account", "to_account", "date"))), 201


@bp.post("/costs")
@idempotent(status=201)
def create_cost():
    """A treasurer pays a running cost of the fund."""
    return jsonify(movements.cost(_treasurer(), body("amount", "account", "date", "kind"))), 201


@bp.get("/movements")
def list_movements():
    """The latest transfers and running costs (treasurers)."""
    return jsonify({"movements": movements.recent(_treasurer())})


@bp.get("/summary")
def get_summary():
    """A month's figures: every one, exact, for treasurers and admins; for anyone else
    the public view (a daily band, exact figures of published months), cacheable."""
    month = request.args.get("month")
    if month is not None and not month.strip():
        month = "?"  # an empty month is a mistake, not "this month": refused by summary()
    if request.headers.get("Authorization"):
        try:
            person = current_person()
        except (Unauthenticated, Forbidden):
            person = None  # the public figures need no token: a bad one gets them too
        if person is not None and (person.has(Role.treasurer) or person.has(Role.admin)):
            return jsonify(summary.full_summary(month))
    return cacheable(summary.public_answer(month), "application/json")


@bp.post("/months/<month>/seal")
@idempotent(status=201)
def seal_month(month: str):
    """A treasurer seals a month with the statement balances."""
    return jsonify(months.seal(_treasurer(), month, body("balances"))), 201


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(spec())
