"""The audit log in words: one sentence per event ("@alex approved R-2026-0013, 1 of 2"),
built from the event's action, subject and the codes, amounts and counts its details hold.

Only named facts of each kind of event are used; a detail the sentence does not name is
never shown (the log holds no personal text, and the page keeps it so even for a detail
added later). An unknown action falls back to its key.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.web.filters import money, month_name
from app.web.forms import category_label

# The kinds an admin filters by (app.workflow.audit.KINDS holds their action prefixes).
KIND_LABELS = {"sign_in": _l("Sign-ins and refused access"), "requests": _l("Requests"),
               "money": _l("Money"), "people": _l("People, invitations and tokens"),
               "policy": _l("Policy"), "books": _l("Books, reports and custody")}

# The policy's rules by name (the policy page uses the same labels).
RULE_LABELS = {"second_approval_at": _l("second approval from"),
               "request_cap": _l("most one request may ask for"),
               "member_cap": _l("most one member may receive"),
               "member_window_days": _l("window in days"),
               "reserve_floor": _l("reserve floor"),
               "k_threshold": _l("smallest group shown"),
               "dominance_share": _l("largest share of one giver"),
               "rounding_unit": _l("public figures rounded to"),
               "purge_after_days": _l("personal data kept for days"),
               "category_budgets": _l("budgets per category")}

# The steps in the custody of the fund's key (app.workflow.custody.record).
CUSTODY_STEPS = {"custody.split": _l("the fund's key was split into shares"),
                 "custody.resplit": _l("the fund's key was split again"),
                 "custody.split_started": _l("began splitting the fund's key"),
                 "custody.resplit_started": _l("began splitting the fund's key again"),
                 "custody.share_shown": _l("a share of the fund's key was shown to its keeper"),
                 "custody.unlocked": _l("the fund's key was unlocked"),
                 "custody.locked": _l("the fund's key was locked"),
                 "custody.shredded": _l("the fund's key was destroyed for good")}


def _person(subject: str, handles: dict) -> str:
    """`person:3` as `@alex`."""
    if subject.startswith("person:"):
        try:
            handle = handles.get(int(subject.split(":", 1)[1]))
        except ValueError:
            handle = None
        return f"@{handle}" if handle else _("someone since removed")
    return subject


def _month(value: str) -> str:
    """`2026-10` as `October 2026` (`octubre de 2026`)."""
    try:
        return month_name(value)
    except Exception:  # noqa: BLE001  (not a month: shown as it is)
        return value


def _roles(value) -> str:
    if isinstance(value, (list, tuple)):
        value = ",".join(value)
    return ", ".join(r for r in str(value or "").split(",") if r) or _("no role")


def sentence(event: dict, handles: dict, currency: str | None = None) -> str:
    """One event as a sentence in the reader's language (amounts in `currency`)."""
    action, subject = event["action"], event["subject"] or ""
    d = event["detail"] if isinstance(event["detail"], dict) else {}
    who = f"@{event['who']}" if event.get("who") else "Carebooks"
    person = _person(subject, handles)
    amount = money(d["amount"], currency) if "amount" in d else ""
    kw = {"who": who, "code": subject, "person": person, "amount": amount}
    match action:
        case "auth.signed_in":
            return _("%(who)s signed in", **kw)
        case "auth.signed_out":
            return _("%(who)s signed out", **kw)
        case "auth.failed":
            if d.get("reset"):
                return _("A recovery with a printed code failed")
            return (_("A sign-in with a known email failed") if d.get("known_email")
                    else _("A sign-in with an unknown email failed"))
        case "auth.second_factor_on":
            return _("%(who)s turned on the second factor", **kw)
        case "auth.second_factor_failed":
            return _("%(who)s typed a wrong code from the authenticator app", **kw)
        case "auth.second_factor_wrapped":
            return _("%(who)s's second factor was sealed to the fund's key", **kw)
        case "auth.recovery_code_used" | "auth.passphrase_reset":
            left = int(d.get("left", 0) or 0)
            return ngettext("%(who)s used a recovery code (%(num)s left)",
                            "%(who)s used a recovery code (%(num)s left)", left, who=who)
        case "auth.password_changed":
            return _("%(who)s changed their password", **kw)
        case "access.denied":
            return _("%(who)s was refused %(path)s", who=who, path=subject)
        case "request.submitted":
            kw["category"] = category_label(str(d.get("category", "")))
            if d.get("for"):
                return _("%(who)s asked for %(amount)s (%(category)s) on behalf of %(member)s: "
                         "%(code)s", member=_person(str(d["for"]), handles), **kw)
            return _("%(who)s asked for %(amount)s (%(category)s): %(code)s", **kw)
        case "request.approve":
            return _("%(who)s approved %(code)s, %(n)s of %(needed)s", n=d.get("approvals", 1),
                     needed=d.get("needed", 1), **kw)
        case "request.needs-info":
            return _("%(who)s asked the member a question on %(code)s", **kw)
        case "request.answer":
            return _("%(who)s answered the question on %(code)s", **kw)
        case "request.deny":
            return _("%(who)s denied %(code)s", **kw)
        case "request.withdraw":
            return _("%(who)s withdrew %(code)s", **kw)
        case "request.cancel":
            return _("%(who)s cancelled %(code)s; %(unpaid)s not paid is free again",
                     unpaid=money(d.get("reversed", "0"), currency), **kw)
        case "request.pay":
            return _("%(who)s recorded a payment of %(amount)s on %(code)s", **kw)
        case "request.payment_returned":
            return _("%(who)s recorded that a payment of %(amount)s on %(code)s came back", **kw)
        case "donation.recorded":
            return _("%(who)s recorded the donation %(code)s of %(amount)s", **kw)
        case "donation.refunded":
            return _("%(who)s gave back %(amount)s of the donation %(code)s", **kw)
        case "transfer.recorded":
            return _("%(who)s moved %(amount)s between the fund's accounts (%(code)s)", **kw)
        case "cost.recorded":
            return _("%(who)s paid a running cost of %(amount)s (%(code)s)", **kw)
        case "payments.batch":
            count = int(d.get("count", 0) or 0)
            return ngettext("%(who)s paid %(num)s request at once, %(total)s in all",
                            "%(who)s paid %(num)s requests at once, %(total)s in all", count,
                            who=who, total=money(d.get("total"), currency))
        case "import.confirmed":
            return _("%(who)s imported a bank statement: %(donations)s donations, "
                     "%(payments)s payments", donations=d.get("donations", 0),
                     payments=d.get("payments", 0), **kw)
        case "import.mapping_saved":
            return _("%(who)s saved an import mapping", **kw)
        case "fund.start_moved":
            return _("%(who)s moved where the books begin to %(day)s", day=d.get("start", ""),
                     **kw)
        case "person.added":
            return _("%(who)s added %(person)s (%(roles)s)", roles=_roles(d.get("roles")), **kw)
        case "person.claim_code":
            return _("%(who)s printed a claim code for %(person)s", **kw)
        case "person.claimed":
            return _("%(person)s claimed their account with a printed code", **kw)
        case "person.notify_changed":
            return _("%(who)s changed how they are told of news", **kw)
        case "person.roles_changed":
            return _("%(who)s changed the roles of %(person)s: %(before)s → %(after)s",
                     before=_roles(d.get("before")), after=_roles(d.get("after")), **kw)
        case "person.roles_requested":
            return _("%(who)s asked to give %(person)s the roles %(roles)s; a second person "
                     "must confirm", roles=_roles(d.get("roles")), **kw)
        case "person.roles_confirmed":
            return _("%(who)s confirmed the roles %(roles)s for %(person)s",
                     roles=_roles(d.get("roles")), **kw)
        case "person.roles_refused":
            return _("%(who)s refused the roles %(roles)s for %(person)s",
                     roles=_roles(d.get("roles")), **kw)
        case "invitation.created":
            return _("%(who)s made an invitation (%(roles)s)", roles=_roles(d.get("roles")),
                     **kw)
        case "invitation.opened":
            return _("An invitation was opened")
        case "invitation.revoked":
            return _("%(who)s revoked an invitation", **kw)
        case "token.created":
            return _("%(who)s made an API token for %(person)s (%(scopes)s)",
                     scopes=_roles(d.get("scopes")), **kw)
        case "token.revoked":
            return _("%(who)s revoked API tokens of %(person)s", **kw)
        case "token.money_refused":
            return _("An API token of %(person)s was refused a money step", **kw)
        case "policy.changed":
            before, after = d.get("before") or {}, d.get("after") or {}
            changes = "; ".join(f"{RULE_LABELS.get(k, k)} {before.get(k, '')} → {after.get(k, '')}"
                                for k in sorted(after))
            return _("%(who)s changed the policy: %(changes)s", changes=changes, **kw)
        case "month.sealed":
            return _("%(who)s sealed %(month)s", month=_month(subject), who=who)
        case "report.published":
            if d.get("correction"):
                return _("%(who)s published a correction of the report for %(month)s "
                         "(version %(version)s)", month=_month(subject), who=who,
                         version=d.get("version", ""))
            return _("%(who)s published the report for %(month)s", month=_month(subject),
                     who=who)
        case "data.purged":
            return _("Personal data older than %(days)s days was removed",
                     days=d.get("days", ""))
        case "data.key_rotated":
            return _("The key that protects personal data was changed")
        case "notice.failed":
            return _("A notice to %(person)s could not be sent", **kw)
        case _ if action in CUSTODY_STEPS:
            return _("%(who)s: %(step)s", who=who, step=CUSTODY_STEPS[action])
    return f"{who}: {action} {subject}".strip()
