"""The fund's policy: read it, change it (audited), and the rules an approval must meet.

Each refusal is a `PolicyRefused` whose code names the rule and whose message gives the
numbers, e.g. "member cap: 900.00 of 1,500.00 USD used in the last 90 days; this
request needs 700.00 USD".
"""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case
from sqlmodel import Session, func, select

from app.db import session_scope
from app.models import AidRequest, Person, Policy, Role, Status, utcnow
from app.workflow import audit, stamp
from app.workflow.errors import Forbidden, InvalidInput, PolicyRefused
from ledger import fmt

MONEY_FIELDS = ("second_approval_at", "request_cap", "member_cap", "reserve_floor")
INT_FIELDS = {"member_window_days": (1, 3650), "k_threshold": (2, 50),
              "dominance_share": (1, 100), "rounding_unit": (1, 1000),
              "purge_after_days": (1, 3650)}
COMMITTED = (Status.approved, Status.partially_paid, Status.paid, Status.cancelled)


def current(session: Session) -> Policy:
    """The fund's policy row (created with the defaults on first use)."""
    policy = session.get(Policy, 1)
    if policy is None:
        policy = Policy(id=1)
        session.add(policy)
        session.flush()
    return policy


def get_policy() -> Policy:
    """The policy, read in its own session."""
    with session_scope() as session:
        return current(session)


# The privacy settings, per process, for at most PRIVACY_SECONDS: every public read needs
# them, and reading them was most of a read's cost. A change made in this process clears
# them at once; other workers see it within the second.
PRIVACY_SECONDS = 1.0
_PRIVACY = "carebooks.privacy"


def privacy() -> tuple[int, int, int, Decimal]:
    """(k_threshold, dominance_share, rounding_unit, request_cap), at most a second old
    (the cap sets the width of the public page's live bands, reports.public)."""
    ext = current_app.extensions
    now = time.monotonic()
    hit = ext.get(_PRIVACY)
    changed = stamp.signature((stamp.path(),))  # another worker changed the policy
    if hit is not None and now - hit[0] < PRIVACY_SECONDS and hit[2] == changed:
        return hit[1]
    with session_scope() as session:
        found = session.exec(select(Policy.k_threshold, Policy.dominance_share,
                                    Policy.rounding_unit, Policy.request_cap)
                             .where(Policy.id == 1)).first()
        if found is None:
            policy = current(session)
            found = (policy.k_threshold, policy.dominance_share, policy.rounding_unit,
                     policy.request_cap)
    ext[_PRIVACY] = (now, tuple(found), changed)
    return tuple(found)


def budgets(policy: Policy) -> dict[str, Decimal]:
    """Monthly budget per aid category, where one is set."""
    return {k: Decimal(v) for k, v in json.loads(policy.category_budgets or "{}").items()}


def _setting(name: str, raw, categories: list[str]):
    """One setting's new value as stored, or InvalidInput naming it and its rule."""
    if name in MONEY_FIELDS:
        try:
            value = Decimal(str(raw))
            if not value.is_finite() or value.adjusted() >= 12:
                raise InvalidOperation
            value = value.quantize(Decimal("0.01"))
        except InvalidOperation:
            raise InvalidInput(_("%(field)s: %(value)s is not an amount", field=name,
                                 value=repr(raw)[:40]), field=name) from None
        if value < 0 or (value == 0 and name != "reserve_floor"):
            raise InvalidInput(_("%(field)s: must be more than zero", field=name), field=name)
        return value
    if name in INT_FIELDS:
        lo, hi = INT_FIELDS[name]
        if not isinstance(raw, int) or isinstance(raw, bool) or not lo <= raw <= hi:
            raise InvalidInput(_("%(field)s: a whole number from %(lo)s to %(hi)s", field=name,
                                 lo=lo, hi=hi), field=name)
        return raw
    if name == "category_budgets":
        if not isinstance(raw, dict) or any(k not in categories for k in raw):
            raise InvalidInput(_("category_budgets: {category: amount} for the fund's "
                                 "categories (%(categories)s)",
                                 categories=", ".join(categories)), field=name)
        parsed = {}
        for cat, amount in raw.items():
            try:
                parsed[cat] = Decimal(str(amount))
                if not parsed[cat].is_finite() or parsed[cat].adjusted() >= 12:
                    raise InvalidOperation
                parsed[cat] = parsed[cat].quantize(Decimal("0.01"))
            except InvalidOperation:
                parsed[cat] = None
            if parsed[cat] is None or parsed[cat] <= 0:
                raise InvalidInput(_("category_budgets: %(category)s: %(value)s is not an "
                                     "amount above zero", category=cat,
                                     value=repr(amount)[:40]), field=name)
        return json.dumps({k: str(v) for k, v in parsed.items()}, sort_keys=True)
    raise InvalidInput(_("%(field)s: not a policy setting", field=name), field=name)


