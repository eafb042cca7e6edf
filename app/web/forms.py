"""The forms. They carry the fields and the CSRF token; the rules (what an amount may be,
which category exists) live in the workflow, which names the field it refuses."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, EmailField, HiddenField, IntegerField,
                     PasswordField, SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

PAYOUT_LABELS = {"bank": _l("Bank transfer"), "cash": _l("Cash"), "paypal": _l("PayPal"),
                 "venmo": _l("Venmo"), "check": _l("Check")}
CATEGORY_LABELS = {"rent": _l("Rent"), "utilities": _l("Utilities"), "food": _l("Food"),
                   "medical": _l("Medical"), "legal": _l("Legal"), "funeral": _l("Funeral"),
                   "transport": _l("Transport"), "other": _l("Other"),
                   "individual": _l("Individual"), "grant": _l("Grant"), "event": _l("Event")}


def category_label(name: str) -> str:
    """A category's name in the current language (its own name if it has no translation)."""
    return CATEGORY_LABELS.get(name, name.replace("-", " ").capitalize())


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), render_kw={"autocomplete": "current-password"})


class AcceptInvitationForm(FlaskForm):
    handle = StringField(_l("Public name (shown to other members and in reports)"),
                         render_kw={"autocomplete": "nickname"})
    password = PasswordField(_l("Choose a password (at least 12 characters)"),
                             render_kw={"autocomplete": "new-password"})


class RequestForm(FlaskForm):
    amount = StringField(_l("How much do you need?"), render_kw={"inputmode": "decimal",
                                                                 "autocomplete": "off"})
    category = SelectField(_l("What is it for?"))
    needed_by = StringField(_l("When do you need it by?"), render_kw={"type": "date"})
    payout_method = SelectField(_l("How should we pay you?"))
    story = TextAreaField(_l("A few words about your situation (only treasurers read this)"),
                          render_kw={"rows": 4, "maxlength": 2000})


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Your answer"), render_kw={"rows": 3, "maxlength": 1000})


class QuestionForm(FlaskForm):
    question = TextAreaField(_l("Your question to the member"),
                             render_kw={"rows": 3, "maxlength": 1000})


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason (the member sees it)"),
                           render_kw={"rows": 2, "maxlength": 1000})


class ApproveForm(FlaskForm):
    amount = StringField(_l("Amount to approve (leave as asked, or lower)"),
                         render_kw={"inputmode": "decimal"})


class PaymentForm(FlaskForm):
    amount = StringField(_l("Amount paid"), render_kw={"inputmode": "decimal"})
    account = SelectField(_l("Paid from"))
    date = StringField(_l("Date paid"), render_kw={"type": "date"})
    reference = StringField(_l("Reference (the bank's or Venmo's transaction id, if any)"),
                            render_kw={"maxlength": 100, "autocomplete": "off"})
    note = TextAreaField(_l("Note: how it went (treasurers only; never in the books)"),
                         render_kw={"rows": 2, "maxlength": 280})


class PaySeveralForm(FlaskForm):
    """Pay several approved requests from one account (the codes are checkboxes)."""
    account = SelectField(_l("Paid from"))
    date = StringField(_l("Date paid"), render_kw={"type": "date"})
    reference = StringField(_l("Reference, if one transfer paid them all"),
                            render_kw={"maxlength": 100, "autocomplete": "off"})
    note = TextAreaField(_l("Note (treasurers only; never in the books)"),
                         render_kw={"rows": 2, "maxlength": 280})
    batch = HiddenField()


class EmptyForm(FlaskForm):
    """A form with only the CSRF token (withdraw, sign out, language)."""


class LanguageForm(FlaskForm):
    """The language switch. It carries no CSRF token, so the public pages hold nothing
    personal and can be cached (docs/performance.md); a cross-site post is still refused
    by app.security's Sec-Fetch-Site/Origin check, and the worst a forged switch could do
    is change someone's language."""

    class Meta:
        csrf = False

    lang = HiddenField()
    next = HiddenField()


class NotifyForm(FlaskForm):
    notify = SelectField(_l("How should we tell you there is news?"))
    lang = SelectField(_l("In which language?"))


class DonationForm(FlaskForm):
    amount = StringField(_l("Amount received"), render_kw={"inputmode": "decimal"})
    fee = StringField(_l("Processor fee (if any)"), render_kw={"inputmode": "decimal"})
    account = SelectField(_l("Received into"))
    date = StringField(_l("Date received"), render_kw={"type": "date"})
    category = SelectField(_l("Kind of donation"))
    donor_name = StringField(_l("Donor's name (only if they agreed to be named)"))
    donor_consents_public = BooleanField(_l("The donor agreed to be named publicly"))


