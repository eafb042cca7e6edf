"""People without email (issue 20, item 3), through the pages: an intake volunteer files a
request for someone who has no email, a treasurer approves and pays it, and the person
later claims an account with a printed code, signs in with their name and a passphrase,
and sees their request. The volunteer never sees the story once it is filed; the contact
is encrypted and purged with the story; nobody without email is sent anything; the intake
role waits for a second person like the roles of power; and migration 0013 goes up and
down on SQLite and PostgreSQL with the data in place."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from sqlalchemy import create_engine, text as sql
from sqlmodel import select

from tests.app.conftest import PASSWORD
from tests.app.test_web import Browser, text

STORY = "Landlord Mr Okafor wants the rent by Friday; my son is ill."
CONTACT = "555-0199, after 6 pm; or ask Ana at the laundromat"
PASSPHRASE = "blue kettle under the stairs"
CODE = re.compile(r"\b[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}\b")


def add_volunteer(fund, who: str = "vol") -> None:
    """An intake volunteer, added as the operator's command line adds one."""
    from app.workflow.people import add_person

    with fund.ctx():
        fund.people[who] = add_person(f"{who}@example.org", ["intake"], handle=who,
                                      password=PASSWORD)


def file_for(b: Browser, handle: str = "rosa", amount: str = "275.00", **extra):
    data = {"handle": handle, "amount": amount, "category": "rent",
            "needed_by": (dt.date.today() + dt.timedelta(days=5)).isoformat(),
            "payout_method": "cash", "story": STORY, "reach_by": "phone",
            "contact": CONTACT, **extra}
    return b.post("/intake/new", data=data)


def test_a_volunteer_files_for_someone_without_email_who_later_claims_an_account(fund):
    add_volunteer(fund)
    vol = Browser(fund).sign_in("vol")  # the second factor is set up at the first sign-in
    seen_by_volunteer = []

    # the volunteer files the request at the table
    page = vol.get("/intake/new")
    assert page.status_code == 200
    resp = file_for(vol)
    assert resp.status_code == 303, text(resp)[:800]
    where = resp.headers["Location"]
    code = where.rsplit("/", 1)[-1]
    for path in (where, "/intake/"):
        page = vol.get(path)
        assert page.status_code == 200
        seen_by_volunteer.append(text(page))
    assert code in seen_by_volunteer[1] and "rosa" in seen_by_volunteer[1]
    assert "555-0199" in seen_by_volunteer[0]  # the volunteer can call back
    # ... and not the request through any other page
    for path in (f"/my/requests/{code}", f"/treasurer/requests/{code}"):
        page = vol.get(path)
        assert page.status_code in (403, 404)
        seen_by_volunteer.append(text(page))

    with fund.ctx():
        from app.db import session_scope
        from app.models import AidRequest, Person

        with session_scope() as s:
            rosa = s.exec(select(Person).where(Person.handle == "rosa")).one()
            req = s.exec(select(AidRequest).where(AidRequest.code == code)).one()
            assert rosa.email is None and rosa.password_hash is None
            assert req.member_id == rosa.id and req.filed_by == fund.people["vol"].id
            assert req.reach_by == "phone"
            raw = s.connection().execute(sql("SELECT contact, story FROM aid_request "
                                             "WHERE code = :c"), {"c": code}).one()
        assert raw.contact.startswith("cb1:") and "555" not in raw.contact  # encrypted
        rosa.notify = "email"  # even if it were chosen somehow: nowhere to send it
        with session_scope() as s:
            s.get(Person, rosa.id).notify = "email"

    # a treasurer reads it, with who filed it and how to reach the person, approves, pays
    tre = Browser(fund).sign_in("treasurer")
    page = text(tre.get(f"/treasurer/requests/{code}"))
    assert STORY in page and CONTACT.split(",")[0] in page and "@vol" in page
    resp = tre.post(f"/treasurer/requests/{code}", f"/treasurer/requests/{code}/approve",
                    data={"amount": "275.00"})
    assert resp.status_code == 303, text(resp)[:800]
    resp = tre.post(f"/treasurer/requests/{code}", f"/treasurer/requests/{code}/pay",
                    data={"amount": "275.00", "account": "Assets:Fund:Bank",
                          "date": dt.date.today().isoformat()})
    assert resp.status_code == 303, text(resp)[:800]
    with fund.ctx():
        from app.models import Notification

        with session_scope() as s:
            assert s.get(AidRequest, req.id).status == "paid"
            told = s.exec(select(Notification).where(Notification.person_id == rosa.id)).all()
        assert told == [], "someone without email was queued a message"

    # the volunteer sees where it stands, never the story
    page = text(vol.get(where))
    seen_by_volunteer.append(page)
    assert "Paid" in page or "paid" in page
    for body in seen_by_volunteer:
        assert "Okafor" not in body and "son is ill" not in body

    # the treasurer prints a code; the person claims an account with it
    resp = tre.post(f"/treasurer/requests/{code}", "/treasurer/people/rosa/claim-code")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    printed = CODE.search(text(resp)).group(0)
    assert "/claim" in text(resp) and "rosa" in text(resp)

    person = Browser(fund)
    assert person.get("/claim").status_code == 200
    short = person.post("/claim", data={"code": printed, "password": "too short"})
    assert short.status_code == 422 and "12" in text(short)  # the code is not spent
    resp = person.post("/claim", data={"code": printed.lower().replace("-", " "),
                                       "password": PASSPHRASE})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/claim/codes")
    codes_page = text(person.get("/claim/codes"))
    recovery = re.findall(r"<code>([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})</code>", codes_page)
    assert len(recovery) == 10
    assert person.get("/claim/codes").status_code == 303  # shown once
    mine = text(person.get("/my/requests"))
    assert code in mine
    detail = text(person.get(f"/my/requests/{code}"))
    assert "275.00" in detail and "Everything approved has been sent" in detail
    notifications = text(person.get("/account/notifications"))
    assert "You have no email address here" in notifications
    refused = person.post("/account/notifications", data={"notify": "email", "lang": "en"})
    assert refused.status_code == 422

    # the printed code works once
    again = Browser(fund).post("/claim", data={"code": printed, "password": PASSPHRASE})
    assert again.status_code == 422 and "already used" in text(again)

    # she signs out, and back in with her name and passphrase
    person.post("/my/requests", "/sign-out")
    later = Browser(fund)
    resp = later.post("/sign-in", data={"email": "rosa", "password": PASSPHRASE})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/my/requests")
    assert code in text(later.get("/my/requests"))
    wrong = Browser(fund).post("/sign-in", data={"email": "rosa", "password": "not it at all!"})
    assert wrong.status_code == 422

    # a forgotten passphrase: one recovery code sets a new one, once
    helper = Browser(fund)
    new = "green door by the river"
    resp = helper.post("/recover", data={"handle": "rosa", "code": recovery[0],
                                         "password": new})
    assert resp.status_code == 303, text(resp)[:500]
    assert later.get("/my/requests").status_code == 303, "the old session must end"
    reused = Browser(fund).post("/recover", data={"handle": "rosa", "code": recovery[0],
                                                  "password": "yet another phrase here"})
    assert reused.status_code == 422
    resp = Browser(fund).post("/sign-in", data={"email": "rosa", "password": new})
    assert resp.status_code == 303


