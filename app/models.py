"""The database tables (SQLModel). The database holds the workflow; the books hold the money.

Amounts are `Decimal` in a `Money` column: NUMERIC(14, 2) on PostgreSQL, integer cents
on SQLite (which has no exact decimal type), with a CHECK that they are positive.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Column, Numeric, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from app.crypto import EncryptedText

CENT = Decimal("0.01")


class Money(TypeDecorator):
    """Exact money: NUMERIC(14,2) where the database has it, integer cents on SQLite."""

    impl = Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        """Integer cents on SQLite, NUMERIC elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(14, 2, asdecimal=True))

    def process_bind_param(self, value, dialect):
        """Decimal in; cents on SQLite."""
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be a Decimal, got {type(value).__name__}")
        value = value.quantize(CENT)
        return int(value * 100) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        """Decimal out, quantized to cents."""
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(CENT)
        return Decimal(value).quantize(CENT)


def utcnow() -> dt.datetime:
    """Now, timezone-aware in UTC (what every timestamp column holds)."""
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """`2026-11-29T02:56:05Z`: a UTC timestamp as the API shows it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(*, nullable: bool = False, positive: bool = True, name: str | None = None) -> Column:
    """A Money column, with a CHECK > 0 (or >= 0) constraint."""
    op = ">" if positive else ">="
    args = []
    if name:
        args.append(CheckConstraint(f"{name} {op} 0"))
    return Column(Money(), *args, nullable=nullable)


class Role(StrEnum):
    """What a person may do; a person may hold several."""

    member = "member"
    treasurer = "treasurer"
    admin = "admin"
    auditor = "auditor"   # reads the fund's books, runs check and audit; no personal data
    intake = "intake"     # files requests on behalf of people without an account; sees only
    #                       the requests they filed, never a story once it is filed


class Status(StrEnum):
    """Where a request stands (docs/design.md §4)."""

    submitted = "submitted"
    needs_info = "needs_info"
    approved = "approved"
    partially_paid = "partially_paid"
    paid = "paid"
    denied = "denied"
    withdrawn = "withdrawn"
    cancelled = "cancelled"


class Person(SQLModel, table=True):
    """Someone with an account: a member, a treasurer, an admin; or a person known by a
    handle only (no email), for whom an intake volunteer or a treasurer files requests."""

    id: int | None = Field(default=None, primary_key=True)
    email: str | None = Field(default=None, index=True, unique=True, max_length=254)
    handle: str = Field(unique=True, max_length=40)
    roles: str = Field(default="member", max_length=60)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    # second factor (treasurers and admins): the TOTP secret, the last time-step used (a
    # code works once), and the SHA-256 of each unused recovery code
    totp_secret: str | None = Field(default=None, sa_column=Column(
        EncryptedText("person.totp_secret"), nullable=True))
    totp_last_step: int | None = Field(default=None, sa_column=Column(BigInteger,
                                                                      nullable=True))
    recovery_codes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # the secret offered at the first sign-in, until a right code turns it on: kept here,
    # encrypted, not in the (signed, readable) cookie; there is no session row yet. Once
    # a sign-in has held the password's key, it is wrapped under it too (`pw1:` inside).
    totp_pending: str | None = Field(default=None, sa_column=Column(
        EncryptedText("person.totp_pending"), nullable=True))
    # the TOTP secret wrapped under a key made from the person's password (`pw1:`,
    # app/custody/factor.py); `totp_secret` above is then empty. Between the two sign-in
    # steps, that key sealed under a one-time key whose other half is in the cookie.
    totp_wrapped: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    totp_hold: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow)
    # how the person is told there is news (app/workflow/notify.py): none | email | digest
    # (digest: treasurers only), and in which language
    notify: str = Field(default="none", max_length=8)
    lang: str = Field(default="en", max_length=8)
    # a person without email, given an account by a printed claim code: the SHA-256 of each
    # unused code that resets a forgotten passphrase (app/workflow/intake.py)
    reset_codes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))

    def has(self, role: Role | str) -> bool:
        """True if the person holds `role` (everyone is a member)."""
        return role == Role.member or role in self.roles.split(",")

    @property
    def has_second_factor(self) -> bool:
        """True once an authenticator app is set up (wrapped, or still under a fund key)."""
        return self.totp_wrapped is not None or self.totp_secret is not None

    @property
    def needs_second_factor(self) -> bool:
        """Treasurers, admins, auditors (who read the fund's books) and intake volunteers
        (who hold the contacts of the people they filed for) use a one-time code too."""
        return (self.has(Role.treasurer) or self.has(Role.admin) or self.has(Role.auditor)
                or self.has(Role.intake))


class ApiToken(SQLModel, table=True):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    token_sha256: str = Field(unique=True, max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
    revoked: bool = False
    # what the token may do: read, request, money (comma-separated); and until when
    scopes: str = Field(default="read", max_length=32)
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    revoked_why: str | None = Field(default=None, max_length=32)


class RoleGrant(SQLModel, table=True):
    """Roles that give power (treasurer, admin), asked for by one admin and waiting for a
    second admin's or treasurer's confirmation; `decided_*` is filled when it is settled."""

    __tablename__ = "role_grant"
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    roles: str = Field(max_length=60)
    active: bool = True
    requested_by: int = Field(foreign_key="person.id")
    created_at: dt.datetime = Field(default_factory=utcnow)
    decided_by: int | None = Field(default=None, foreign_key="person.id")
    decided_at: dt.datetime | None = None
    outcome: str | None = Field(default=None, max_length=16)  # confirmed | refused


class Notice(SQLModel, table=True):
    """Something a person is told on their next page view (a change of roles, a grant
    waiting for them): `kind` and its `params` (JSON) make the translated sentence."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    kind: str = Field(max_length=32)
    params: str = Field(default="{}", max_length=1000)
    created_at: dt.datetime = Field(default_factory=utcnow)
    seen_at: dt.datetime | None = None


class AidRequest(SQLModel, table=True):
    """A member's request for aid."""

    __tablename__ = "aid_request"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=16)
    member_id: int = Field(foreign_key="person.id", index=True)
    amount: Decimal = Field(sa_column=money(name="amount"))
    category: str = Field(max_length=32)
    needed_by: dt.date
    payout_method: str = Field(max_length=16)
    story: str = Field(sa_column=Column(EncryptedText("aid_request.story"), nullable=False))
    status: str = Field(default=Status.submitted.value, max_length=16, index=True)
    approved_amount: Decimal | None = Field(default=None, sa_column=money(nullable=True))
    paid_amount: Decimal = Field(default=Decimal("0.00"),
                                 sa_column=money(positive=False, name="paid_amount"))
    approved_at: dt.datetime | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    # filed on the person's behalf (an intake volunteer or a treasurer): who filed it, and
    # how the person wants to be reached (phone | in_person | contact) with the details,
    # encrypted and purged like the story
    filed_by: int | None = Field(default=None, foreign_key="person.id")
    reach_by: str | None = Field(default=None, max_length=16)
    contact: str | None = Field(default=None, sa_column=Column(
        EncryptedText("aid_request.contact"), nullable=True))


