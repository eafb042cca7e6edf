"""The forms. They carry the fields and the CSRF token; the rules (what an amount may be,
which category exists) live in the workflow, which names the field it refuses."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, EmailField, HiddenField, PasswordField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.widgets import CheckboxInput, ListWidget


class Required:
    """Marks a field as required on the page (the label's mark, `aria-required`). It checks
    nothing: the rule lives in the workflow, which refuses an empty value with its own
    words, together with every other refusal of the form."""

    field_flags = {"required": True}

    def __call__(self, form, field):  # noqa: D102
        return None


def normal_amount(text: str) -> str:
    """An amount typed in the page's language as the workflow reads it: `1.234,56` and
    `120,50` in Spanish, `1,234.56` in English -> `1234.56` (Babel's number parsing,
    strict, so `1,5.0` is not guessed at). Text that is not a number in the page's
    language but is one as the workflow writes it (`120.50` on a Spanish page) passes as
    it is; anything else passes unchanged, for the workflow to refuse with its own words."""
    from babel.numbers import NumberFormatError, parse_decimal
    from flask_babel import get_locale

    text = (text or "").strip()
    if not text:
        return text
    try:
        value = parse_decimal(text, locale=get_locale() or "en", strict=True)
    except (NumberFormatError, ValueError):
        return text
    if not value.is_finite():
        return text
    return format(value, "f")


class Choice(SelectField):
    """A choice whose rule (which options exist) the workflow checks, with every other
    refusal of the form at once; WTForms' own check would stop the form before that."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validate_choice", False)
        super().__init__(*args, **kwargs)


class AmountField(StringField):
    """A money field in the page's language: parsed with Babel (normal_amount), shown
    again exactly as typed, and a stored amount shown in the page's format."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {})
        kwargs["render_kw"].setdefault("inputmode", "decimal")
        kwargs["render_kw"].setdefault("autocomplete", "off")
        kwargs["render_kw"].setdefault("class", "short")
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = normal_amount(valuelist[0])

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data in (None, ""):
            return ""
        from decimal import Decimal, InvalidOperation

        from flask_babel import format_decimal
        try:
            return format_decimal(Decimal(str(self.data)), format="#,##0.00")
        except (InvalidOperation, ValueError):
            return str(self.data)

from ledger import PAYOUT_METHODS
from reports import categories

# What a person reads for each payout method the ledger knows (ledger.PAYOUT_METHODS, the
# names' home); a method without a label here shows the words the books use for it.
PAYOUT_LABELS = {"bank": _l("Bank transfer"), "cash": _l("Cash"), "paypal": _l("PayPal"),
                 "venmo": _l("Venmo"), "check": _l("Check")}


def payout_label(method: str) -> str:
    """A payout method's name in the current language."""
    return str(PAYOUT_LABELS.get(method) or PAYOUT_METHODS.get(method, method))


def payout_choices() -> list[tuple[str, str]]:
    """The payout methods a form offers: every method the books know, in their order."""
    return [(method, payout_label(method)) for method in PAYOUT_METHODS]


def category_label(name: str) -> str:
    """A category's name in the current language (its home: reports/categories.py)."""
    return categories.label(name, gettext)


class SignInForm(FlaskForm):
    # an email, or the name on a printed claim sheet (people without email): a text field
    email = StringField(_l("Email (or your name, if you have no email here)"), [Required()],
                        render_kw={"autocomplete": "username", "autocapitalize": "none",
                                   "spellcheck": "false"})
    password = PasswordField(_l("Password"), [Required()],
                             render_kw={"autocomplete": "current-password"})


REACH_LABELS = {"phone": _l("A phone call"), "in_person": _l("In person"),
                "contact": _l("Through someone they trust")}


class FileForForm(FlaskForm):
    """A request filed on someone's behalf (intake volunteers and treasurers)."""

    handle = StringField(_l("A name for them here"),
                         render_kw={"autocomplete": "off", "autocapitalize": "none",
                                    "spellcheck": "false"})
    amount = AmountField(_l("How much do they need?"))
    category = SelectField(_l("What is it for?"))
    needed_by = StringField(_l("When do they need it by?"), render_kw={"type": "date"})
    payout_method = SelectField(_l("How should we pay them?"))
    story = TextAreaField(_l("A few words about their situation"),
                          render_kw={"rows": 4, "maxlength": 2000})
    reach_by = SelectField(_l("How do they want to be told of news?"))
    contact = TextAreaField(_l("How to reach them"),
                            render_kw={"rows": 2, "maxlength": 300, "autocomplete": "off"})


class ClaimForm(FlaskForm):
    code = StringField(_l("The code on your printed sheet"),
                       render_kw={"autocomplete": "one-time-code", "autocapitalize": "characters",
                                  "spellcheck": "false"})
    password = PasswordField(_l("Choose a passphrase (at least 12 characters; a few words "
                                "you will remember)"),
                             render_kw={"autocomplete": "new-password"})


class ResetForm(FlaskForm):
    handle = StringField(_l("Your name here"), render_kw={"autocomplete": "username",
                                                         "autocapitalize": "none"})
    code = StringField(_l("One of your recovery codes"),
                       render_kw={"autocomplete": "off", "spellcheck": "false"})
    password = PasswordField(_l("A new passphrase (at least 12 characters)"),
                             render_kw={"autocomplete": "new-password"})


class AcceptInvitationForm(FlaskForm):
    handle = StringField(_l("Name other members see"), [Required()],
                         render_kw={"autocomplete": "nickname"})
    password = PasswordField(_l("Choose a password (at least 12 characters)"), [Required()],
                             render_kw={"autocomplete": "new-password"})


class RequestForm(FlaskForm):
    amount = AmountField(_l("How much do you need?"), [Required()])
    category = Choice(_l("What is it for?"), [Required()])
    needed_by = StringField(_l("When do you need it by?"), [Required()],
                            render_kw={"type": "date"})
    payout_method = Choice(_l("How should we pay you?"), [Required()])
    story = TextAreaField(_l("A few words about your situation (only treasurers read this)"),
                          [Required()], render_kw={"rows": 4, "maxlength": 2000})


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Your answer"), [Required()], render_kw={"rows": 3, "maxlength": 1000})


class QuestionForm(FlaskForm):
    question = TextAreaField(_l("Your question to the member"), [Required()],
                             render_kw={"rows": 3, "maxlength": 1000})


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason (the member sees it)"), [Required()],
                           render_kw={"rows": 2, "maxlength": 1000})


