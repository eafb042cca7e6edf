"""Discreet notifications (docs/notifications.md): a message says only that there is news
and where to sign in, in the person's language — never an amount, a category, a status
word, a story, a request code or a name.

A notice is queued in the same database transaction as the change that causes it (`queue`
adds a plain INSERT to the caller's session, as `audit.record` and `outbox.enqueue` do):
if the change rolls back, so does its notice; if it commits, the notice is there.

`send_due` (`carebooks notify`) sends what is due through the relay at
`CAREBOOKS_SMTP_URL`. Each notice is first *claimed* in its own transaction (its next
attempt moved a lease ahead), then sent, then marked sent. A sender that dies between
sending and marking leaves the notice claimed; once the lease runs out it is sent again,
with the same Message-ID: delivery is at least once, and a duplicate is recognisable. A
temporary failure is retried with exponential backoff; a permanent one (an SMTP 5xx
answer) marks the notice failed, records it in the audit log and shows it on the admin's
people page: it is never retried.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import smtplib
import socket
import ssl
import uuid
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from flask import current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy import select as sa_select, update
from sqlmodel import Session, select

from app.db import session_scope
from app.models import Notification, Person, Role, utcnow
from app.workflow import audit
from ledger import Month
from reports.languages import DEFAULT, LANGUAGES

# What a person may choose (digest: treasurers only).
CHOICES = ("none", "email", "digest")

# Kinds of news, and who gets them.
MEMBER_UPDATE = "request_update"          # the member: any change on their request
NEW_REQUEST = "new_request"               # treasurers
ANSWER = "answer"                         # the treasurers who asked
SECOND_APPROVAL = "second_approval"       # the other treasurers
FAILED_WRITE = "failed_write"             # treasurers: saved, not yet in the books
MONTH_TO_CLOSE = "month_to_close"         # treasurers: a past month is not sealed
ROLE_CHANGED = "role_changed"             # admins and treasurers (issue 16's hook)
MONEY_TOKEN = "money_token"               # admins and treasurers (issue 16's hook)
DIGEST = "digest"                         # one daily message of counts

LEASE = dt.timedelta(minutes=5)           # how long a claimed notice is left to its sender
BACKOFF = dt.timedelta(minutes=1)         # the first retry's wait; doubled each time
MAX_BACKOFF = dt.timedelta(hours=6)
MAX_ATTEMPTS = 12                         # then the notice is failed and reported
DIGEST_EVERY = dt.timedelta(days=1)


def _now() -> dt.datetime:
    return utcnow()


_INSERT = Notification.__table__.insert()


def _message_id(kind: str, person_id: int) -> str:
    host = _domain()
    return f"<{uuid.uuid4().hex}.{kind}.{person_id}@{host}>"


def queue(session: Session, person_ids, kind: str, *, message_id: str | None = None) -> int:
    """Queue `kind` for each of `person_ids` who chose to be told, in the caller's
    transaction; a digest reader's notice waits for the digest. Return how many."""
    ids = sorted(set(person_ids))
    if not ids:
        return 0
    return _queue_rows(session, _choosers(session, Person.id.in_(ids)), kind, message_id)


def queue_holders(session: Session, role: Role, kind: str, *, but=frozenset()) -> int:
    """Queue `kind` for the active holders of `role` (but not `but`) who chose to be told:
    one read, on every money step's path."""
    # the LIKE narrows the read to the role's few holders (a fund has hundreds of members
    # who chose email, and this runs on every submission); the split checks it exactly
    rows = [r for r in _choosers(session, Person.roles.contains(role.value))
            if role.value in r[2].split(",") and r[0] not in but]
    return _queue_rows(session, rows, kind, None)


def _choosers(session: Session, *where) -> list:
    """(id, choice, roles) of the active people who chose to be told, filtered by `where`.
    Someone without email is told nothing (they sign in to look)."""
    return session.exec(sa_select(Person.id, Person.notify, Person.roles).where(
        Person.active.is_(True), Person.notify.in_(("email", "digest")),
        Person.email.is_not(None), *where)).all()


