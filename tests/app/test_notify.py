"""Discreet notifications (docs/notifications.md), sent to a real SMTP server: aiosmtpd,
started by the test on a free port of 127.0.0.1, speaking SMTP to smtplib (nothing mocked).

Every message the server receives in this file is scanned when the test ends: none may
hold an amount, a category, a status word, story text, a request code or a donor name.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import re
import signal
import socket
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from app.db import session_scope
from app.models import AuditEvent, Notification, Status
from app.workflow import notify
from tests.app.conftest import ask, close_fund, make_fund

STORY = "Rent is due and my shift was cut."
DONOR = "Hortensia Quiroga"
CONTACT = "555-0199, ask for Ana"    # a request filed on someone's behalf (issue 20)
WALKIN = "rosa"                      # the person it was filed for, who has no email
REFUSED = "member2@example.org"


@dataclass
class Received:
    to: list[str]
    msg: email.message.EmailMessage

    @property
    def body(self) -> str:
        return self.msg.get_content()

    @property
    def lang(self) -> str:
        return self.msg["Content-Language"]


@dataclass
class Handler:
    """Keeps every message; refuses one address with a permanent 550."""

    got: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        self.got.append(Received(list(envelope.rcpt_tos), msg))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Words no message may hold, English and Spanish: the status words, the categories.
STATUS_WORDS = [s.value for s in Status] + [
    "approv", "aprob", "denied", "deneg", "rechaz", "paid", "pagad", "cancel", "withdraw",
    "retirad", "needs info", "partially", "parcial", "submitted", "enviad"]
FORBIDDEN = [re.compile(r"\d+[.,]\d\d\b"), re.compile(r"\bR-\d{4}"), re.compile(r"\bD-\d{4}"),
             re.compile(re.escape(STORY[:12]), re.I), re.compile(DONOR, re.I),
             re.compile(r"\$|USD|€"), re.compile("555-0199|Ana\\b"),
             re.compile(rf"\b{WALKIN}\b", re.I)]


def leaks(text: str, categories: list[str]) -> list[str]:
    found = [p.pattern for p in FORBIDDEN if p.search(text)]
    low = text.lower()
    found += [w for w in STATUS_WORDS + categories if w.lower() in low]
    return found


@pytest.fixture
def smtp():
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.url = f"smtp://127.0.0.1:{port}"
    yield handler
    controller.stop()
    from app.fund import aid_categories  # noqa: F401 - the scan below
    for r in handler.got:  # the privacy scan of every message this test sent
        text = str(r.msg["Subject"]) + "\n" + r.body
        bad = leaks(text, CATEGORIES)
        assert not bad, f"a message to {r.to} holds {bad}:\n{text}"
        assert r.msg.get_content_type() == "text/plain" and not r.msg.is_multipart()
        links = re.findall(r"https?://\S+", r.body)
        assert all(u.startswith("https://fund.example.org/") for u in links), links


CATEGORIES = ["rent", "utilities", "food", "medical", "transport", "childcare",
              "alquiler", "comida", "médic", "transporte"]


@pytest.fixture
def nfund(tmp_path, database_url, smtp):
    f = make_fund(tmp_path, database_url, SMTP_URL=smtp.url, BASE_URL="https://fund.example.org")
    with f.ctx():
        from app.fund import aid_categories
        CATEGORIES.extend(c for c in aid_categories() if c not in CATEGORIES)
        for who, choice, lang in [("member", "email", "es"), ("member2", "email", "en"),
                                  ("treasurer", "email", "en"), ("treasurer2", "email", "es"),
                                  ("admin", "email", "en")]:
            notify.set_choice(f.people[who].id, choice, lang)
    yield f
    close_fund(f, tmp_path)


def send(fund) -> notify.Outcome:
    with fund.ctx():
        return notify.send_due()


def to(smtp, since: int = 0) -> dict[str, list[Received]]:
    out: dict[str, list[Received]] = {}
    for r in smtp.got[since:]:
        for a in r.to:
            out.setdefault(a.split("@")[0], []).append(r)
    return out


def test_a_new_request_tells_each_treasurer_once_in_their_language(nfund, smtp):
    ask(nfund, "member")
    assert send(nfund).sent == 2
    got = to(smtp)
    assert sorted(got) == ["treasurer", "treasurer2"]
    assert [r.lang for r in got["treasurer"]] == ["en"]
    assert "new request" in got["treasurer"][0].body
    assert [r.lang for r in got["treasurer2"]] == ["es"]
    assert "nueva solicitud" in got["treasurer2"][0].body
    assert "https://fund.example.org/" in got["treasurer"][0].body
    assert send(nfund).sent == 0  # sent once


def test_question_answer_approvals_and_payment_reach_exactly_who_they_concern(nfund, smtp):
    code = ask(nfund, "member", amount="600.00")  # over 500.00: two approvals
    send(nfund)
    n = len(smtp.got)
    assert nfund.api("treasurer", "POST", f"/requests/{code}/needs-info",
                     json={"question": "Which month?"})[0] == 200
    send(nfund)
    got = to(smtp, n)
    assert list(got) == ["member"] and len(got["member"]) == 1
    assert got["member"][0].lang == "es" and "actualización" in got["member"][0].body
    assert "https://fund.example.org/my/requests" in got["member"][0].body

    n = len(smtp.got)
    assert nfund.api("member", "POST", f"/requests/{code}/answer",
                     json={"answer": "December"})[0] == 200
    send(nfund)
    assert {k: len(v) for k, v in to(smtp, n).items()} == {"treasurer": 1}  # who asked

    n = len(smtp.got)
    status, data = nfund.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    assert status == 200, data
    send(nfund)
    got = to(smtp, n)
    assert {k: len(v) for k, v in got.items()} == {"treasurer2": 1}
    assert "segundo tesorero" in got["treasurer2"][0].body

    n = len(smtp.got)
    assert nfund.api("treasurer2", "POST", f"/requests/{code}/approve", json={})[0] == 200
    send(nfund)
    assert {k: len(v) for k, v in to(smtp, n).items()} == {"member": 1}

    n = len(smtp.got)
    status, data = nfund.api("treasurer", "POST", f"/requests/{code}/payments",
                             json={"amount": "600.00", "account": "Assets:Fund:Bank"})
    assert status == 201, data
    send(nfund)
    assert {k: len(v) for k, v in to(smtp, n).items()} == {"member": 1}


def test_a_refused_step_tells_nobody_and_none_means_none(nfund, smtp):
    with nfund.ctx():
        notify.set_choice(nfund.people["treasurer2"].id, "none", "en")
    code = ask(nfund, "member")
    status, _ = nfund.api("treasurer", "POST", f"/requests/{code}/payments",
                          json={"amount": "5.00", "account": "Assets:Fund:Bank"})
    assert status >= 400  # not approved: refused, rolled back with its notice
    send(nfund)
    assert {k: len(v) for k, v in to(smtp).items()} == {"treasurer": 1}  # the submit only


def test_the_digest_says_counts_only_once_a_day(nfund, smtp):
    with nfund.ctx():
        notify.set_choice(nfund.people["treasurer2"].id, "digest", "en")
    for _ in range(3):
        ask(nfund, "member")
    send(nfund)
    got = to(smtp)
    assert len(got["treasurer"]) == 3 and len(got["treasurer2"]) == 1
    digest = got["treasurer2"][0].body
    assert "new requests: 3" in digest
    n = len(smtp.got)
    ask(nfund, "member")
    send(nfund)
    assert "treasurer2" not in to(smtp, n)  # the next digest waits a day
    with nfund.ctx():
        out = notify.send_due(notify._now() + dt.timedelta(days=1, minutes=1))
    assert out.sent == 1 and "new requests: 1" in smtp.got[-1].body


def test_a_refused_address_is_reported_to_the_admin_and_not_retried(nfund, smtp):
    smtp.refuse.add(REFUSED)
    code = ask(nfund, "member2")
    assert nfund.api("treasurer", "POST", f"/requests/{code}/needs-info",
                     json={"question": "When?"})[0] == 200
    out = send(nfund)
    assert out.failed == 1 and out.sent == 2
    with nfund.ctx(), session_scope() as s:
        failed = s.exec(select(Notification).where(Notification.status == "failed")).all()
        assert [n.person_id for n in failed] == [nfund.people["member2"].id]
        assert "550" in failed[0].last_error
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "notice.failed")).first()
    with nfund.ctx():
        later = notify.send_due(notify._now() + dt.timedelta(days=30))
    assert later.sent == later.failed == 0
    from tests.app.test_access_matrix import sign_in
    page = sign_in(nfund, "admin").get("/admin/people").get_data(as_text=True)
    assert "Addresses that failed" in page and "@member2" in page and "550" in page


def test_a_relay_that_does_not_answer_is_retried_later_with_backoff(tmp_path, database_url):
    f = make_fund(tmp_path, database_url, SMTP_URL=f"smtp://127.0.0.1:{free_port()}",
                  BASE_URL="https://fund.example.org")
    try:
        with f.ctx():
            notify.set_choice(f.people["treasurer"].id, "email", "en")
        ask(f, "member")
        waits = []
        with f.ctx():
            now = notify._now()
            for _ in range(3):
                assert notify.send_due(now).retried == 1
                with session_scope() as s:
                    n = s.exec(select(Notification)).one()
                waits.append(notify._aware(n.next_attempt_at) - now)
                now = notify._aware(n.next_attempt_at)
        assert waits == [notify.BACKOFF, 2 * notify.BACKOFF, 4 * notify.BACKOFF]
        assert n.status == "pending" and n.attempts == 3
    finally:
        close_fund(f, tmp_path)


def test_without_a_relay_nothing_is_sent_and_the_admin_page_says_so(fund):
    with fund.ctx():
        notify.set_choice(fund.people["treasurer"].id, "email", "en")
    ask(fund, "member")
    with fund.ctx():
        out = notify.send_due()
    assert out.sent == 0 and "CAREBOOKS_SMTP_URL" in out.note
    from tests.app.test_access_matrix import sign_in
    page = sign_in(fund, "admin").get("/admin/people").get_data(as_text=True)
    assert "CAREBOOKS_SMTP_URL is not set" in page


def test_people_choose_on_their_account_page(fund):
    from tests.app.test_access_matrix import csrf_token, sign_in

    def csrf(client, path):
        return csrf_token(client.get(path).get_data(as_text=True))

    client = sign_in(fund, "member")
    page = client.get("/account/notifications").get_data(as_text=True)
    assert "digest" not in page.lower() or "counts only" not in page  # treasurers only
    resp = client.post("/account/notifications",
                       data={"csrf_token": csrf(client, "/account/notifications"),
                             "notify": "email", "lang": "es"})
    assert resp.status_code == 303
    with fund.ctx(), session_scope() as s:
        from app.models import Person
        p = s.get(Person, fund.people["member"].id)
        assert (p.notify, p.lang) == ("email", "es")
    resp = client.post("/account/notifications",
                       data={"csrf_token": csrf(client, "/account/notifications"),
                             "notify": "digest", "lang": "es"})
    assert resp.status_code == 422


def test_hooks_for_role_changes_and_money_tokens_tell_admins_and_treasurers(nfund, smtp):
    with nfund.ctx(), session_scope() as s:
        notify.role_changed(s, nfund.people["member"].id)
        notify.money_token_created(s, nfund.people["treasurer"].id)
    send(nfund)
    assert {k: len(v) for k, v in to(smtp).items()} == {
        "admin": 2, "treasurer": 2, "treasurer2": 2}


def test_a_money_token_and_a_role_change_are_news_to_admins_and_treasurers(nfund, smtp):
    """Through the workflow itself: a token with the money scope, then an admin making a
    member an auditor (applied at once: no power is given)."""
    from app.workflow import people

    with nfund.ctx():
        people.create_token("treasurer@example.org", ["read", "money"])
    send(nfund)
    assert {k: len(v) for k, v in to(smtp).items()} == {
        "admin": 1, "treasurer": 1, "treasurer2": 1}
    seen = len(smtp.got)
    with nfund.ctx():
        assert people.set_roles(nfund.people["admin"], nfund.people["member2"].id,
                                ["member", "auditor"], True) == "applied"
    send(nfund)
    assert set(to(smtp, seen)) == {"treasurer", "treasurer2", "admin"}


KILLS = int(os.environ.get("CAREBOOKS_NOTIFY_KILLS", "200"))


@pytest.mark.slow
def test_a_sender_killed_between_sending_and_marking_loses_nothing(nfund, smtp, capsys):
    """200 senders are killed (SIGKILL, in a forked child) right after the relay accepted
    a message and before it is marked sent. No message is lost; each kill may send one
    message twice, with the same Message-ID."""
    import random

    rng = random.Random(20)
    total = KILLS + 100
    with nfund.ctx(), session_scope() as s:
        for i in range(total):
            notify.queue(s, [nfund.people["treasurer"].id], notify.NEW_REQUEST)
    engine = nfund.app.extensions["carebooks.engine"]
    clock = notify._now()
    kills = lives = 0
    while kills < KILLS and lives < KILLS * 3:
        clock += notify.LEASE + dt.timedelta(seconds=1)  # the dead sender's lease is over
        after = rng.randint(1, 3)
        pid = os.fork()
        if pid == 0:  # the child: send, and die after the `after`-th acceptance
            code = 0
            try:
                engine.dispose(close=False)
                seen = []

                def die(notice):
                    seen.append(notice.id)
                    if len(seen) == after:
                        os.kill(os.getpid(), signal.SIGKILL)
                notify.AFTER_SEND = die
                with nfund.ctx():
                    notify.send_due(clock, limit=after + 2)
            except BaseException:  # noqa: BLE001
                code = 3
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        lives += 1
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            kills += 1
        else:
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert kills == KILLS
    with nfund.ctx():  # a sender that lives drains the rest
        while notify.send_due(clock + dt.timedelta(hours=1)).sent:
            pass
    ids = [r.msg["Message-ID"] for r in smtp.got]
    with nfund.ctx(), session_scope() as s:
        queued = {n.message_id for n in s.exec(select(Notification))}
        assert {n.status for n in s.exec(select(Notification))} == {"sent"}
    assert set(ids) == queued, "a message was lost"
    dups = len(ids) - len(set(ids))
    assert dups <= kills
    with capsys.disabled():
        print(f"\nnotify crash injection ({nfund.app.config['DATABASE_URL'].split(':')[0]}): "
              f"{total} messages, {kills} kills between sending and marking, 0 lost, "
              f"{dups} duplicates ({dups / total:.1%} of messages, {dups / kills:.0%} of kills)")


def test_someone_who_changes_their_mind_before_sending_gets_nothing(nfund, smtp):
    code = ask(nfund, "member")
    assert nfund.api("treasurer", "POST", f"/requests/{code}/needs-info",
                     json={"question": "When?"})[0] == 200
    with nfund.ctx():
        notify.set_choice(nfund.people["member"].id, "none", "es")
    out = send(nfund)
    assert "member" not in to(smtp) and out.skipped == 1
    with nfund.ctx():
        assert notify.status_for_admin()["failed"] == []  # not an address that failed


def test_carebooks_notify_sends_from_the_command_line(tmp_path, smtp):
    from click.testing import CliRunner

    from app.cli import main

    url = f"sqlite:///{tmp_path / 'carebooks.db'}"
    f = make_fund(tmp_path, url)
    try:
        with f.ctx():
            notify.set_choice(f.people["treasurer"].id, "email", "en")
        ask(f, "member")
        env = {"CAREBOOKS_INSTANCE": str(tmp_path / "instance"), "DATABASE_URL": url,
               "CAREBOOKS_BASE_URL": "https://fund.example.org", "CAREBOOKS_SMTP_URL": None}
        off = CliRunner().invoke(main, ["notify"], env=env)
        assert off.exit_code == 0 and "CAREBOOKS_SMTP_URL is not set" in off.stdout
        assert smtp.got == []
        on = CliRunner().invoke(main, ["notify"], env={**env, "CAREBOOKS_SMTP_URL": smtp.url})
        assert on.exit_code == 0, on.stderr
        # the new request, and the reminder that last month waits to be closed
        assert "sent 2," in on.stdout
        assert [r.to for r in smtp.got] == [["treasurer@example.org"]] * 2
        assert any("A month is waiting to be closed." in r.body for r in smtp.got)
        again = CliRunner().invoke(main, ["notify"], env={**env, "CAREBOOKS_SMTP_URL": smtp.url})
        assert "sent 0," in again.stdout  # the month's reminder is queued once
    finally:
        close_fund(f, tmp_path)


def test_the_server_can_send_from_a_background_thread(nfund, smtp, monkeypatch):
    import time

    assert notify.start_thread(nfund.app) is None  # off unless asked for
    ask(nfund, "member")
    monkeypatch.setenv("CAREBOOKS_NOTIFY_EVERY", "1")
    stop = notify.start_thread(nfund.app)
    try:
        deadline = time.monotonic() + 20
        def news():  # the new request's (the month reminders come too)
            return sorted(r.to[0] for r in smtp.got if "new request" in r.body
                          or "nueva solicitud" in r.body)
        while len(news()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        stop.thread.join(30)
    assert news() == ["treasurer2@example.org", "treasurer@example.org"]


def test_a_change_saved_but_not_written_to_the_books_tells_the_treasurers(nfund, smtp,
                                                                         monkeypatch):
    from ledger import Books, LedgerError

    real = Books.post

    def full_disk(self, entry):
        raise LedgerError("No space left on device")

    code = ask(nfund, "member")
    send(nfund)
    n = len(smtp.got)
    monkeypatch.setattr(Books, "post", full_disk)
    status, data = nfund.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    assert status == 503 and data["error"]["code"] == "saved_not_in_books"
    monkeypatch.setattr(Books, "post", real)
    send(nfund)
    got = to(smtp, n)
    assert {k: len(v) for k, v in got.items()} == {"member": 1, "treasurer": 1,
                                                   "treasurer2": 1}
    assert "not yet in the books" in got["treasurer"][0].body
    with nfund.ctx():
        from app.workflow.outbox import settle
        settle()  # the waiting entry goes to the books before the fund is checked


def test_a_request_filed_for_someone_without_email_tells_the_treasurers_and_not_them(
        nfund, smtp):
    """Issue 20: an intake volunteer files for a person with no email; the treasurers are
    told there is a new request (never who, nor how to reach them); the approval and the
    payment tell nobody, since the person has no address, even with a choice of email
    forced into the database."""
    import datetime as dt

    from app.db import session_scope
    from app.models import Person
    from app.workflow import intake, requests
    from app.workflow.people import add_person

    with nfund.ctx():
        vol = add_person("vol@example.org", ["intake"], handle="vol")
        made = intake.file_for(vol, {
            "handle": WALKIN, "amount": "80.00", "category": "food",
            "needed_by": (dt.date.today() + dt.timedelta(days=3)).isoformat(),
            "payout_method": "cash", "story": STORY, "reach_by": "phone",
            "contact": CONTACT})
        with session_scope() as s:
            s.exec(select(Person).where(Person.handle == WALKIN)).one().notify = "email"
    assert send(nfund).sent == 2
    got = to(smtp)
    assert sorted(got) == ["treasurer", "treasurer2"]
    assert "new request" in got["treasurer"][0].body
    before = len(smtp.got)
    with nfund.ctx():
        requests.approve(nfund.people["treasurer"], made["code"], {})
        requests.pay(nfund.people["treasurer2"], made["code"],
                     {"amount": "80.00", "account": "Assets:Fund:Bank"})
        with session_scope() as s:
            walkin = s.exec(select(Person).where(Person.handle == WALKIN)).one()
            queued = s.exec(select(Notification).where(
                Notification.person_id == walkin.id)).all()
    assert queued == []
    assert send(nfund).sent == 0 and len(smtp.got) == before