def test_the_volunteer_sees_only_what_they_filed(fund):
    add_volunteer(fund)
    add_volunteer(fund, "vol2")
    vol = Browser(fund).sign_in("vol")
    other = Browser(fund).sign_in("vol2")
    code = file_for(vol).headers["Location"].rsplit("/", 1)[-1]
    assert other.get(f"/intake/requests/{code}").status_code == 404
    assert code not in text(other.get("/intake/"))
    # filing again for the same name adds to the same person
    second = file_for(other, amount="40.00").headers["Location"].rsplit("/", 1)[-1]
    with fund.ctx():
        from app.workflow import requests

        treasurer = fund.people["treasurer"]
        assert requests.get(treasurer, code)["member"] == requests.get(treasurer,
                                                                       second)["member"]
    # a name taken by someone with an email is refused, and nothing is filed
    resp = file_for(vol, handle="member")
    assert resp.status_code == 422 and "email" in text(resp)
    # the phone number is needed for a phone call; the error names the field
    resp = file_for(vol, handle="tomas", contact="")
    assert resp.status_code == 422 and 'id="contact-error"' in text(resp)
    with fund.ctx():
        from app.db import session_scope
        from app.models import Person

        with session_scope() as s:
            assert s.exec(select(Person).where(Person.handle == "tomas")).first() is None
    # a member may not file for others
    member = Browser(fund).sign_in("member")
    assert member.get("/intake/new").status_code == 403


def test_the_intake_role_waits_for_a_second_person(fund):
    from app.workflow import people, roles

    with fund.ctx():
        spare = people.add_person("spare@example.org", ["member"], handle="spare",
                                  password=PASSWORD)
        outcome = people.set_roles(fund.people["admin"], spare.id, ["member", "intake"], True)
        assert outcome == "pending"
        assert not people.person_by_email("spare@example.org").has("intake")
        grant = roles.pending(fund.people["treasurer"])[0]
        assert grant["roles"] == ["intake", "member"]
        assert roles.decide(fund.people["treasurer"], grant["id"], True) == "confirmed"
        assert people.person_by_email("spare@example.org").has("intake")
        assert people.person_by_email("spare@example.org").needs_second_factor


def test_purge_removes_the_contact_with_the_story(fund):
    from app.workflow import intake, requests
    from app.workflow.retention import purge

    add_volunteer(fund)
    with fund.ctx():
        made = intake.file_for(fund.people["vol"], {
            "handle": "rosa", "amount": "50.00", "category": "food",
            "needed_by": (dt.date.today() + dt.timedelta(days=3)).isoformat(),
            "payout_method": "cash", "story": STORY, "reach_by": "contact",
            "contact": CONTACT})
        assert "story" not in made and made["contact"] == CONTACT
        requests.deny(fund.people["treasurer"], made["code"], {"reason": "Out of budget."})
        counts = purge(0)
        assert counts["contacts"] == 1 and counts["requests"] == 1
        after = requests.get(fund.people["treasurer"], made["code"])
        assert after["contact"] == "[removed after 0 days]"
        assert after["story"] == "[removed after 0 days]"