def _queue_rows(session: Session, rows, kind: str, message_id: str | None) -> int:
    now = _now()
    values = []
    for pid, choice, roles in sorted(rows):
        digest = choice == "digest" and "treasurer" in roles.split(",") and kind != MEMBER_UPDATE
        values.append({"person_id": pid, "kind": kind,
                       "status": "digest" if digest else "pending",
                       "message_id": message_id or _message_id(kind, pid), "counts": None,
                       "attempts": 0, "next_attempt_at": now, "last_error": None,
                       "created_at": now, "sent_at": None})
    if values:
        session.connection().execute(_INSERT, values)
    return len(values)


def holders(session: Session, *roles: Role) -> list[int]:
    """The active people holding any of `roles`."""
    wanted = {r.value for r in roles}
    return [pid for pid, held in session.exec(
        sa_select(Person.id, Person.roles).where(Person.active.is_(True))).all()
        if wanted & set(held.split(","))]


# -- the events ---------------------------------------------------------------------------

def request_submitted(session: Session, actor_id: int) -> None:
    """A new request: every treasurer but the one who filed it."""
    queue_holders(session, Role.treasurer, NEW_REQUEST, but={actor_id})


def request_changed(session: Session, member_id: int, actor_id: int) -> None:
    """Any change to a request that the member did not make themselves: the member."""
    if member_id != actor_id:
        queue(session, [member_id], MEMBER_UPDATE)


def request_answered(session: Session, request_id: int, member_id: int) -> None:
    """The member answered: the treasurers who asked (every treasurer if none is left)."""
    from app.models import RequestNote

    askers = set(session.exec(sa_select(RequestNote.author_id).where(
        RequestNote.request_id == request_id, RequestNote.kind == "question")).scalars())
    treasurers = set(holders(session, Role.treasurer))
    queue(session, (askers & treasurers) or (treasurers - {member_id}), ANSWER)


def second_approval_waiting(session: Session, approver_ids: set[int]) -> None:
    """A first approval of a request that needs two: the treasurers who have not approved."""
    queue_holders(session, Role.treasurer, SECOND_APPROVAL, but=approver_ids)


def write_failed() -> None:
    """Saved, but not yet in the books: tell the treasurers. Its own transaction (the
    change is committed by then); never raises, the caller is already reporting a fault."""
    try:
        with session_scope() as session:
            queue(session, holders(session, Role.treasurer), FAILED_WRITE)
    except Exception:  # noqa: BLE001 - a notice must not hide the fault being reported
        current_app.logger.exception("could not queue the failed-write notice")


def role_changed(session: Session, person_id: int) -> None:
    """Hook for issue 16: someone's roles changed — tell admins and treasurers (in the
    transaction that changes them)."""
    queue(session, holders(session, Role.admin, Role.treasurer), ROLE_CHANGED)


def money_token_created(session: Session, person_id: int) -> None:
    """Hook for issue 16: a token with the money scope was created — tell admins and
    treasurers (in the transaction that creates it)."""
    queue(session, holders(session, Role.admin, Role.treasurer), MONEY_TOKEN)


def months_to_close(today: dt.date | None = None) -> list[str]:
    """Past months of the books that are not sealed yet."""
    from app.fund import books

    today = today or dt.date.today()
    try:
        state = books().state
    except Exception:  # noqa: BLE001 - no books yet: nothing to close
        return []
    sealed = {s.month for s in state.seals}
    start = min(state.opens.values(), default=None)
    if start is None:
        return []
    return [m for m in Month.of(start).until(Month.of(today)) if m not in sealed]


def queue_month_reminders(today: dt.date | None = None) -> int:
    """Once per month that waits to be closed, one notice per treasurer (its Message-ID
    names the month, so running this daily queues it once)."""
    months = months_to_close(today)
    if not months:
        return 0
    latest = months[-1]
    n = 0
    with session_scope() as session:
        for pid in holders(session, Role.treasurer):
            mid = f"<month-close.{latest}.{pid}@{_domain()}>"
            if session.exec(select(Notification.id).where(Notification.message_id == mid)).first():
                continue
            n += queue(session, [pid], MONTH_TO_CLOSE, message_id=mid)
    return n


# -- the daily digest ---------------------------------------------------------------------