class RequestNote(SQLModel, table=True):
    """A question, an answer or a reason attached to a request (never written to the books)."""

    __tablename__ = "request_note"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="aid_request.id", index=True)
    author_id: int = Field(foreign_key="person.id")
    kind: str = Field(max_length=16)  # question | answer | denied | cancelled
    body: str = Field(sa_column=Column(EncryptedText("request_note.body"), nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)


class Approval(SQLModel, table=True):
    """One treasurer's approval of a request."""

    __table_args__ = (UniqueConstraint("request_id", "treasurer_id"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="aid_request.id", index=True)
    treasurer_id: int = Field(foreign_key="person.id")
    amount: Decimal = Field(sa_column=money(name="amount"))
    created_at: dt.datetime = Field(default_factory=utcnow)


class Payment(SQLModel, table=True):
    """Money paid against an approved request."""

    __table_args__ = (UniqueConstraint("request_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="aid_request.id", index=True)
    seq: int
    amount: Decimal = Field(sa_column=money(name="amount"))
    account: str = Field(max_length=64)
    date: dt.date
    treasurer_id: int = Field(foreign_key="person.id")
    carebooks_id: str = Field(unique=True, max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
    # the bank's or processor's transaction id, and a short note of how it went: personal
    # text, encrypted like stories and never written to the books
    reference: str | None = Field(default=None, sa_column=Column(
        EncryptedText("payment.reference"), nullable=True))
    note: str | None = Field(default=None, sa_column=Column(
        EncryptedText("payment.note"), nullable=True))
    # the one action that paid several requests at once (sent again, it pays nothing twice)
    batch: str | None = Field(default=None, max_length=40, index=True)


class Donation(SQLModel, table=True):
    """A donation received (donor name kept only with consent)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=16)
    date: dt.date
    amount: Decimal = Field(sa_column=money(name="amount"))
    fee: Decimal = Field(default=Decimal("0.00"), sa_column=money(positive=False, name="fee"))
    account: str = Field(max_length=64)
    category: str = Field(max_length=32)
    donor_name: str | None = Field(default=None, sa_column=Column(
        EncryptedText("donation.donor_name"), nullable=True))
    donor_consents_public: bool = False
    refunded: Decimal = Field(default=Decimal("0.00"),
                              sa_column=money(positive=False, name="refunded"))
    refund_count: int = 0
    recorded_by: int = Field(foreign_key="person.id")
    created_at: dt.datetime = Field(default_factory=utcnow)


class Policy(SQLModel, table=True):
    """The fund's rules (one row), set by admins, enforced in the workflow."""

    id: int | None = Field(default=None, primary_key=True)
    second_approval_at: Decimal = Field(default=Decimal("500.00"), sa_column=money(name="second_approval_at"))
    request_cap: Decimal = Field(default=Decimal("1000.00"), sa_column=money(name="request_cap"))
    member_cap: Decimal = Field(default=Decimal("1500.00"), sa_column=money(name="member_cap"))
    member_window_days: int = 90
    reserve_floor: Decimal = Field(default=Decimal("0.00"),
                                   sa_column=money(positive=False, name="reserve_floor"))
    category_budgets: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    k_threshold: int = 5
    dominance_share: int = 60
    rounding_unit: int = 10
    purge_after_days: int = 180
    updated_at: dt.datetime = Field(default_factory=utcnow)
    updated_by: int | None = Field(default=None, foreign_key="person.id")


class AuditEvent(SQLModel, table=True):
    """Who did what, when and why; hash-chained, never updated. Holds no personal text."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    action: str = Field(max_length=40)
    subject: str = Field(default="", max_length=64, index=True)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class Attestation(SQLModel, table=True):
    """An auditor's `carebooks audit MONTH`: who, which month, the result, when."""

    id: int | None = Field(default=None, primary_key=True)
    auditor_id: int = Field(foreign_key="person.id", index=True)
    month: str = Field(max_length=7, index=True)
    result: str = Field(max_length=8)            # "passed" or "failed"
    seal_hash: str = Field(max_length=64)        # the seal the audit checked
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))  # no personal text
    created_at: dt.datetime = Field(default_factory=utcnow)


class Outbox(SQLModel, table=True):
    """An entry committed with its state change and not yet known to be in the books."""

    id: int | None = Field(default=None, primary_key=True)
    carebooks_id: str = Field(unique=True, max_length=64)
    entry_text: str = Field(sa_column=Column(EncryptedText("outbox.entry_text"), nullable=False))
    status: str = Field(default="pending", max_length=16, index=True)  # pending | done
    created_at: dt.datetime = Field(default_factory=utcnow)
    done_at: dt.datetime | None = None


class IdempotencyKey(SQLModel, table=True):
    """The first response to a POST with an Idempotency-Key, replayed for the same body."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("person_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id")
    key: str = Field(max_length=255)
    method: str = Field(max_length=8)
    path: str = Field(max_length=255)
    body_sha256: str = Field(max_length=64)
    status_code: int | None = None
    response: str | None = Field(default=None, sa_column=Column(
        EncryptedText("idempotency_key.response"), nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow)
    # Who holds the key while its request runs, and since when (app/workflow/claims.py):
    # a retry takes over a claim whose owner died; both stay once the answer is stored.
    owner: str | None = Field(default=None, max_length=160)
    claimed_at: dt.datetime | None = None


class Counter(SQLModel, table=True):
    """Sequence per prefix and year for request and donation codes (R-2026 -> 42)."""

    name: str = Field(primary_key=True, max_length=16)
    value: int = 0


class Invitation(SQLModel, table=True):
    """A one-time link an admin gives someone to create their account (no emailed password)."""

    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(unique=True, max_length=64)
    email: str = Field(max_length=254)
    roles: str = Field(max_length=60)
    created_by: int = Field(foreign_key="person.id")
    created_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime
    used_at: dt.datetime | None = None


class ClaimCode(SQLModel, table=True):
    """A printed one-time code that gives a person without email an account (or a new
    passphrase): only its SHA-256 is kept."""

    __tablename__ = "claim_code"
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    code_sha256: str = Field(unique=True, max_length=64)
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime
    used_at: dt.datetime | None = None


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its hash is kept, so the
    server can end any session (sign out, password change, account disabled)."""

    __tablename__ = "web_session"
    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(unique=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
    authenticated_at: dt.datetime = Field(default_factory=utcnow)
    last_seen_at: dt.datetime = Field(default_factory=utcnow)
    # what this browser is shown once (the recovery codes, as JSON), encrypted, until shown
    shown_once: str | None = Field(default=None, sa_column=Column(
        EncryptedText("web_session.shown_once"), nullable=True))


class PublishedReport(SQLModel, table=True):
    """A monthly report as published: one file per language, with its SHA-256. Never
    replaced; a correction is a new version with a reason, and both stay public."""

    __tablename__ = "published_report"
    __table_args__ = (UniqueConstraint("month", "version", "lang"),)
    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(max_length=7, index=True)
    version: int
    lang: str = Field(max_length=8)
    paper: str = Field(max_length=8)
    sha256: str = Field(max_length=64)
    filename: str = Field(max_length=128)
    size: int
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    seal_hash: str | None = Field(default=None, max_length=64)
    published_by: int = Field(foreign_key="person.id")
    published_at: dt.datetime = Field(default_factory=utcnow)


class MonthClose(SQLModel, table=True):
    """Where closing a month stands for one cash account before the seal: the statement
    balance typed so far, and the counts of the last reconciliation with a statement file
    (numbers only: nothing from the file is kept). Read by the dashboard's "month waiting"."""

    __tablename__ = "month_close"
    __table_args__ = (UniqueConstraint("month", "account"),)
    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(max_length=7, index=True)
    account: str = Field(max_length=64)
    statement: Decimal | None = Field(default=None, sa_column=money(
        nullable=True, positive=False, name="statement"))
    lines_only: int | None = None       # statement lines with no entry
    entries_only: int | None = None     # entries with no statement line
    unreadable: int | None = None       # rows of the file that could not be read
    reconciled_at: dt.datetime | None = None
    updated_by: int = Field(foreign_key="person.id")
    updated_at: dt.datetime = Field(default_factory=utcnow)


class ImportedLine(SQLModel, table=True):
    """A statement line already written to the books by an import, so that importing the
    same file, or an overlapping one, adds nothing twice. The key is the source's own
    transaction id, or a hash of date, amount and reference: nothing readable about the
    person who paid is kept."""

    __tablename__ = "imported_line"
    __table_args__ = (UniqueConstraint("source", "line_key"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)                 # paypal | venmo | stripe | bank
    line_key: str = Field(max_length=64)
    file_sha256: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)                   # donation | payment
    code: str = Field(max_length=16)                   # D-2026-0107 or R-2026-0042
    carebooks_id: str = Field(max_length=64)
    imported_by: int = Field(foreign_key="person.id")
    created_at: dt.datetime = Field(default_factory=utcnow)


class ImportMapping(SQLModel, table=True):
    """A bank CSV's saved column mapping (app.imports.bank.Mapping, as JSON)."""

    __tablename__ = "import_mapping"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=40)
    spec: str = Field(sa_column=Column(Text, nullable=False))
    updated_by: int = Field(foreign_key="person.id")
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Notification(SQLModel, table=True):
    """A message that there is news, queued in the transaction of the change that causes
    it and sent by `carebooks notify` (app/workflow/notify.py). It holds no address and no
    text: the address and the words are the person's own at sending time."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    kind: str = Field(max_length=24)
    # pending | sent | failed | digest (waits for the daily digest) | digested | dropped
    # (the person no longer wants to be told, or was disabled)
    status: str = Field(default="pending", max_length=12, index=True)
    message_id: str = Field(unique=True, max_length=120)
    counts: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow)
    last_error: str | None = Field(default=None, max_length=160)
    created_at: dt.datetime = Field(default_factory=utcnow)
    sent_at: dt.datetime | None = None


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(table, column, label) for every EncryptedText column of the app's tables."""
    return [(table.name, col.name, col.type.column)
            for table in SQLModel.metadata.sorted_tables for col in table.columns
            if isinstance(col.type, EncryptedText)]