class InviteForm(FlaskForm):
    email = EmailField(_l("Email of the person to invite"))
    roles = SelectMultipleField(_l("Roles"), choices=[("member", _l("Member")),
                                                      ("treasurer", _l("Treasurer")),
                                                      ("admin", _l("Admin")),
                                                      ("auditor", _l("Auditor"))],
                                option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))


class RolesForm(FlaskForm):
    roles = SelectMultipleField(_l("Roles"), choices=[("member", _l("Member")),
                                                      ("treasurer", _l("Treasurer")),
                                                      ("admin", _l("Admin")),
                                                      ("auditor", _l("Auditor"))],
                                option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))
    active = BooleanField(_l("Account active"))


class PolicyForm(FlaskForm):
    second_approval_at = StringField(_l("A second approval is needed from"))
    request_cap = StringField(_l("Most one request may ask"))
    member_cap = StringField(_l("Most one member may receive over the window"))
    member_window_days = IntegerField(_l("Window, in days"), validators=[Optional()])
    reserve_floor = StringField(_l("Reserve floor (available may not go below)"))
    k_threshold = IntegerField(_l("Smallest group shown in public figures"),
                               validators=[Optional()])



class PublishForm(FlaskForm):
    month = SelectField(_l("Month (sealed months only)"))
    paper = SelectField(_l("Paper"), choices=[("a4", "A4"), ("letter", "US Letter")])
    reason = TextAreaField(_l("If this corrects a published report: what changed and why"),
                           render_kw={"rows": 2, "maxlength": 500})


class CodeForm(FlaskForm):
    code = StringField(_l("The 6-digit code from your authenticator app (or a recovery code)"),
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"})


class ConfirmForm(FlaskForm):
    password = PasswordField(_l("Your password"), render_kw={"autocomplete": "current-password"})
    code = StringField(_l("The 6-digit code from your authenticator app"),
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"})


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Your current password"),
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("New password (12 to 128 characters)"),
                        render_kw={"autocomplete": "new-password"})


# The exports an import or a reconciliation reads (app/imports).
SOURCES = [("paypal", _l("PayPal activity download")), ("venmo", _l("Venmo statement")),
           ("stripe", _l("Stripe payments export")),
           ("bank", _l("Bank CSV (with a saved column mapping)"))]


class ImportForm(FlaskForm):
    file = FileField(_l("The exported file (CSV)"), render_kw={"accept": ".csv,text/csv"})
    format = SelectField(_l("Where it comes from"), choices=SOURCES)
    mapping = SelectField(_l("Column mapping (bank CSV only)"))
    account = SelectField(_l("Cash account the money is in"))
    category = SelectField(_l("Kind of donation"))


class ConfirmImportForm(FlaskForm):
    token = HiddenField()
    digest = HiddenField()
    format = HiddenField()
    mapping = HiddenField()
    account = HiddenField()
    category = HiddenField()


class ReconcileForm(FlaskForm):
    file = FileField(_l("The statement file (CSV)"), render_kw={"accept": ".csv,text/csv"})
    format = SelectField(_l("Where it comes from"), choices=SOURCES)
    mapping = SelectField(_l("Column mapping (bank CSV only)"))
    account = SelectField(_l("Cash account the statement is for"))
    month = StringField(_l("Month"), render_kw={"placeholder": "2026-10",
                                                "inputmode": "numeric"})


class TransferForm(FlaskForm):
    amount = StringField(_l("Amount that left the account"), render_kw={"inputmode": "decimal"})
    fee = StringField(_l("Fee kept on the way (if any)"), render_kw={"inputmode": "decimal"})
    from_account = SelectField(_l("From"))
    to_account = SelectField(_l("To"))
    date = StringField(_l("Date"), render_kw={"type": "date"})


class CostForm(FlaskForm):
    amount = StringField(_l("Amount paid"), render_kw={"inputmode": "decimal"})
    kind = SelectField(_l("Kind of cost"))
    account = SelectField(_l("Paid from"))
    date = StringField(_l("Date"), render_kw={"type": "date"})


class RefundForm(FlaskForm):
    code = StringField(_l("Donation code (D-…)"), render_kw={"autocomplete": "off"})
    amount = StringField(_l("Amount given back (empty: all that is left)"),
                         render_kw={"inputmode": "decimal"})


class ReturnedForm(FlaskForm):
    code = StringField(_l("Request code (R-…)"), render_kw={"autocomplete": "off"})
    amount = StringField(_l("Amount that came back (empty: all that was paid)"),
                         render_kw={"inputmode": "decimal"})
    account = SelectField(_l("Came back into"))
    date = StringField(_l("Date"), render_kw={"type": "date"})