def gather_digests(now: dt.datetime | None = None) -> int:
    """For each digest reader with news and no digest in the last day, one digest notice
    with counts only; their waiting notices become `digested`. Return how many."""
    now = now or _now()
    made = 0
    with session_scope() as session:
        waiting = session.exec(select(Notification).where(Notification.status == "digest")
                               .order_by(Notification.id)).all()
        by_person: dict[int, list[Notification]] = {}
        for n in waiting:
            by_person.setdefault(n.person_id, []).append(n)
        for pid, notices in by_person.items():
            last = session.exec(select(Notification.created_at).where(
                Notification.person_id == pid, Notification.kind == DIGEST)
                .order_by(Notification.id.desc()).limit(1)).first()
            if last is not None and _aware(last) > now - DIGEST_EVERY:
                continue
            counts = Counter(n.kind for n in notices)
            months = len(months_to_close(now.date()))
            if months:
                counts[MONTH_TO_CLOSE] = months
            session.add(Notification(person_id=pid, kind=DIGEST, status="pending",
                               message_id=_message_id(DIGEST, pid),
                               counts=json.dumps(dict(sorted(counts.items()))),
                               next_attempt_at=now, created_at=now))
            for n in notices:
                n.status = "digested"
            made += 1
    return made


# -- the words ----------------------------------------------------------------------------

def _lines(kind: str, counts: dict | None) -> list[str]:
    """What the message says, in the current locale: that there is news, never what."""
    if kind == MEMBER_UPDATE:
        return [_("There is an update on your request.")]
    if kind == DIGEST:
        labels = {NEW_REQUEST: _("new requests"), ANSWER: _("answers to questions"),
                  SECOND_APPROVAL: _("requests waiting for a second treasurer's decision"),
                  FAILED_WRITE: _("changes waiting to be written to the books"),
                  MONTH_TO_CLOSE: _("months waiting to be closed"),
                  ROLE_CHANGED: _("changes of roles"),
                  MONEY_TOKEN: _("new API tokens that can move money")}
        return [_("Since the last summary:")] + [
            f"- {labels.get(k, k)}: {int(v)}" for k, v in (counts or {}).items()]
    return [{NEW_REQUEST: _("There is a new request waiting in the queue."),
             ANSWER: _("A member answered a question."),
             SECOND_APPROVAL: _("A request is waiting for a second treasurer's decision."),
             FAILED_WRITE: _("A change was saved but is not yet in the books. "
                             "Please look at it."),
             MONTH_TO_CLOSE: _("A month is waiting to be closed."),
             ROLE_CHANGED: _("Someone's roles were changed."),
             MONEY_TOKEN: _("An API token that can move money was created."),
             }.get(kind, _("There is news for you."))]


def _fund_name() -> str:
    name = current_app.config.get("FUND_NAME")
    if name:
        return name
    from app.fund import books
    try:
        return books().title
    except Exception:  # noqa: BLE001
        return "Carebooks"


def base_url() -> str:
    """The fund's own address: the only link a message carries."""
    return (current_app.config.get("BASE_URL") or os.environ.get("CAREBOOKS_BASE_URL")
            or "http://localhost:5000").rstrip("/")


def _domain() -> str:
    try:
        return urlsplit(base_url()).hostname or "carebooks.invalid"
    except RuntimeError:  # outside an app
        return "carebooks.invalid"


def render(person: Person, notice: Notification) -> EmailMessage:
    """The plain-text message for `notice`, in `person`'s language."""
    lang = person.lang if person.lang in LANGUAGES else DEFAULT
    fund = _fund_name()
    counts = json.loads(notice.counts) if notice.counts else None
    where = base_url() + ("/my/requests" if notice.kind == MEMBER_UPDATE else "/sign-in")
    with force_locale(lang):
        subject = _("%(fund)s: there is news for you", fund=fund)
        body = [f"{fund}:", "", *_lines(notice.kind, counts), "",
                _("Sign in to see it: %(url)s", url=where), "",
                _("You get this message because you chose to be told by email. You can "
                  "change that on your account page.")]
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender_address()
    msg["To"] = person.email
    msg["Message-ID"] = notice.message_id
    msg["Date"] = formatdate(localtime=False)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content("\n".join(body) + "\n")
    msg["Content-Language"] = lang  # after set_content, which resets Content-* headers
    return msg


