"""The life of a request (DESIGN.md §4) as one explicit transition table.

`TRANSITIONS[(status, action)]` gives who may act and the statuses the request may
move to. `transition` is the only place a request's status changes.
"""

from __future__ import annotations

from enum import StrEnum

from app.models import AidRequest, Person, Role, Status, utcnow
from app.workflow.errors import Forbidden, IllegalTransition


class Action(StrEnum):
    """What someone does to a request."""

    ask = "needs-info"
    answer = "answer"
    approve = "approve"
    deny = "deny"
    withdraw = "withdraw"
    cancel = "cancel"
    pay = "pay"


OWNER = "owner"          # the member who asked
TREASURER = "treasurer"  # any treasurer (self-approval is a policy rule, checked apart)

S = Status
TRANSITIONS: dict[tuple[Status, Action], tuple[str, frozenset[Status]]] = {
    (S.submitted, Action.ask): (TREASURER, frozenset({S.needs_info})),
    (S.needs_info, Action.answer): (OWNER, frozenset({S.submitted})),
    (S.submitted, Action.approve): (TREASURER, frozenset({S.submitted, S.approved})),
    (S.submitted, Action.deny): (TREASURER, frozenset({S.denied})),
    (S.needs_info, Action.deny): (TREASURER, frozenset({S.denied})),
    (S.submitted, Action.withdraw): (OWNER, frozenset({S.withdrawn})),
    (S.needs_info, Action.withdraw): (OWNER, frozenset({S.withdrawn})),
    (S.approved, Action.cancel): (TREASURER, frozenset({S.cancelled})),
    (S.partially_paid, Action.cancel): (TREASURER, frozenset({S.cancelled})),
    (S.approved, Action.pay): (TREASURER, frozenset({S.partially_paid, S.paid})),
    (S.partially_paid, Action.pay): (TREASURER, frozenset({S.partially_paid, S.paid})),
}

FINAL = frozenset({S.paid, S.denied, S.withdrawn, S.cancelled})

_WORDS = {S.submitted: "waiting for a decision", S.needs_info: "waiting for your answer",
          S.approved: "approved", S.partially_paid: "partly paid", S.paid: "paid",
          S.denied: "denied", S.withdrawn: "withdrawn", S.cancelled: "cancelled"}


def allowed(status: Status | str, action: Action) -> tuple[str, frozenset[Status]]:
    """Who may take `action` from `status` and where it may lead; raise if it may not."""
    key = (Status(status), action)
    if key not in TRANSITIONS:
        raise IllegalTransition(
            f"cannot {action.value.replace('-', ' ')} a request that is "
            f"{_WORDS[Status(status)]}", code="illegal_transition")
    return TRANSITIONS[key]


def authorize(request: AidRequest, action: Action, actor: Person) -> None:
    """Raise unless `actor` may take `action` on `request` in its current status."""
    who, _ = allowed(request.status, action)
    if who == OWNER and actor.id != request.member_id:
        raise Forbidden(f"only the member who asked may {action.value} this request")
    if who == TREASURER and not actor.has(Role.treasurer):
        raise Forbidden(f"only a treasurer may {action.value.replace('-', ' ')} a request")


def transition(request: AidRequest, action: Action, actor: Person, to: Status) -> Status:
    """Move `request` to `to` by `action`; the caller records the audit event."""
    authorize(request, action, actor)
    _, targets = allowed(request.status, action)
    if to not in targets:
        raise IllegalTransition(f"{action.value} cannot lead from {request.status} to {to}")
    before = request.status
    request.status = to.value
    request.updated_at = utcnow()
    return Status(before)