class ApproveForm(FlaskForm):
    amount = AmountField(_l("Amount to approve (leave as asked, or lower)"), [Required()])


class PaymentForm(FlaskForm):
    amount = AmountField(_l("Amount paid"), [Required()])
    account = Choice(_l("Paid from"), [Required()])
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
    notify = Choice(_l("How should we tell you there is news?"))
    lang = Choice(_l("In which language?"))


class DonationForm(FlaskForm):
    amount = AmountField(_l("Amount received"), [Required()])
    fee = AmountField(_l("Processor fee (if any)"))
    account = Choice(_l("Received into"), [Required()])
    date = StringField(_l("Date received"), [Required()], render_kw={"type": "date"})
    category = Choice(_l("Kind of donation"), [Required()])
    donor_name = StringField(_l("Donor's name (only if they agreed to be named)"))
    donor_consents_public = BooleanField(_l("The donor agreed to be named publicly"))


class InviteForm(FlaskForm):
    email = EmailField(_l("Email of the person to invite"), [Required()])
    roles = SelectMultipleField(_l("Roles"), choices=[("member", _l("Member")),
                                                      ("treasurer", _l("Treasurer")),
                                                      ("admin", _l("Admin")),
                                                      ("auditor", _l("Auditor")),
                                                      ("intake", _l("Intake volunteer"))],
                                option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))


class RolesForm(FlaskForm):
    roles = SelectMultipleField(_l("Roles"), choices=[("member", _l("Member")),
                                                      ("treasurer", _l("Treasurer")),
                                                      ("admin", _l("Admin")),
                                                      ("auditor", _l("Auditor")),
                                                      ("intake", _l("Intake volunteer"))],
                                option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))
    active = BooleanField(_l("Account active"))


def _whole(label, hint):
    """A whole number of the policy, read by the workflow (which names its range)."""
    return StringField(label, [Required()], description=hint,
                       render_kw={"inputmode": "numeric", "autocomplete": "off",
                                  "class": "short"})


class PolicyForm(FlaskForm):
    """Every rule of the policy (app.workflow.policy), each with what it does; the budgets
    per category are added per fund (policy_form)."""

    second_approval_at = AmountField(_l("A second approval is needed from"), [Required()],
                                     description=_l("A request of this amount or more needs "
                                                    "two treasurers to approve it."))
    request_cap = AmountField(_l("The most one request may ask for"), [Required()],
                              description=_l("A member cannot ask for more in one request."))
    member_cap = AmountField(_l("The most one member may receive over the window"),
                             [Required()],
                             description=_l("What one member was promised over the window, "
                                            "this request included, may not go above this."))
    member_window_days = _whole(_l("Window, in days"),
                                _l("How many days back the member's cap counts (1 to 3650)."))
    reserve_floor = AmountField(_l("Reserve floor (available may not go below)"),
                                [Required()],
                                description=_l("An approval that would leave less than this "
                                               "available is refused. 0 means no floor."))
    k_threshold = _whole(_l("Smallest group shown in public figures"),
                         _l("Public figures never show a group of fewer people than this "
                            "(2 to 50)."))
    dominance_share = _whole(_l("Largest share of one person in a public figure, in percent"),
                             _l("A public figure where one person's amount is more than this "
                                "share of it is merged with others or hidden (1 to 100)."))
    rounding_unit = _whole(_l("Public medians rounded to"),
                           _l("Medians on public reports are rounded to this unit of money, "
                              "so no median is one person's exact amount (1 to 1000)."))
    purge_after_days = _whole(_l("Days personal text is kept after a request closes"),
                              _l("Stories, questions and answers are replaced by "
                                 "\"[removed]\" this many days after a request is closed "
                                 "(1 to 3650)."))