# -- the relay ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Relay:
    """Where mail goes: `smtp://user:pass@host:port` (STARTTLS) or `smtps://` (TLS)."""

    host: str
    port: int
    tls: bool            # TLS from the first byte (smtps)
    user: str | None
    password: str | None

    @property
    def loopback(self) -> bool:
        return self.host in ("localhost", "127.0.0.1", "::1")

    def describe(self) -> str:
        return f"{'smtps' if self.tls else 'smtp'}://{self.host}:{self.port}"


class RelayError(ValueError):
    pass


def relay() -> Relay | None:
    """The relay from `CAREBOOKS_SMTP_URL` (config `SMTP_URL` first), or None: then
    nothing is sent."""
    raw = current_app.config.get("SMTP_URL") or os.environ.get("CAREBOOKS_SMTP_URL")
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise RelayError("CAREBOOKS_SMTP_URL: give smtp://user:pass@host:port (STARTTLS) "
                         "or smtps://user:pass@host:port (TLS)")
    return Relay(parts.hostname, parts.port or (465 if parts.scheme == "smtps" else 587),
                 parts.scheme == "smtps", unquote(parts.username) if parts.username else None,
                 unquote(parts.password) if parts.password else None)


def sender_address() -> str:
    return current_app.config.get("SMTP_FROM") or os.environ.get("CAREBOOKS_SMTP_FROM") \
        or f"noreply@{_domain()}"


def _connect(r: Relay) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if r.tls:
        conn = smtplib.SMTP_SSL(r.host, r.port, timeout=30, context=context)
    else:
        conn = smtplib.SMTP(r.host, r.port, timeout=30)
        conn.ehlo()
        if conn.has_extn("starttls"):
            conn.starttls(context=context)
            conn.ehlo()
        elif not r.loopback:  # never a password or an address in clear over a network
            conn.close()
            raise smtplib.SMTPNotSupportedError(
                f"{r.describe()} does not offer STARTTLS; use smtps:// or a relay on this host")
    if r.user:
        conn.login(r.user, r.password or "")
    return conn


# -- sending ------------------------------------------------------------------------------

# A test may set this to run between sending a message and marking it sent (crash injection).
AFTER_SEND = None


def _claim(notice_id: int, now: dt.datetime) -> bool:
    """Take `notice_id` for this sender for a lease; False if another sender has it."""
    with session_scope() as session:
        done = session.connection().execute(
            update(Notification.__table__)
            .where(Notification.id == notice_id, Notification.status == "pending",
                   Notification.next_attempt_at <= now)
            .values(next_attempt_at=now + LEASE, attempts=Notification.attempts + 1))
        return done.rowcount == 1


def _finish(notice_id: int, **values) -> None:
    with session_scope() as session:
        session.connection().execute(update(Notification.__table__)
                                     .where(Notification.id == notice_id).values(**values))


def _fail(notice: Notification, person: Person | None, reason: str) -> None:
    """A permanent failure: marked, audited, shown to the admin; never retried."""
    with session_scope() as session:
        session.connection().execute(update(Notification.__table__).where(Notification.id == notice.id)
                                     .values(status="failed", last_error=reason[:160]))
        audit.record(session, None, "notice.failed",
                     f"person:{notice.person_id}", kind=notice.kind, reason=reason[:80])


def _retry(notice: Notification, reason: str, now: dt.datetime) -> None:
    attempts = notice.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        _fail(notice, None, f"gave up after {attempts} attempts: {reason}")
        return
    wait = min(BACKOFF * (2 ** (attempts - 1)), MAX_BACKOFF)
    _finish(notice.id, next_attempt_at=now + wait, last_error=reason[:160])


@dataclass
class Outcome:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    note: str = ""


def _code_of(exc: Exception) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _m in exc.recipients.values()]
        return max(codes) if codes else None
    return getattr(exc, "smtp_code", None)