def check_changes(changes: dict, categories: list[str]) -> dict:
    """Every setting's new value, checked; one InvalidInput carrying every refusal at once
    (`.errors`, app.workflow.inputs.gather) when any breaks its rule."""
    from app.workflow.inputs import gather

    return gather(**{name: (lambda name=name, raw=raw: _setting(name, raw, categories))
                     for name, raw in changes.items()})


def update_policy(actor: Person, changes: dict, categories: list[str]) -> Policy:
    """Change policy fields (admins only); every change is audited with before and after.
    Nothing changes unless every setting given keeps its rule."""
    if not actor.has(Role.admin):
        raise Forbidden(_("only an admin may change the fund's policy"))
    if not changes:
        raise InvalidInput("no setting given", field=None)
    values = check_changes(changes, categories)
    with session_scope() as session:
        policy = current(session)
        before = {}
        for name, value in values.items():
            before[name] = str(getattr(policy, name))
            setattr(policy, name, value)
        policy.updated_at, policy.updated_by = utcnow(), actor.id
        audit.record(session, actor.id, "policy.changed", "policy",
                     before=before, after={k: str(getattr(policy, k)) for k in before})
    current_app.extensions.pop(_PRIVACY, None)
    stamp.touch("policy")  # every worker's public answers are worked out again
    return policy


def describe(policy: Policy) -> dict:
    """The policy as plain values (for the CLI, the API and the pages)."""
    return {**{name: str(getattr(policy, name)) for name in MONEY_FIELDS},
            **{name: getattr(policy, name) for name in INT_FIELDS},
            "category_budgets": {k: str(v) for k, v in budgets(policy).items()}}


def approvals_needed(policy: Policy, amount: Decimal) -> int:
    """One approval, or two at or above the policy's threshold."""
    return 2 if amount >= policy.second_approval_at else 1


def check_request_cap(policy: Policy, amount: Decimal, currency: str) -> None:
    """The amount of one request may not exceed the cap."""
    if amount > policy.request_cap:
        raise PolicyRefused(_("request cap: %(amount)s is over the cap of %(cap)s per request",
                              amount=fmt(amount, currency),
                              cap=fmt(policy.request_cap, currency)),
                            code="request_cap", field="amount")


def member_used(session: Session, member_id: int, since: dt.datetime,
                exclude_id: int | None) -> Decimal:
    """What a member was approved (less cancelled, unpaid parts) since `since`: one sum
    worked out by the database, whatever the member's history."""
    zero = Decimal("0.00")
    query = select(func.coalesce(func.sum(case(
        (AidRequest.status == Status.cancelled, AidRequest.paid_amount),
        else_=func.coalesce(AidRequest.approved_amount, zero))), zero)).where(
        AidRequest.member_id == member_id, AidRequest.status.in_([s.value for s in COMMITTED]),
        AidRequest.approved_at >= since)
    if exclude_id is not None:
        query = query.where(AidRequest.id != exclude_id)
    return Decimal(session.exec(query).one()).quantize(zero)


def check_approval(session: Session, policy: Policy, request: AidRequest, amount: Decimal,
                   approver: Person, *, available: Decimal, category_month_total: Decimal,
                   currency: str, now: dt.datetime) -> None:
    """Every rule an approval of `amount` must meet; raise the first that refuses."""
    if approver.id == request.member_id:
        raise PolicyRefused(_("self-approval: nobody approves their own request"),
                            code="self_approval")
    if amount > request.amount:
        raise InvalidInput(_("amount: %(amount)s is more than the %(asked)s asked for",
                             amount=fmt(amount, currency),
                             asked=fmt(request.amount, currency)), field="amount")
    check_request_cap(policy, amount, currency)
    window = policy.member_window_days
    used = member_used(session, request.member_id, now - dt.timedelta(days=window), request.id)
    if used + amount > policy.member_cap:
        raise PolicyRefused(_("member cap: %(used)s of %(cap)s used in the last %(days)s "
                              "days; this request needs %(amount)s",
                              used=fmt(used, currency), cap=fmt(policy.member_cap, currency),
                              days=window, amount=fmt(amount, currency)),
                            code="member_cap")
    if available - amount < policy.reserve_floor:
        raise PolicyRefused(_("reserve floor: approving %(amount)s would leave %(left)s "
                              "available, below the floor of %(floor)s",
                              amount=fmt(amount, currency), left=fmt(available - amount, currency),
                              floor=fmt(policy.reserve_floor, currency)), code="reserve_floor")
    budget = budgets(policy).get(request.category)
    if budget is not None and category_month_total + amount > budget:
        raise PolicyRefused(_("category budget: %(used)s of the %(budget)s %(category)s "
                              "budget is used this month; this request needs %(amount)s",
                              used=fmt(category_month_total, currency),
                              budget=fmt(budget, currency), category=request.category,
                              amount=fmt(amount, currency)), code="category_budget")