def policy_form(categories: list[str], budgets: dict, formdata=None) -> PolicyForm:
    """The policy form with a monthly budget field per aid category (empty: no budget)."""

    class Form(PolicyForm):
        pass

    for cat in categories:
        setattr(Form, f"budget_{cat}", AmountField(
            _l("Monthly budget: %(category)s", category=category_label(cat))))
    return Form() if formdata is None else Form(formdata)


class PublishForm(FlaskForm):
    month = Choice(_l("Month (sealed months only)"))
    paper = Choice(_l("Paper"), choices=[("a4", "A4"), ("letter", "US Letter")])
    reason = TextAreaField(_l("If this corrects a published report: what changed and why"),
                           render_kw={"rows": 2, "maxlength": 500})


class CodeForm(FlaskForm):
    code = StringField(_l("The 6-digit code from your authenticator app (or a recovery code)"),
                       [Required()],
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"})


class ConfirmForm(FlaskForm):
    password = PasswordField(_l("Your password"), [Required()], render_kw={"autocomplete": "current-password"})
    code = StringField(_l("The 6-digit code from your authenticator app"),
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"})


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Your current password"), [Required()],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("New password (12 to 128 characters)"), [Required()],
                        render_kw={"autocomplete": "new-password"})


# What a person reads for each export an import or a reconciliation reads (the formats'
# home is app.imports.FORMATS); a format without a label here shows its own name.
SOURCE_LABELS = {"paypal": _l("PayPal activity download"), "venmo": _l("Venmo statement"),
                 "stripe": _l("Stripe payments export"),
                 "bank": _l("Bank CSV (with a saved column mapping)")}


def source_choices() -> list[tuple[str, str]]:
    """The formats the import and reconcile forms offer, in app.imports' order."""
    from app.imports import FORMATS

    return [(fmt, str(SOURCE_LABELS.get(fmt, fmt))) for fmt in FORMATS]


class ImportForm(FlaskForm):
    file = FileField(_l("The exported file (CSV)"), [Required()], render_kw={"accept": ".csv,text/csv"})
    format = Choice(_l("Where it comes from"), choices=source_choices)
    mapping = Choice(_l("Column mapping (bank CSV only)"))
    account = Choice(_l("Cash account the money is in"))
    category = Choice(_l("Kind of donation"))


class ConfirmImportForm(FlaskForm):
    token = HiddenField()
    digest = HiddenField()
    format = HiddenField()
    mapping = HiddenField()
    account = HiddenField()
    category = HiddenField()


class ReconcileForm(FlaskForm):
    file = FileField(_l("The statement file (CSV)"), [Required()], render_kw={"accept": ".csv,text/csv"})
    format = Choice(_l("Where it comes from"), choices=source_choices)
    mapping = Choice(_l("Column mapping (bank CSV only)"))
    account = Choice(_l("Cash account the statement is for"))
    month = StringField(_l("Month"), render_kw={"placeholder": "2026-10",
                                                "inputmode": "numeric"})


class TransferForm(FlaskForm):
    amount = AmountField(_l("Amount that left the account"))
    fee = AmountField(_l("Fee kept on the way (if any)"))
    from_account = SelectField(_l("From"))
    to_account = SelectField(_l("To"))
    date = StringField(_l("Date"), render_kw={"type": "date"})


class CostForm(FlaskForm):
    amount = AmountField(_l("Amount paid"))
    kind = SelectField(_l("Kind of cost"))
    account = SelectField(_l("Paid from"))
    date = StringField(_l("Date"), render_kw={"type": "date"})


class RefundForm(FlaskForm):
    code = StringField(_l("Donation code (D-…)"), render_kw={"autocomplete": "off"})
    amount = AmountField(_l("Amount given back (empty: all that is left)"))


class ReturnedForm(FlaskForm):
    code = StringField(_l("Request code (R-…)"), render_kw={"autocomplete": "off"})
    amount = AmountField(_l("Amount that came back (empty: all that was paid)"))
    account = SelectField(_l("Came back into"))
    date = StringField(_l("Date"), render_kw={"type": "date"})


class StartForm(FlaskForm):
    start = StringField(_l("The day the books begin"), render_kw={"type": "date"})