def send_due(now: dt.datetime | None = None, *, limit: int = 200) -> Outcome:
    """Send every notice that is due (gathering daily digests first); return what
    happened. Without a relay nothing is sent and the notices wait."""
    now = now or _now()
    out = Outcome()
    r = relay()
    if r is None:
        out.note = "CAREBOOKS_SMTP_URL is not set: nothing is sent"
        return out
    gather_digests(now)
    with session_scope() as session:
        due = session.exec(select(Notification).where(Notification.status == "pending",
                                                Notification.next_attempt_at <= now)
                           .order_by(Notification.id).limit(limit)).all()
        people = {p.id: p for p in session.exec(select(Person).where(
            Person.id.in_({n.person_id for n in due})))} if due else {}
    conn = None
    try:
        for notice in due:
            person = people.get(notice.person_id)
            if person is None or not person.active or person.notify == "none" \
                    or not person.email:
                _finish(notice.id, status="dropped", last_error="no longer wanted")
                out.skipped += 1
                continue
            if not _claim(notice.id, now):
                out.skipped += 1
                continue
            try:
                if conn is None:
                    conn = _connect(r)
                conn.send_message(render(person, notice))
            except (smtplib.SMTPException, OSError, socket.timeout) as exc:
                code = _code_of(exc)
                if conn is not None and not isinstance(exc, smtplib.SMTPRecipientsRefused):
                    _close(conn)
                    conn = None
                if code is not None and 500 <= code < 600:
                    _fail(notice, person, f"the relay refused the address ({code})")
                    out.failed += 1
                else:
                    _retry(notice, f"{type(exc).__name__}"
                           + (f" ({code})" if code else ""), now)
                    out.retried += 1
                continue
            if AFTER_SEND is not None:
                AFTER_SEND(notice)
            _finish(notice.id, status="sent", sent_at=_now(), last_error=None)
            out.sent += 1
    finally:
        if conn is not None:
            _close(conn)
    return out


def _close(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()


def run_once(today: dt.date | None = None) -> Outcome:
    """What `carebooks notify` does: queue the month reminders, then send what is due."""
    if relay() is not None:
        queue_month_reminders(today)
    return send_due()


# -- what the admin page shows -----------------------------------------------------------

def status_for_admin() -> dict:
    """The relay (or that there is none), how many wait, and the failed addresses."""
    try:
        r = relay()
        relay_line, relay_error = (r.describe() if r else None), None
    except RelayError as exc:
        relay_line, relay_error = None, str(exc)
    with session_scope() as session:
        waiting = len(session.exec(select(Notification.id).where(
            Notification.status.in_(("pending", "digest")))).all())
        failed = session.exec(select(Notification, Person.handle).join(
            Person, Person.id == Notification.person_id).where(Notification.status == "failed")
            .order_by(Notification.id.desc()).limit(50)).all()
    return {"relay": relay_line, "relay_error": relay_error, "waiting": waiting,
            "failed": [{"handle": h, "at": n.created_at, "why": n.last_error}
                       for n, h in failed]}


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def set_choice(person_id: int, choice: str, lang: str) -> None:
    """A person's choice of how they are told, and in which language."""
    from app.workflow.errors import InvalidInput

    with session_scope() as session:
        person = session.get(Person, person_id)
        allowed = CHOICES if person.has(Role.treasurer) else CHOICES[:2]
        if person.email is None:
            allowed = CHOICES[:1]  # no address: nothing can be sent
        if choice not in allowed:
            raise InvalidInput("notify: choose " + ", ".join(allowed), field="notify")
        if lang not in LANGUAGES:
            raise InvalidInput(f"lang: choose {' or '.join(LANGUAGES)}", field="lang")
        person.notify, person.lang = choice, lang
        audit.record(session, person_id, "person.notify_changed", f"person:{person_id}",
                     notify=choice, lang=lang)


def start_thread(app):
    """Send from inside the server process, every `CAREBOOKS_NOTIFY_EVERY` seconds, on a
    daemon thread (off the request path). Unset: no thread (use the systemd timer), and
    None is returned; else an Event that stops the thread when set."""
    import threading

    every = int(os.environ.get("CAREBOOKS_NOTIFY_EVERY") or 0)
    if every <= 0:
        return None
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                with app.app_context():
                    run_once()
            except Exception:  # noqa: BLE001 - the sender must outlive a bad round
                app.logger.exception("notify: a sending round failed")
            stop.wait(every)

    stop.thread = threading.Thread(target=loop, name="carebooks-notify", daemon=True)
    stop.thread.start()
    return stop
