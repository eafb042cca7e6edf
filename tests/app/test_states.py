"""The transition table of a request, every (status, action, role), written out by hand
from docs/design.md §4 so that a change to app/workflow/states.py must change this too."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from app.models import AidRequest, Person, Status
from app.workflow.errors import Forbidden, IllegalTransition
from app.workflow.states import Action, transition

S = Status
OWNER, OTHER, TREASURER = "owner", "other member", "treasurer"

# (status, action) -> (role allowed, statuses it may lead to). Everything else is illegal.
EXPECTED = {
    (S.submitted, Action.ask): (TREASURER, {S.needs_info}),
    (S.needs_info, Action.answer): (OWNER, {S.submitted}),
    (S.submitted, Action.approve): (TREASURER, {S.submitted, S.approved}),
    (S.submitted, Action.deny): (TREASURER, {S.denied}),
    (S.needs_info, Action.deny): (TREASURER, {S.denied}),
    (S.submitted, Action.withdraw): (OWNER, {S.withdrawn}),
    (S.needs_info, Action.withdraw): (OWNER, {S.withdrawn}),
    (S.approved, Action.cancel): (TREASURER, {S.cancelled}),
    (S.partially_paid, Action.cancel): (TREASURER, {S.cancelled}),
    (S.approved, Action.pay): (TREASURER, {S.partially_paid, S.paid}),
    (S.partially_paid, Action.pay): (TREASURER, {S.partially_paid, S.paid}),
    # a payment came back (issue 18): owed again, in part or in full
    (S.paid, Action.return_payment): (TREASURER, {S.partially_paid, S.approved}),
    (S.partially_paid, Action.return_payment): (TREASURER, {S.partially_paid, S.approved}),
}

PEOPLE = {OWNER: Person(id=1, email="o@x.org", handle="o", roles="member"),
          OTHER: Person(id=2, email="m@x.org", handle="m", roles="member"),
          TREASURER: Person(id=3, email="t@x.org", handle="t", roles="treasurer")}

CASES = []
for status, action, role in itertools.product(list(S), list(Action), PEOPLE):
    rule = EXPECTED.get((status, action))
    if rule is None:
        for target in S:
            CASES.append((status, action, role, target, IllegalTransition))
    elif role != rule[0]:
        # the first allowed status by name: a set's order differs between processes, and
        # parallel workers (pytest-xdist) must collect the same test ids
        CASES.append((status, action, role, min(rule[1]), Forbidden))
    else:
        for target in S:
            CASES.append((status, action, role, target,
                          None if target in rule[1] else IllegalTransition))


def _request(status: Status) -> AidRequest:
    return AidRequest(code="R-2026-0001", member_id=1, amount=Decimal("100.00"),
                      category="rent", needed_by=None, payout_method="bank", story="x",
                      status=status.value)


@pytest.mark.parametrize(("status", "action", "role", "target", "refusal"), CASES,
                         ids=[f"{s.value}-{a.value}-{r}-{t.value}" for s, a, r, t, _ in CASES])
def test_transition(status, action, role, target, refusal):
    req = _request(status)
    if refusal is None:
        assert transition(req, action, PEOPLE[role], target) == status
        assert req.status == target.value
    else:
        with pytest.raises(refusal) as info:
            transition(req, action, PEOPLE[role], target)
        assert req.status == status.value, "a refused transition changes nothing"
        assert info.value.message  # says why, in words


def test_refusal_words_name_the_action_and_state():
    req = _request(S.paid)
    with pytest.raises(IllegalTransition, match="cannot approve a request that is paid"):
        transition(req, Action.approve, PEOPLE[TREASURER], S.approved)
    req = _request(S.submitted)
    with pytest.raises(Forbidden, match="only a treasurer may approve"):
        transition(req, Action.approve, PEOPLE[OTHER], S.approved)
