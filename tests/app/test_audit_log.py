"""The audit log: every sign-in, failed sign-in, refused access, state change and policy
change, hash-chained and shown to admins; and neither it nor the app's logs ever hold a
password, a token, a story or contact details."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlmodel import select

from app.db import session_scope
from app.models import AuditEvent
from tests.app.conftest import PASSWORD, make_fund
from tests.app.test_web import Browser, submit_request, text

STORY = "My hours were cut this month."  # what submit_request writes


@pytest.fixture
def fund(tmp_path):
    return make_fund(tmp_path, f"sqlite:///{tmp_path / 'audit.db'}")


def _events(fund) -> list[AuditEvent]:
    with fund.ctx(), session_scope() as session:
        return session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()


def test_sign_ins_refusals_and_changes_are_audited(fund):
    Browser(fund).post("/sign-in", data={"email": "member@example.org",
                                         "password": "not the password at all"})
    m = Browser(fund).sign_in("member")
    code = submit_request(fund)
    m.get("/treasurer/queue")                        # 403
    Browser(fund).sign_in("member2").get(f"/my/requests/{code}")  # someone else's: 404
    t = Browser(fund).sign_in("treasurer")
    t.post(f"/treasurer/requests/{code}", f"/treasurer/requests/{code}/approve", data={})
    actions = [e.action for e in _events(fund)]
    for wanted in ("auth.failed", "auth.signed_in", "request.submitted", "access.denied",
                   "request.approve"):
        assert wanted in actions, wanted
    denied = [e for e in _events(fund) if e.action == "access.denied"]
    assert {e.subject for e in denied} >= {"/treasurer/queue", f"/my/requests/{code}"}


def test_admins_see_the_log_and_whether_its_chain_holds(fund):
    submit_request(fund)
    page = text(Browser(fund).sign_in("admin").get("/admin/audit"))
    assert "The chain of hashes holds" in page and "@member asked for 200.00 USD" in page
    assert Browser(fund).sign_in("treasurer").get("/admin/audit").status_code == 403
    with fund.ctx(), session_scope() as session:  # tamper with one event
        event = session.exec(select(AuditEvent).where(
            AuditEvent.action == "request.submitted")).first()
        event.detail = event.detail.replace("200.00", "20.00")
    assert "BROKEN" in text(Browser(fund).sign_in("admin").get("/admin/audit"))
    from app.workflow.check import run_check
    with fund.ctx():
        report = run_check()
    assert not report.ok and any("audit chain broken" in p for p in report.problems)


def test_no_secret_or_personal_text_reaches_the_audit_log_or_the_logs(fund, caplog):
    caplog.set_level(logging.DEBUG)
    refused = Browser(fund).post("/sign-in", data={"email": "member@example.org",
                                                   "password": "a wrong but long password"})
    assert refused.status_code == 422
    code = submit_request(fund)
    t = Browser(fund).sign_in("treasurer")
    asked = t.post(f"/treasurer/requests/{code}", f"/treasurer/requests/{code}/ask",
                   data={"question": "Which landlord is it, exactly?"})
    assert asked.status_code == 303, text(asked)[:800]
    m = Browser(fund).sign_in("member")
    answered = m.post(f"/my/requests/{code}", f"/my/requests/{code}/answer",
                      data={"answer": "Mr Ramírez on Elm Street."})
    assert answered.status_code == 303, text(answered)[:800]
    donated = t.post("/treasurer/donations", data={
        "amount": "20.00", "account": "Assets:Fund:Bank", "date": dt.date.today().isoformat(),
        "category": "individual", "donor_name": "Rosa Martínez",
        "donor_consents_public": "y"})
    assert donated.status_code == 303, text(donated)[:800]
    # every step happened and reached both the log and the audit log: the checks below
    # look for its text where it must not be
    page = text(t.get(f"/treasurer/requests/{code}"))
    assert "Which landlord is it, exactly?" in page and "Mr Ramírez on Elm Street." in page
    status, donations = fund.api("treasurer", "GET", "/donations")
    assert [d["donor_name"] for d in donations["donations"]] == ["Rosa Martínez"]
    actions = [e.action for e in _events(fund)]
    for wanted in ("auth.failed", "request.submitted", "request.needs-info", "request.answer",
                   "donation.recorded"):
        assert wanted in actions, wanted
    secrets = [PASSWORD, "a wrong but long password", STORY, "Which landlord is it",
               "Mr Ramírez", "Rosa Martínez", "member@example.org", "treasurer@example.org",
               fund.tokens["treasurer"], fund.totp["treasurer"], fund.recovery["admin"][0]]
    audit_text = "\n".join(f"{e.action} {e.subject} {e.detail}" for e in _events(fund))
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for secret in secrets:
        assert secret not in audit_text, f"audit log holds {secret!r}"
        assert secret not in logs, f"logs hold {secret!r}"
