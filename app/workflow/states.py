"""The life of a request (docs/design.md §4) as one explicit transition table.

`TRANSITIONS[(status, action)]` gives who may act and the statuses the request may
move to. `transition` is the only place a request's status changes.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import gettext as _

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
    return_payment = "return-payment"


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


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
    # a payment came back (it bounced): owed again, to be paid anew or cancelled
    (S.paid, Action.return_payment): (TREASURER, frozenset({S.partially_paid, S.approved})),
    (S.partially_paid, Action.return_payment): (TREASURER,
                                                frozenset({S.partially_paid, S.approved})),
}

FINAL = frozenset({S.paid, S.denied, S.withdrawn, S.cancelled})

# Plain words for people (marked for translation here, translated where shown).
_WORDS = {S.submitted: N_("waiting for a decision"), S.needs_info: N_("waiting for an answer"),
          S.approved: N_("approved"), S.partially_paid: N_("partly paid"), S.paid: N_("paid"),
          S.denied: N_("denied"), S.withdrawn: N_("withdrawn"), S.cancelled: N_("cancelled")}
ACTION_WORDS = {Action.ask: N_("ask about"), Action.answer: N_("answer"),
                Action.approve: N_("approve"), Action.deny: N_("deny"),
                Action.withdraw: N_("withdraw"), Action.cancel: N_("cancel"),
                Action.pay: N_("pay"), Action.return_payment: N_("record a returned payment of")}


def status_words(status: Status | str) -> str:
    """Where a request stands, in plain words of the current language."""
    return _(_WORDS[Status(status)])


def allowed(status: Status | str, action: Action) -> tuple[str, frozenset[Status]]:
    """Who may take `action` from `status` and where it may lead; raise if it may not."""
    key = (Status(status), action)
    if key not in TRANSITIONS:
        raise IllegalTransition(_("cannot %(action)s a request that is %(status)s",
                                  action=_(ACTION_WORDS[action]), status=status_words(status)),
                                code="illegal_transition")
    return TRANSITIONS[key]


def authorize(request: AidRequest, action: Action, actor: Person) -> None:
    """Raise unless `actor` may take `action` on `request` in its current status."""
    who, _targets = allowed(request.status, action)
    if who == OWNER and actor.id != request.member_id:
        raise Forbidden(_("only the member who asked may %(action)s this request",
                          action=_(ACTION_WORDS[action])))
    if who == TREASURER and not actor.has(Role.treasurer):
        raise Forbidden(_("only a treasurer may %(action)s a request",
                          action=_(ACTION_WORDS[action])))


def transition(request: AidRequest, action: Action, actor: Person, to: Status) -> Status:
    """Move `request` to `to` by `action`; the caller records the audit event."""
    authorize(request, action, actor)
    _who, targets = allowed(request.status, action)
    if to not in targets:
        raise IllegalTransition(f"{action.value} cannot lead from {request.status} to {to}")
    before = request.status
    request.status = to.value
    request.updated_at = utcnow()
    return Status(before)