def test_claim_codes_are_for_people_without_email_and_printed_by_treasurers(fund):
    from app.workflow import intake
    from app.workflow.errors import Forbidden, InvalidInput, NotFound

    add_volunteer(fund)
    with fund.ctx():
        from app.workflow.people import add_person

        add_person(None, ["member"], handle="walkin")
        with pytest.raises(Forbidden):
            intake.new_claim_code(fund.people["vol"], "walkin")
        with pytest.raises(InvalidInput):
            intake.new_claim_code(fund.people["treasurer"], "member")
        with pytest.raises(NotFound):
            intake.new_claim_code(fund.people["treasurer"], "nobody")
        first = intake.new_claim_code(fund.people["treasurer"], "walkin")
        second = intake.new_claim_code(fund.people["treasurer"], "walkin")
        with pytest.raises(NotFound):  # a new code ends the earlier one
            intake.claim(first["code"], PASSPHRASE)
        who, codes = intake.claim(second["code"], PASSPHRASE)
        assert who.handle == "walkin" and len(set(codes)) == 10


# --- the migration ---------------------------------------------------------------------------

def test_migration_0013_up_and_down_keeps_the_data(database_url):
    """Up to 0013 keeps people and requests; a person without email can then exist; going
    back below 0013 gives them an address that can never be delivered to."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from app.db import make_engine
    from app.migrate import alembic_config, upgrade

    before = ScriptDirectory.from_config(alembic_config(database_url)).get_revision(
        "0013").down_revision
    upgrade(database_url, before)
    engine = make_engine(database_url)
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(sql("INSERT INTO person (email, handle, roles, active, created_at, notify, "
                         "lang) VALUES ('a@example.org', 'a', 'member', true, :t, 'none', "
                         "'en')"), {"t": now})
        pid = conn.execute(sql("SELECT id FROM person")).scalar_one()
        conn.execute(sql("INSERT INTO aid_request (code, member_id, amount, category, "
                         "needed_by, payout_method, story, status, paid_amount, created_at, "
                         "updated_at) VALUES ('R-2026-0001', :p, 1000, 'rent', :d, 'bank', "
                         "'x', 'submitted', 0, :t, :t)"),
                     {"p": pid, "d": dt.date(2026, 12, 9), "t": now})
    upgrade(database_url, "0013")
    with engine.begin() as conn:
        row = conn.execute(sql("SELECT member_id, filed_by, reach_by, contact FROM "
                               "aid_request")).one()
        assert tuple(row) == (pid, None, None, None)
        conn.execute(sql("INSERT INTO person (email, handle, roles, active, created_at, notify, "
                         "lang) VALUES (NULL, 'b', 'member', true, :t, 'none', 'en')"),
                     {"t": now})
        conn.execute(sql("INSERT INTO person (email, handle, roles, active, created_at, notify, "
                         "lang) VALUES (NULL, 'c', 'member', true, :t, 'none', 'en')"),
                     {"t": now})
        conn.execute(sql("UPDATE aid_request SET filed_by = :p, reach_by = 'phone'"),
                     {"p": pid})
    command.downgrade(alembic_config(database_url), before)
    with engine.begin() as conn:
        emails = sorted(e for (e,) in conn.execute(sql("SELECT email FROM person")))
        assert emails[0] == "a@example.org"
        assert all(e.endswith("@no-email.invalid") for e in emails[1:]) and len(emails) == 3
        assert conn.execute(sql("SELECT code FROM aid_request")).scalar_one() == "R-2026-0001"
    upgrade(database_url)
    engine.dispose()


# --- the command line ------------------------------------------------------------------------

def test_the_command_line_adds_a_volunteer_and_a_person_without_email(tmp_path,
                                                                      monkeypatch):
    from app import create_app
    from tests.app.test_cli import init, run

    instance = tmp_path / "instance"
    monkeypatch.setenv("CAREBOOKS_INSTANCE", str(instance))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    init(instance)
    run(instance, "user", "add", "ines@example.org", "--role", "intake", "--password-stdin",
        input=PASSWORD + "\n")
    out = run(instance, "user", "add", "--handle", "walkin", "--role", "member").stdout
    assert "without email" in out and "claim-code walkin" in out
    out = run(instance, "user", "claim-code", "walkin").stdout
    printed = CODE.search(out).group(0)
    refused = run(instance, "user", "claim-code", "ines", ok=False)
    assert "email" in refused.stderr
    app = create_app(instance=instance)
    with app.app_context():
        from app.workflow import intake
        from app.workflow.people import person_by_email

        assert person_by_email("ines@example.org").has("intake")
        who, _codes = intake.claim(printed, PASSPHRASE)
        assert who.handle == "walkin"
    app.extensions["carebooks.engine"].dispose()
