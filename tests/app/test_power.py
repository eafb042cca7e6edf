"""No single person holds the power the policy splits between two, and API tokens can be
seen, scoped, expired and revoked (issue 16, items 3 and 4).

Each test failed on 0983efd: an admin promoted anyone (themself too) at once with no
re-confirmation and nobody told; one treasurer approved 499.99 of a 900.00 request alone;
a treasurer recorded the payment of their own request; tokens never expired, could not be
listed or revoked, and survived a password change, a role change and disabling.
"""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlmodel import select

from app.db import session_scope
from app.models import ApiToken, Person, WebSession
from tests.app.conftest import PASSWORD, ask
from tests.app.test_access_matrix import csrf_token, sign_in


def roles_of(fund, who: str) -> set[str]:
    with fund.ctx(), session_scope() as s:
        return set(s.get(Person, fund.people[who].id).roles.split(","))


def api_ok(fund, who: str) -> int:
    return fund.api(who, "GET", "/requests")[0]


def post_form(client, path: str, data: dict):
    token = csrf_token(client.get("/").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def make_old(fund, who: str) -> None:
    """Every session of `who` signed in an hour ago (not recent)."""
    with fund.ctx(), session_scope() as s:
        for row in s.exec(select(WebSession).where(
                WebSession.person_id == fund.people[who].id)):
            row.authenticated_at = row.authenticated_at - dt.timedelta(hours=1)


# --- item 4: grants of power wait for a second person ------------------------------------

def test_giving_power_waits_for_a_second_person_and_everyone_is_told(fund):
    admin = sign_in(fund, "admin")
    member = fund.people["member"].id
    resp = post_form(admin, f"/admin/people/{member}", {f"p{member}-roles": ["treasurer"],
                                                        f"p{member}-active": "y"})
    assert resp.status_code == 303
    assert roles_of(fund, "member") == {"member"}  # not yet: it waits
    # the admin cannot confirm their own grant, nor can the person who would get it
    with fund.ctx():
        from app.workflow import roles
        from app.workflow.errors import Forbidden

        (grant,) = roles.pending(fund.people["admin"])
        assert grant["roles"] == ["treasurer"] and not grant["may_decide"]
        with pytest.raises(Forbidden):
            roles.decide(fund.people["admin"], grant["id"], True)
    # every other admin and treasurer is told on their next page view, once
    t2 = sign_in(fund, "treasurer2")
    page = t2.get("/treasurer/queue").get_data(as_text=True)
    assert "asked to give member the role treasurer" in page
    assert "asked to give" not in t2.get("/treasurer/queue").get_data(as_text=True)
    # a second treasurer confirms; then it is applied, and the member's tokens end
    status_before = api_ok(fund, "member")
    assert status_before == 200
    resp = post_form(t2, f"/admin/roles-waiting/{grant['id']}/confirm", {})
    assert resp.status_code == 303
    assert roles_of(fund, "member") == {"treasurer"}
    assert api_ok(fund, "member") == 401
    page = sign_in(fund, "treasurer").get("/treasurer/queue").get_data(as_text=True)
    assert "changed the roles of member: now treasurer" in page


def test_an_admin_cannot_make_themself_a_treasurer_alone(fund):
    with fund.ctx():
        from app.workflow.people import set_roles

        assert set_roles(fund.people["admin"], fund.people["admin"].id,
                         ["admin", "treasurer"], True) == "pending"
    assert roles_of(fund, "admin") == {"admin"}


def test_a_fund_of_one_admin_can_still_start(fund):
    with fund.ctx(), session_scope() as s:
        for who in ("treasurer", "treasurer2"):
            s.get(Person, fund.people[who].id).active = False
    with fund.ctx():
        from app.workflow.people import set_roles

        assert set_roles(fund.people["admin"], fund.people["member"].id, ["treasurer"],
                         True) == "applied"
    assert roles_of(fund, "member") == {"treasurer"}


def test_changing_roles_and_inviting_need_a_recent_sign_in(fund):
    admin = sign_in(fund, "admin")
    make_old(fund, "admin")
    member = fund.people["member"].id
    for path, data in ((f"/admin/people/{member}", {f"p{member}-roles": ["admin"],
                                                    f"p{member}-active": "y"}),
                       ("/admin/invitations", {"email": "new@example.org",
                                               "roles": ["admin"]})):
        resp = post_form(admin, path, data)
        assert resp.status_code == 303 and "/account/confirm" in resp.headers["Location"]
    assert roles_of(fund, "member") == {"member"}
    with fund.ctx():
        from app.models import Invitation

        with session_scope() as s:
            assert s.exec(select(Invitation)).all() == []


def test_an_invited_admin_starts_as_a_member_until_confirmed(fund):
    with fund.ctx():
        from app.workflow import people, roles

        token = people.invite(fund.people["admin"], "new@example.org", ["admin"])
        person = people.accept_invitation(token, PASSWORD, None)
        assert person.roles == "member"
        (grant,) = roles.pending(fund.people["treasurer"])
        assert grant["email"] == "new@example.org" and grant["may_decide"]
        assert roles.decide(fund.people["treasurer"], grant["id"], True) == "confirmed"
        assert people.person_by_email("new@example.org").roles == "admin"


def test_the_second_approval_threshold_is_the_requests_amount(fund):
    code = ask(fund, amount="900.00")
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/approve",
                            json={"amount": "499.99"})
    assert status == 200 and data["status"] == "submitted", data
    assert data["approvals_needed"] == 2
    status, data = fund.api("treasurer2", "POST", f"/requests/{code}/approve",
                            json={"amount": "499.99"})
    assert status == 200 and data["status"] == "approved", data


