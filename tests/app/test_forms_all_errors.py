"""Issue 19: every form sent empty shows every error at once, in an error summary at the
top whose links lead to each field; what was typed stays; amounts are read in the page's
language; a donor's name without consent is refused, not dropped; withdrawing and
cancelling ask first; after confirming it is you, the action asked for is shown again,
filled."""

from __future__ import annotations

import re

import pytest

from tests.app.conftest import ask
from tests.app.test_web import Browser, text

# (who, page holding the form, where it posts, the fields a person must fill in): each
# must be named in the error summary, linked to its field, and marked required.
EMPTY_FORMS = [
    (None, "/sign-in", "/sign-in", ["email", "password"]),
    ("member", "/my/requests/new", "/my/requests/new",
     ["amount", "needed_by", "story"]),
    ("member", "/account/password", "/account/password", ["current", "new"]),
    ("member", "/account/confirm", "/account/confirm", ["password"]),
    ("treasurer", "/treasurer/donations", "/treasurer/donations", ["amount", "date"]),
    ("admin", "/admin/people", "/admin/invitations", ["email"]),
    ("admin", "/admin/policy", "/admin/policy",
     ["second_approval_at", "request_cap", "member_cap", "member_window_days",
      "reserve_floor", "k_threshold", "dominance_share", "rounding_unit", "purge_after_days"]),
]


def summary_links(html: str) -> list[str]:
    """The field ids the error summary links to."""
    box = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert box, "no error summary"
    return re.findall(r'<a href="#([\w-]+)"', box.group(0))


@pytest.mark.parametrize("who,page,action,fields", EMPTY_FORMS,
                         ids=[f[2] for f in EMPTY_FORMS])
def test_a_form_sent_empty_shows_every_error_at_once(fund, who, page, action, fields):
    b = Browser(fund)
    if who:
        b.sign_in(who)
    data = {"category": "", "payout_method": ""} if action == "/my/requests/new" else {}
    resp = b.post(page, action, data={**data, **({"needed_by": ""} if "requests" in action
                                                  else {})})
    html = text(resp)
    assert resp.status_code == 422, html[:300]
    linked = summary_links(html)
    missing = [f for f in fields if f not in linked]
    assert not missing, f"{action}: no error for {missing} (summary links: {linked})"
    for f in fields:  # each field says it is required, and points to its error
        tag = re.search(rf'<(?:input|textarea|select)[^>]*\bid="{f}"[^>]*>', html).group(0)
        assert 'aria-invalid="true"' in tag and f"{f}-error" in tag, tag
        assert 'aria-required="true"' in tag, tag


def test_a_member_s_request_keeps_what_was_typed(fund):
    member = Browser(fund).sign_in("member")
    resp = member.post("/my/requests/new", data={
        "amount": "abc", "category": "rent", "needed_by": "", "payout_method": "bank",
        "story": "Rent is due."})
    html = text(resp)
    assert resp.status_code == 422
    assert set(summary_links(html)) >= {"amount", "needed_by"}
    assert 'value="abc"' in html and "Rent is due." in html


@pytest.mark.parametrize("lang,typed,kept", [
    ("es", "120,50", "120.50"), ("es", "1.234,56", "1234.56"), ("es", "120.50", "120.50"),
    ("en", "1,234.56", "1234.56"), ("en", "120.50", "120.50")])
def test_amounts_are_read_in_the_page_s_language(fund, lang, typed, kept):
    import datetime as dt

    t = Browser(fund, lang).sign_in("treasurer")
    resp = t.post("/treasurer/donations", data={
        "amount": typed, "account": "Assets:Fund:Bank", "category": "individual",
        "date": dt.date.today().isoformat()})
    assert resp.status_code == 303, text(resp)[:600]
    status, data = fund.api("treasurer", "GET", "/donations")
    assert data["donations"][-1]["amount"] == kept


def test_an_amount_in_the_wrong_language_is_refused_not_guessed(fund):
    """`120,50` on an English page is not 12050: it is refused, and stays as typed."""
    member = Browser(fund, "en").sign_in("member")
    resp = member.post("/my/requests/new", data={
        "amount": "120,50", "category": "rent", "payout_method": "bank",
        "needed_by": "2099-01-01", "story": "x"})
    assert resp.status_code == 422 and 'value="120,50"' in text(resp)


def test_withdrawing_asks_first(fund):
    code = ask(fund, amount="30.00")
    member = Browser(fund).sign_in("member")
    page = text(member.get(f"/my/requests/{code}"))
    assert f'href="/my/requests/{code}?confirm=withdraw#confirm-title"' in page
    assert f'action="/my/requests/{code}/withdraw"' not in page  # no one-tap withdraw
    page = text(member.get(f"/my/requests/{code}?confirm=withdraw"))
    assert "cannot be undone" in page and f'action="/my/requests/{code}/withdraw"' in page
    assert "waiting for a decision" in text(member.get(f"/my/requests/{code}"))  # unchanged


def test_cancelling_an_approval_asks_first_with_the_reason(fund):
    code = ask(fund, amount="30.00")
    assert fund.api("treasurer2", "POST", f"/requests/{code}/approve", json={})[0] == 200
    t = Browser(fund).sign_in("treasurer")
    page = f"/treasurer/requests/{code}"
    resp = t.post(page, f"{page}/cancel", data={"cancel-reason": "Paid twice by mistake."})
    assert resp.status_code == 200 and "cannot be undone" in text(resp)
    assert "Paid twice by mistake." in text(resp)
    assert fund.api("treasurer", "GET", f"/requests/{code}")[1]["status"] == "approved"
    resp = t.post(page, f"{page}/cancel", data={"cancel-reason": "Paid twice by mistake.",
                                                 "confirmed": "yes"})
    assert resp.status_code == 303
    assert fund.api("treasurer", "GET", f"/requests/{code}")[1]["status"] == "cancelled"


def test_after_confirming_it_is_you_the_action_is_shown_again_filled(fund):
    from app.db import session_scope
    from app.models import WebSession

    code = ask(fund, amount="30.00")
    t = Browser(fund).sign_in("treasurer")
    page = f"/treasurer/requests/{code}"
    token = t.token(page)
    with fund.ctx(), session_scope() as s:  # the sign-in is now 20 minutes old
        import datetime as dt
        from sqlmodel import select
        for row in s.exec(select(WebSession)).all():
            row.authenticated_at -= dt.timedelta(minutes=20)
    resp = t.client.post(f"{page}/approve", data={"csrf_token": token, "amount": "25.00"},
                         headers=t.headers)
    assert resp.status_code == 303 and "/account/confirm" in resp.headers["Location"]
    from tests.app.conftest import PASSWORD
    resp = t.post("/account/confirm", resp.headers["Location"],
                  data={"password": PASSWORD, "code": fund.code("treasurer")})
    html = text(resp)
    assert resp.status_code == 200, html[:400]
    assert f'action="{page}/approve"' in html and 'value="25.00"' in html
    resp = t.post("/account/confirm", f"{page}/approve", data={"amount": "25.00"})
    assert resp.status_code == 303
    item = fund.api("treasurer", "GET", f"/requests/{code}")[1]
    assert item["approvals"] and item["approvals"][0]["amount"] == "25.00", item
