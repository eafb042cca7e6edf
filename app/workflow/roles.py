"""Who holds power, and how it changes: no single person may hand out the roles the
policy splits between two (issue 16, item 4).

Giving someone the treasurer, admin or intake role (a change of roles, or an invitation being
accepted) waits for a second person — an active admin or treasurer who is neither the one
who asked nor the one who gets it — whenever the fund has such a person; a fund of one
admin can still start. Every change of roles and every invitation is announced to every
other admin and treasurer on their next page view (`Notice`), and ends the API tokens of
the person whose roles changed.
"""

from __future__ import annotations

import json

from flask_babel import gettext as _
from sqlmodel import Session, select

from app.db import session_scope
from app.models import Notice, Person, Role, RoleGrant, utcnow
from app.workflow import audit
from app.workflow.errors import Conflict, Forbidden, NotFound

POWER = frozenset({Role.admin.value, Role.treasurer.value})
# Roles whose grant waits for a second person: power, and the intake role, which files
# requests for people who cannot check on them and holds their contacts (issue 20). Only
# POWER may confirm a grant.
GUARDED = POWER | {Role.intake.value}


def _powerful(session: Session, *, besides: set[int]) -> list[Person]:
    """Active admins and treasurers, leaving out the people in `besides`."""
    return [p for p in session.exec(select(Person).where(Person.active == True))  # noqa: E712
            if p.id not in besides and POWER & set(p.roles.split(","))]


def announce(session: Session, actor_id: int | None, kind: str, **params) -> None:
    """Tell every admin and treasurer but the actor, on their next page view; and, by the
    discreet notification each chose (docs/notifications.md), that there is news."""
    from app.workflow import notify

    for p in _powerful(session, besides={actor_id} if actor_id else set()):
        session.add(Notice(person_id=p.id, kind=kind, params=json.dumps(params)))
    notify.role_changed(session, actor_id)


def change(session: Session, actor: Person | None, person: Person, roles: list[str],
           active: bool) -> str:
    """Apply `roles`/`active` to `person`, or hold the part that gives power for a second
    person's confirmation; return "applied" or "pending". The caller has checked the
    actor may manage people."""
    before = set(person.roles.split(","))
    gained = (set(roles) - before) & GUARDED
    actor_id = actor.id if actor else None
    second = _powerful(session, besides={actor_id, person.id})
    if gained and second and actor is not None:
        session.add(RoleGrant(person_id=person.id, roles=",".join(sorted(set(roles))),
                              active=active, requested_by=actor.id))
        _apply(session, actor_id, person, sorted(set(roles) - gained) or ["member"], active)
        audit.record(session, actor_id, "person.roles_requested", f"person:{person.id}",
                     roles=",".join(sorted(set(roles))))
        announce(session, actor_id, "grant_waiting", actor=actor.handle,
                 person=person.handle, roles=",".join(sorted(gained)))
        return "pending"
    _apply(session, actor_id, person, sorted(set(roles)), active)
    return "applied"


def _apply(session: Session, actor_id: int | None, person: Person, roles: list[str] | None,
           active: bool) -> None:
    from app.workflow.tokens import revoke_all

    before = (person.roles, person.active)
    if roles is not None:
        person.roles = ",".join(roles)
    person.active = active
    after = (person.roles, person.active)
    if after == before:
        return
    audit.record(session, actor_id, "person.roles_changed", f"person:{person.id}",
                 before=list(before), after=list(after))
    actor = session.get(Person, actor_id) if actor_id else None
    announce(session, actor_id, "roles_changed", actor=actor.handle if actor else "carebooks",
             person=person.handle, roles=person.roles, active=person.active)
    revoke_all(session, person.id, "role change" if active else "disabled")


def pending(actor: Person) -> list[dict]:
    """Grants of power waiting for a second person (admins and treasurers see them)."""
    _require_power(actor)
    with session_scope() as session:
        rows = session.exec(select(RoleGrant).where(RoleGrant.decided_at == None)  # noqa: E711
                            .order_by(RoleGrant.id)).all()
        out = []
        for g in rows:
            who, asker = session.get(Person, g.person_id), session.get(Person, g.requested_by)
            out.append({"id": g.id, "person": who.handle, "email": who.email,
                        "roles": g.roles.split(","), "requested_by": asker.handle,
                        "created_at": g.created_at,
                        "may_decide": actor.id not in (g.requested_by, g.person_id)})
    return out


def decide(actor: Person, grant_id: int, confirm: bool) -> str:
    """Confirm (apply) or refuse a grant of power; not by who asked, nor by who gets it."""
    _require_power(actor)
    with session_scope() as session:
        grant = session.get(RoleGrant, grant_id, with_for_update=True)
        if grant is None:
            raise NotFound(_("no such request for a role"))
        if grant.decided_at is not None:
            raise Conflict(_("this request for a role is already settled"))
        if actor.id in (grant.requested_by, grant.person_id):
            raise Forbidden(_("a second person must confirm this: not the admin who asked, "
                              "nor the person who would get the role"))
        grant.decided_by, grant.decided_at = actor.id, utcnow()
        grant.outcome = "confirmed" if confirm else "refused"
        person = session.get(Person, grant.person_id)
        audit.record(session, actor.id, f"person.roles_{grant.outcome}",
                     f"person:{person.id}", roles=grant.roles)
        if confirm:
            _apply(session, actor.id, person, grant.roles.split(","), grant.active)
        else:
            announce(session, actor.id, "grant_refused", actor=actor.handle,
                     person=person.handle, roles=grant.roles)
        return grant.outcome


def take_notices(person_id: int) -> list[tuple[str, dict]]:
    """The notices `person_id` has not seen yet, marked seen."""
    with session_scope() as session:
        rows = session.exec(select(Notice).where(Notice.person_id == person_id,
                                                 Notice.seen_at == None)  # noqa: E711
                            .order_by(Notice.id)).all()
        now = utcnow()
        for row in rows:
            row.seen_at = now
        return [(row.kind, json.loads(row.params)) for row in rows]


def notice_text(kind: str, params: dict) -> str:
    """The sentence a notice shows, in the current language."""
    p = {k: v for k, v in params.items() if isinstance(v, (str, int, bool))}
    if kind == "grant_waiting":
        return _("%(actor)s asked to give %(person)s the role %(roles)s: a second admin or "
                 "treasurer must confirm it (Roles waiting).", **_fill(p))
    if kind == "grant_refused":
        return _("%(actor)s refused to give %(person)s the role %(roles)s.", **_fill(p))
    if kind == "invitation":
        return _("%(actor)s invited someone with the role %(roles)s.", **_fill(p))
    if kind == "roles_changed":
        return _("%(actor)s changed the roles of %(person)s: now %(roles)s%(disabled)s.",
                 **_fill(p), disabled="" if p.get("active", True) else _(", disabled"))
    return _("Something changed in who may do what: see the audit log.")


def _fill(p: dict) -> dict:
    return {k: p.get(k, "?") for k in ("actor", "person", "roles")}


def _require_power(actor: Person) -> None:
    if not (POWER & set(actor.roles.split(","))):
        raise Forbidden(_("only an admin or a treasurer may see or settle this"))
