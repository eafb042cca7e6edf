"""An admin's pages: people and roles, one-time invitations, the fund's policy."""

from __future__ import annotations

import functools
import re

from flask import (Blueprint, abort, flash, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user

from app.fund import aid_categories
from app.web import attach, person, recent, require_filled, role, signed_in
from app.web.forms import EmptyForm, InviteForm, RolesForm, policy_form
from app.workflow import people, policy, roles
from app.workflow.errors import WorkflowError

bp = Blueprint("admin", __name__, url_prefix="/admin")
admin = role("admin")


def _people_page(status: int = 200, invite_form=None):
    chosen = {"role": request.args.get("role", "").strip()[:20],
              "q": request.args.get("q", "").strip()[:80]}
    if chosen["role"] not in ROLE_NAMES:
        chosen["role"] = ""
    everyone = people.list_people(person(), chosen["role"], chosen["q"])
    forms = {}
    for p in everyone:
        f = RolesForm(prefix=f"p{p['id']}")
        f.roles.data, f.active.data = p["roles"], p["active"]
        forms[p["id"]] = f
    link = session.pop("invitation_link", None)
    from app.workflow import notify
    return render_template("admin/people.html", people=everyone, forms=forms,
                           invite_form=invite_form or InviteForm(), link=link,
                           invitations=people.list_invitations(person()),
                           empty=EmptyForm(), mail=notify.status_for_admin(),
                           chosen=chosen, roles=ROLE_NAMES,
                           roles_form_choices=[(k, str(v)) for k, v in
                                               RolesForm(formdata=None).roles.choices],
                           total=len(everyone) if not any(chosen.values())
                           else len(people.list_people(person()))), status


ROLE_NAMES = ("member", "treasurer", "admin", "auditor", "intake")


@bp.get("/people")
@admin
def people_page():
    """Everyone, their roles, and a form to invite someone."""
    return _people_page()


@bp.get("")
@admin
def home():
    """/admin, where an admin lands: what needs an admin today (grants of power waiting
    for a second person, addresses the mail relay refused, the custody of the fund's key,
    open invitations), each with a link to where it is done."""
    from app import custody
    from app.custody import memory
    from app.workflow import notify

    grants = roles.pending(person())
    held = custody.current()
    waiting = memory.waiting_shares() if held is not None else None
    return render_template(
        "admin/dashboard.html", grants=grants,
        mine=[g for g in grants if g["may_decide"]], mail=notify.status_for_admin(),
        invitations=people.list_invitations(person()),
        custody={"held": held is not None, "unlocked": held is not None
                 and custody.is_unlocked(), "waiting": bool(waiting)},
        people=len(people.list_people(person())),
        words={k: str(v) for k, v in RolesForm(formdata=None).roles.choices})


@bp.post("/people/<int:person_id>")
@admin
@recent
def set_roles(person_id: int):
    """Change someone's roles; giving power may wait for a second person."""
    form = RolesForm(prefix=f"p{person_id}")
    if form.validate_on_submit():
        try:
            outcome = people.set_roles(person(), person_id, form.roles.data or [],
                                       bool(form.active.data))
        except WorkflowError as exc:
            flash(exc.message, "error")
        else:
            if outcome == "pending":
                flash(_("Saved. The treasurer or admin role waits for a second admin or "
                        "treasurer to confirm it (Roles waiting)."), "info")
            else:
                flash(_("Roles saved."), "success")
    return redirect(url_for("admin.people_page"), 303)


def power(view):
    """Admins and treasurers (the people who may confirm a grant of power)."""

    @functools.wraps(view)
    @signed_in
    def wrapper(*args, **kwargs):
        if not (current_user.has("admin") or current_user.has("treasurer")):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@bp.get("/roles-waiting")
@power
def grants_page():
    """Grants of the treasurer or admin role waiting for a second person."""
    return render_template("admin/grants.html", grants=roles.pending(person()),
                           form=EmptyForm())


@bp.post("/roles-waiting/<int:grant_id>/<any(confirm, refuse):decision>")
@power
@recent
def decide_grant(grant_id: int, decision: str):
    """Confirm or refuse a grant someone else asked for."""
    if EmptyForm().validate_on_submit():
        outcome = roles.decide(person(), grant_id, decision == "confirm")
        flash(_("Confirmed: the role is given.") if outcome == "confirmed"
              else _("Refused: the role is not given."), "success")
    return redirect(url_for("admin.grants_page"), 303)


@bp.post("/invitations")
@admin
@recent
def invite():
    """Make a one-time link; it is shown once, to give to the person yourself."""
    form = InviteForm()
    if form.validate_on_submit():
        try:
            token = people.invite(person(), form.email.data or "", form.roles.data or [])
        except WorkflowError as exc:
            attach(form, exc)
        else:
            session["invitation_link"] = url_for("account.open_invitation", token=token, _external=True)
            return redirect(url_for("admin.people_page"), 303)
    return _people_page(422, invite_form=form)


@bp.post("/invitations/<int:invitation_id>/revoke")
@admin
def revoke_invitation(invitation_id: int):
    """End an open invitation: its link stops working."""
    if EmptyForm().validate_on_submit():
        people.revoke_invitation(person(), invitation_id)
        flash(_("The invitation is revoked."), "success")
    return redirect(url_for("admin.people_page"), 303)


RULES = ("second_approval_at", "request_cap", "member_cap", "member_window_days",
         "reserve_floor", "k_threshold", "dominance_share", "rounding_unit",
         "purge_after_days")


def _typed(name: str, raw: str):
    """A whole-number rule as typed: an int when it is one, else the text (the workflow
    refuses it, naming the rule's range)."""
    if name in policy.INT_FIELDS and re.fullmatch(r"-?[0-9]{1,9}", raw.strip()):
        return int(raw)
    return raw


@bp.route("/policy", methods=["GET", "POST"])
@admin
@recent
def policy_page():
    """Every rule of the fund's policy, each with what it does; every refusal at once."""
    categories = aid_categories()
    current = policy.describe(policy.get_policy())
    budgets = current["category_budgets"]
    form = policy_form(categories, budgets)
    if form.validate_on_submit():
        changes, budget = {}, {}
        for name in RULES:
            raw = (getattr(form, name).data or "").strip()
            if raw and str(_typed(name, raw)) != str(current[name]):
                changes[name] = _typed(name, raw)
        for cat in categories:
            raw = (getattr(form, f"budget_{cat}").data or "").strip()
            if raw:
                budget[cat] = raw
        if budget != budgets:
            changes["category_budgets"] = budget
            for cat, raw in budget.items():  # each budget's refusal next to its field
                try:
                    policy.check_changes({"category_budgets": {cat: raw}}, categories)
                except WorkflowError as exc:
                    attach(form, exc, fields={"category_budgets": f"budget_{cat}"})
        checked = {k: v for k, v in changes.items() if k != "category_budgets"}
        try:
            if checked:
                policy.check_changes(checked, categories)
        except WorkflowError as exc:
            attach(form, exc)
        require_filled(form)
        if not form.errors:
            if not changes:
                flash(_("Nothing changed."), "info")
                return redirect(url_for("admin.policy_page"), 303)
            try:
                policy.update_policy(person(), changes, categories)
            except WorkflowError as exc:
                attach(form, exc)
            else:
                flash(_("The policy is saved."), "success")
                return redirect(url_for("admin.policy_page"), 303)
    elif not form.is_submitted():
        for name in RULES:
            getattr(form, name).data = current[name]
        for cat, amount in budgets.items():
            if hasattr(form, f"budget_{cat}"):
                getattr(form, f"budget_{cat}").data = amount
    status = 422 if form.errors or form.form_errors else 200
    return render_template("admin/policy.html", form=form, rules=RULES,
                           budget_fields=[getattr(form, f"budget_{c}") for c in categories]
                           ), status


@bp.get("/audit")
@admin
def audit_page():
    """The audit log in words, newest first, 50 to a page; filtered by who acted, the kind
    of event and a range of days (a GET form: a filtered page can be bookmarked); and
    whether its hash chain holds."""
    from app.web.audit_words import KIND_LABELS, sentence
    from app.workflow import audit, inputs

    args = request.args
    chosen = {k: args.get(k, "").strip()[:40] for k in ("who", "kind", "since", "until")}
    handles = {p["handle"]: p["id"] for p in people.list_people(person())}
    errors, days = [], {}
    for name, label in (("since", _("From")), ("until", _("Until"))):
        try:
            days[name] = inputs.date(chosen[name], name) if chosen[name] else None
        except WorkflowError:
            errors.append((f"audit-{name}", label,
                           _("write the day like 2026-11-30")))
            days[name] = None
    if chosen["who"] and chosen["who"].lstrip("@") not in handles:
        errors.append(("audit-who", _("Who"), _("nobody has that handle")))
    try:
        page = max(1, min(int(args.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    found = audit.search(handles.get(chosen["who"].lstrip("@")) if chosen["who"] else None,
                         chosen["kind"] if chosen["kind"] in KIND_LABELS else "",
                         days["since"], days["until"], page=page, per_page=PER_PAGE)
    from app.fund import books
    currency = books().currency
    for e in found["events"]:
        e["sentence"] = sentence(e, found["handles"], currency)
    query = {k: v for k, v in chosen.items() if v}
    return render_template("admin/audit.html", found=found, chosen=chosen, query=query,
                           kinds=KIND_LABELS, handles=sorted(handles), errors=errors,
                           chain=found["chain"] if found["ok"] else "BROKEN: " + found["chain"]
                           ), 422 if errors else 200


PER_PAGE = 50  # events on one page of the audit log