def test_a_treasurer_cannot_record_the_payment_of_their_own_request(fund):
    code = ask(fund, who="treasurer", amount="50.00")
    assert fund.api("treasurer2", "POST", f"/requests/{code}/approve", json={})[0] == 200
    status, data = fund.api("treasurer", "POST", f"/requests/{code}/payments",
                            json={"amount": "50.00", "account": "Assets:Fund:Bank"})
    assert status == 422 and data["error"]["code"] == "self_payment", data
    status, data = fund.api("treasurer2", "POST", f"/requests/{code}/payments",
                            json={"amount": "50.00", "account": "Assets:Fund:Bank"})
    assert status == 201, data


# --- item 3: tokens ------------------------------------------------------------------------

def test_a_token_expires_after_90_days_by_default(fund):
    with fund.ctx(), session_scope() as s:
        row = s.exec(select(ApiToken).where(
            ApiToken.person_id == fund.people["member"].id)).first()
        days = (row.expires_at - row.created_at).days
        assert days == 90
        row.expires_at = row.created_at - dt.timedelta(seconds=1)
    assert api_ok(fund, "member") == 401


@pytest.mark.parametrize("how", ["password", "disabled", "roles"])
def test_every_token_ends_on_password_change_disabling_and_role_change(fund, how):
    assert api_ok(fund, "member2") == 200
    with fund.ctx():
        from app.workflow import people, sessions

        if how == "password":
            sessions.change_password(fund.people["member2"].id, PASSWORD,
                                     "a brand new long passphrase")
        else:
            people.set_roles(fund.people["admin"], fund.people["member2"].id,
                             ["member"] if how == "disabled" else ["member", "admin"],
                             how != "disabled")
            if how == "roles":  # waits for a second person; confirmed by a treasurer
                from app.workflow import roles
                (grant,) = roles.pending(fund.people["treasurer"])
                roles.decide(fund.people["treasurer"], grant["id"], True)
    assert api_ok(fund, "member2") == 401
    with fund.ctx(), session_scope() as s:
        rows = s.exec(select(ApiToken).where(
            ApiToken.person_id == fund.people["member2"].id)).all()
        assert rows and all(r.revoked and r.revoked_why for r in rows)


def test_money_scope_only_for_a_treasurer_with_a_second_factor(fund):
    from app.workflow.errors import Forbidden

    with fund.ctx():
        from app.workflow import people, tokens

        with pytest.raises(Forbidden):
            people.create_token("admin@example.org", ["money"])
        with pytest.raises(Forbidden):
            people.create_token("member@example.org", ["money"])
        new = people.add_person("t3@example.org", ["treasurer"], password=PASSWORD)
        assert tokens.may_hold(new) == ("read", "request")  # no second factor yet
        people.create_token("treasurer@example.org", ["money"])


def test_the_page_lists_and_revokes_own_tokens_and_an_admin_sees_everyones(fund):
    member = sign_in(fund, "member")
    page = member.get("/account/tokens").get_data(as_text=True)
    assert "@member" in page and "@treasurer" not in page
    with fund.ctx(), session_scope() as s:
        mine = s.exec(select(ApiToken).where(
            ApiToken.person_id == fund.people["member"].id)).first().id
        theirs = s.exec(select(ApiToken).where(
            ApiToken.person_id == fund.people["treasurer"].id)).first().id
    assert post_form(member, f"/account/tokens/{theirs}/revoke", {}).status_code == 404
    assert api_ok(fund, "treasurer") == 200
    assert post_form(member, f"/account/tokens/{mine}/revoke", {}).status_code == 303
    assert api_ok(fund, "member") == 401
    admin = sign_in(fund, "admin")
    page = admin.get("/account/tokens").get_data(as_text=True)
    assert "@member" in page and "@treasurer" in page and "revoked (revoked)" in page


def test_the_cli_lists_and_revokes_tokens(fund, monkeypatch):
    from app.cli import main

    monkeypatch.setenv("CAREBOOKS_INSTANCE", fund.app.instance_path)
    monkeypatch.setenv("DATABASE_URL", fund.app.config["DATABASE_URL"])
    runner = CliRunner()
    out = runner.invoke(main, ["token", "list", "member2@example.org"])
    assert out.exit_code == 0, out.output
    (line,) = out.stdout.splitlines()
    token_id, email, scopes, expires, state = line.split("\t")
    assert email == "member2@example.org" and scopes == "read,request" and state == "live"
    assert "cbk_" not in out.stdout  # never the token itself
    out = runner.invoke(main, ["token", "revoke", token_id])
    assert out.exit_code == 0, out.output
    assert api_ok(fund, "member2") == 401
    out = runner.invoke(main, ["token", "list", "member2@example.org"])
    assert out.stdout.split("\t")[-1].strip() == "revoked (revoked)"
