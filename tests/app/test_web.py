"""Every page and form through the Flask test client, in English and Spanish: what a
member, a treasurer, an admin and a visitor see and do, with CSRF tokens as a browser
sends them, POST-redirect-GET, and errors that name the field and keep what was typed."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pyotp
import pytest

from tests.app.conftest import PASSWORD, make_fund

LANGS = {"en": "en-US,en;q=0.9", "es": "es-ES,es;q=0.9"}
WORDS = {  # one phrase per page and language, from the catalog
    "/": ("Where the money is", "Dónde está el dinero"),
    "/sign-in": ("Sign in", "Entrar"),
    "/my/requests": ("My requests", "Mis solicitudes"),
    "/my/requests/new": ("Ask for help", "Pedir ayuda"),
    "/treasurer/": ("Dashboard", "Panel"),
    "/treasurer/queue": ("Open requests, the soonest needed first.",
                         "Solicitudes abiertas, primero las más urgentes."),
    "/treasurer/donations": ("Record a donation", "Registrar una donación"),
    "/treasurer/close": ("Close ", "Cerrar "),
    "/admin/people": ("Invite someone", "Invitar a alguien"),
    "/admin/policy": ("The fund's policy", "Las reglas del fondo"),
}


@pytest.fixture
def fund(tmp_path):
    """A SQLite fund (the workflow tests cover PostgreSQL) with sealed-month history."""
    f = make_fund(tmp_path, f"sqlite:///{tmp_path / 'web.db'}")
    yield f
    from app.workflow.check import run_check
    with f.ctx():
        report = run_check()
    assert report.ok, str(report)


class Browser:
    """A test client that signs in and sends forms the way a browser does."""

    def __init__(self, fund, lang: str = "en"):
        self.fund = fund
        self.client = fund.app.test_client()
        self.headers = {"Accept-Language": LANGS[lang]}

    def get(self, path: str, **kw):
        return self.client.get(path, headers=self.headers, **kw)

    def token(self, path: str) -> str:
        html = self.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
            re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post(self, form_page: str, action: str | None = None, data: dict | None = None,
             **kw):
        body = {"csrf_token": self.token(form_page), **(data or {})}
        return self.client.post(action or form_page, data=body, headers=self.headers, **kw)

    def sign_in(self, who: str):
        resp = self.post("/sign-in", data={"email": f"{who}@example.org", "password": PASSWORD})
        assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
        if resp.headers["Location"].endswith("/sign-in/code"):
            resp = self.post("/sign-in/code", data={"code": self.fund.code(who)})
            assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
        elif resp.headers["Location"].endswith("/sign-in/setup"):  # first sign-in
            secret = re.search(r'<code class="link-text">([A-Z2-7]+)</code>',
                               text(self.get("/sign-in/setup"))).group(1)
            resp = self.post("/sign-in/setup", data={"code": pyotp.TOTP(secret).now()})
            assert resp.headers["Location"].endswith("/account/recovery-codes")
        return self


def text(resp) -> str:
    return resp.get_data(as_text=True)


def submit_request(fund, who="member", amount="200.00", lang="en") -> str:
    b = Browser(fund, lang).sign_in(who)
    resp = b.post("/my/requests/new", data={
        "amount": amount, "category": "rent",
        "needed_by": (dt.date.today() + dt.timedelta(days=5)).isoformat(),
        "payout_method": "bank", "story": "My hours were cut this month."})
    assert resp.status_code == 303, text(resp)[:800]
    return resp.headers["Location"].rsplit("/", 1)[-1]


# --- every page, both languages --------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_page_speaks_the_browsers_language(fund, lang):
    anon = Browser(fund, lang)
    for path in ("/", "/sign-in"):
        resp = anon.get(path)
        assert resp.status_code == 200
        assert WORDS[path][lang == "es"] in text(resp)
        assert f'<html lang="{lang}">' in text(resp)
    treasurer = Browser(fund, lang).sign_in("treasurer")
    admin = Browser(fund, lang).sign_in("admin")
    for path, (en, es) in WORDS.items():
        who = admin if path.startswith("/admin") else treasurer
        resp = who.get(path)
        assert resp.status_code == 200, (path, resp.status_code)
        assert (es if lang == "es" else en) in text(resp), path


def test_the_language_switch_overrides_the_browser(fund):
    b = Browser(fund, "en")
    # the switch carries no CSRF token (the public page holds nothing personal, so it can
    # be cached); app.security still refuses it from another site
    resp = b.client.post("/language", data={"lang": "es", "next": "/sign-in"},
                         headers=b.headers)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/sign-in")
    assert "Entrar" in text(b.get("/sign-in"))
    resp = b.client.post("/language", headers={**b.headers, "Sec-Fetch-Site": "cross-site"},
                         data={"lang": "en", "next": "/"})
    assert resp.status_code == 403
    assert "Entrar" in text(b.get("/sign-in"))
    resp = b.client.post("/language", data={"lang": "en", "next": "https://evil.example/"},
                         headers=b.headers)
    assert resp.headers["Location"] == "/"  # never to another origin


def test_public_page_shows_figures_and_offers_the_books(fund):
    resp = Browser(fund).get("/")
    # a stranger sees what is available as a range, as at the end of yesterday, and no
    # exact live money
    assert "5,000–10,000 USD" in text(resp) and "5,000.00" not in text(resp)
    member = Browser(fund)
    member.sign_in("member")
    assert "5,000–10,000 USD" in text(member.get("/")) and "5,000.00" not in text(member.get("/"))
    treasurer = Browser(fund)
    treasurer.sign_in("treasurer")
    assert "5,000.00 USD" in text(treasurer.get("/"))  # treasurers see every figure
    zipped = Browser(fund).get("/books.zip")
    assert zipped.status_code == 200 and zipped.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(zipped.data)).namelist()
    assert "community-books/main.beancount" in names   # the community's books, never the fund's
    assert not any(n.startswith("books/") or ".carebooks" in n for n in names)


# --- signing in ----------------------------------------------------------------------------


def test_sign_in_refuses_a_wrong_password_without_saying_which(fund):
    b = Browser(fund)
    resp = b.post("/sign-in", data={"email": "member@example.org", "password": "wrong" * 3})
    assert resp.status_code == 422
    assert "the email or the password is not right" in text(resp)
    resp = b.post("/sign-in", data={"email": "nobody@example.org", "password": "wrong" * 3})
    assert "the email or the password is not right" in text(resp)


def test_signed_out_visitors_are_sent_to_sign_in_and_back(fund):
    b = Browser(fund)
    resp = b.get("/my/requests/new")
    assert resp.status_code == 303 and "/sign-in?next=/my/requests/new" in resp.headers["Location"]
    resp = b.client.post("/sign-in?next=/my/requests/new", headers=b.headers, data={
        "csrf_token": b.token("/sign-in"), "email": "member@example.org",
        "password": PASSWORD})
    assert resp.headers["Location"] == "/my/requests/new"


def test_sign_out_ends_the_session_on_the_server(fund):
    b = Browser(fund).sign_in("member")
    cookie = b.client.get_cookie("session")
    assert b.get("/my/requests").status_code == 200
    assert b.post("/my/requests", "/sign-out").status_code == 303
    thief = fund.app.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/my/requests").status_code == 303  # the copied cookie is dead


def test_a_member_cannot_open_treasurer_or_admin_pages(fund):
    b = Browser(fund).sign_in("member")
    assert b.get("/treasurer/queue").status_code == 403
    assert b.get("/admin/people").status_code == 403


# --- the member ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "es"])
def test_asking_with_a_mistake_names_the_field_and_keeps_what_was_typed(fund, lang):
    b = Browser(fund, lang).sign_in("member")
    story = "Rent is due on the 1st and my hours were cut."
    resp = b.post("/my/requests/new", data={"amount": "four hundred", "category": "rent",
                                            "needed_by": "2099-01-01", "payout_method": "bank",
                                            "story": story})
    assert resp.status_code == 422
    html = text(resp)
    assert 'aria-invalid="true"' in html and 'id="amount-error"' in html
    assert 'href="#amount"' in html  # the summary links to the field
    assert ("is not an amount like" if lang == "en" else "no es una cantidad como") in html
    assert story in html and 'value="2099-01-01"' in html  # nothing typed is lost
    with fund.ctx():
        from app.workflow import requests
        assert requests.list_requests(fund.people["member"]) == []


def test_a_member_asks_answers_and_withdraws(fund):
    code = submit_request(fund)
    member = Browser(fund).sign_in("member")
    page = text(member.get(f"/my/requests/{code}"))
    assert "waiting for a decision" in page and "You asked for 200.00" in page
    treasurer = Browser(fund).sign_in("treasurer")
    resp = treasurer.post(f"/treasurer/requests/{code}", f"/treasurer/requests/{code}/ask",
                          data={"question": "Is the landlord paid by check?"})
    assert resp.status_code == 303
    page = text(member.get(f"/my/requests/{code}"))
    assert "waiting for an answer" in page and "Is the landlord paid by check?" in page
    resp = member.post(f"/my/requests/{code}", f"/my/requests/{code}/answer",
                       data={"answer": "Bank transfer is fine."})
    assert resp.status_code == 303
    assert "waiting for a decision" in text(member.get(f"/my/requests/{code}"))
    resp = member.post(f"/my/requests/{code}", f"/my/requests/{code}/withdraw")
    assert resp.status_code == 303
    assert "You withdrew this request." in text(member.get(f"/my/requests/{code}"))


def test_a_member_never_sees_another_members_request(fund):
    code = submit_request(fund, who="member")
    other = Browser(fund).sign_in("member2")
    resp = other.get(f"/my/requests/{code}")
    assert resp.status_code == 404 and "My hours were cut" not in text(resp)
    assert code not in text(other.get("/my/requests"))


# --- the treasurer --------------------------------------------------------------------------


def test_request_page_shows_what_approving_would_do(fund):
    code = submit_request(fund, amount="600.00")
    t = Browser(fund).sign_in("treasurer")
    page = text(t.get(f"/treasurer/requests/{code}"))
    assert "0 so far, 2 needed" in page
    assert "0.00 of 1,500.00 used; 900.00 left after this" in page
    assert "the money is promised only at the last approval" in page
    assert t.post(f"/treasurer/requests/{code}", f"/treasurer/requests/{code}/approve",
                  data={"amount": "600.00"}).status_code == 303
    page = text(t.get(f"/treasurer/requests/{code}"))
    assert "disabled" in page and "you already approved this request" in page
    t2 = Browser(fund).sign_in("treasurer2")
    page = text(t2.get(f"/treasurer/requests/{code}"))
    assert "1 so far, 2 needed" in page and "4,400.00 USD" in page  # available after
    assert t2.post(f"/treasurer/requests/{code}", f"/treasurer/requests/{code}/approve",
                   data={"amount": "600.00"}).status_code == 303
    resp = t2.post(f"/treasurer/requests/{code}", f"/treasurer/requests/{code}/pay",
                   data={"amount": "600.00", "account": "Assets:Fund:Bank",
                         "date": dt.date.today().isoformat()})
    assert resp.status_code == 303
    assert "paid" in text(Browser(fund).sign_in("member").get(f"/my/requests/{code}"))


def test_the_approve_button_says_why_it_is_disabled_for_your_own_request(fund):
    code = submit_request(fund, who="treasurer", amount="100.00")
    page = text(Browser(fund).sign_in("treasurer").get(f"/treasurer/requests/{code}"))
    assert re.search(r'<button type="submit" class="primary" disabled aria-describedby="approve-why">', page)
    assert "nobody approves their own request" in page


def test_overpaying_is_refused_next_to_the_amount(fund):
    code = submit_request(fund, amount="100.00")
    t = Browser(fund).sign_in("treasurer")
    t.post(f"/treasurer/requests/{code}", f"/treasurer/requests/{code}/approve", data={})
    resp = t.post(f"/treasurer/requests/{code}", f"/treasurer/requests/{code}/pay",
                  data={"amount": "150.00", "account": "Assets:Fund:Bank",
                        "date": dt.date.today().isoformat()})
    assert resp.status_code == 422
    assert "is more than the 100.00 USD approved and not yet paid" in text(resp)


def test_deny_and_cancel_need_a_reason_the_member_sees(fund):
    code = submit_request(fund, amount="100.00")
    t = Browser(fund).sign_in("treasurer")
    resp = t.post(f"/treasurer/requests/{code}", f"/treasurer/requests/{code}/deny",
                  data={"deny-reason": ""})
    assert resp.status_code == 422 and "required" in text(resp)
    resp = t.post(f"/treasurer/requests/{code}", f"/treasurer/requests/{code}/deny",
                  data={"deny-reason": "We cannot cover deposits."})
    assert resp.status_code == 303
    assert "We cannot cover deposits." in text(Browser(fund).sign_in("member")
                                               .get(f"/my/requests/{code}"))


def test_donations_are_recorded_and_listed_without_unconsented_names(fund):
    t = Browser(fund).sign_in("treasurer")
    resp = t.post("/treasurer/donations", data={
        "amount": "50.00", "fee": "1.75", "account": "Assets:Fund:PayPal",
        "date": dt.date.today().isoformat(), "category": "individual",
        "donor_name": "Rosa Martínez"})  # consent box left unticked
    # issue 19: a name typed without the box ticked is refused, not silently dropped; what
    # was typed stays in the form, and nothing is recorded
    assert resp.status_code == 422, text(resp)[:500]
    assert "agreed to be named" in text(resp) and 'value="Rosa Martínez"' in text(resp)
    assert "50.00" not in text(t.get("/treasurer/donations")).split("Received", 1)[-1]
    resp = t.post("/treasurer/donations", data={
        "amount": "50.00", "fee": "1.75", "account": "Assets:Fund:PayPal",
        "date": dt.date.today().isoformat(), "category": "individual"})
    assert resp.status_code == 303
    page = text(t.get("/treasurer/donations"))
    assert "50.00" in page and "Rosa" not in page and "Anonymous" in page
    resp = t.post("/treasurer/donations", data={"amount": "-3", "account": "Assets:Fund:Bank",
                                                "date": dt.date.today().isoformat(),
                                                "category": "individual"})
    assert resp.status_code == 422 and "must be more than zero" in text(resp)


def test_month_close_shows_differences_then_seals(fund):
    month = f"{fund.start.year:04d}-{fund.start.month:02d}"
    t = Browser(fund).sign_in("treasurer")
    page = text(t.get("/treasurer/close"))
    assert "5,000.00" in page  # the bank in the books at the month's end
    resp = t.post("/treasurer/close", data={"action": "preview",
                                            "bal-Assets:Fund:Bank": "4990.00"})
    assert "-10.00" in text(resp)
    resp = t.post("/treasurer/close", data={"action": "seal", "bal-Assets:Fund:Bank": "4990.00"})
    assert resp.status_code == 422 and "statement mismatch" in text(resp)
    resp = t.post("/treasurer/close", data={"action": "seal", "bal-Assets:Fund:Bank": "5000.00"})
    assert resp.status_code == 200 and "for good" in text(resp)  # a confirmation first
    resp = t.post("/treasurer/close", data={"action": "confirm",
                                            "bal-Assets:Fund:Bank": "5000.00"})
    assert resp.status_code == 303
    with fund.ctx():
        from app.fund import books
        assert books().state.sealed_through == month


# --- the admin --------------------------------------------------------------------------------


def test_an_invitation_link_works_once(fund):
    a = Browser(fund).sign_in("admin")
    resp = a.post("/admin/people", "/admin/invitations",
                  data={"email": "newcomer@example.org", "roles": ["member"]})
    assert resp.status_code == 303
    page = text(a.get("/admin/people"))
    link = re.search(r"http://localhost/invitation/[\w-]+", page).group(0)
    assert link not in text(a.get("/admin/people"))  # shown once
    path = link.replace("http://localhost", "")
    visitor = Browser(fund)
    # the token is traded for the visitor's session at once: the next URL holds no token,
    # and the link (as an access log kept it) works no more (issue 16, item 11)
    resp = visitor.get(path)
    assert resp.status_code == 303 and resp.headers["Location"] == "/invitation"
    assert Browser(fund).get(path).status_code == 404
    resp = visitor.post("/invitation", data={"handle": "newcomer", "password": "short"})
    assert resp.status_code == 422 and "12 to 128 characters" in text(resp)
    resp = visitor.post("/invitation", data={"handle": "newcomer",
                                             "password": "a long passphrase here"})
    assert resp.status_code == 303
    assert visitor.get("/invitation").status_code == 404
    resp = Browser(fund).post("/sign-in", data={"email": "newcomer@example.org",
                                                "password": "a long passphrase here"})
    assert resp.status_code == 303


def test_open_invitations_are_listed_and_revoked(fund):
    """Issue 16 item 11 (failed on 0983efd: open invitations could not be listed or
    revoked, and the token stayed valid in every access log line)."""
    a = Browser(fund).sign_in("admin")
    a.post("/admin/people", "/admin/invitations",
           data={"email": "later@example.org", "roles": ["member"]})
    page = text(a.get("/admin/people"))
    link = re.search(r"http://localhost(/invitation/[\w-]+)", page).group(1)
    page = text(a.get("/admin/people"))
    assert "later@example.org" in page and link not in page  # listed; the link shown once
    revoke = re.search(r'action="(/admin/invitations/\d+/revoke)"', page).group(1)
    assert a.post("/admin/people", revoke).status_code == 303
    assert "later@example.org" not in text(a.get("/admin/people"))
    assert Browser(fund).get(link).status_code == 404


def test_admin_changes_roles_and_policy(fund):
    a = Browser(fund).sign_in("admin")
    pid = fund.people["member2"].id
    resp = a.post("/admin/people", f"/admin/people/{pid}",
                  data={f"p{pid}-roles": ["member", "treasurer"], f"p{pid}-active": "y"})
    assert resp.status_code == 303
    # the treasurer role waits for a second admin or treasurer (issue 16, item 4)
    assert Browser(fund).sign_in("member2").get("/treasurer/queue").status_code == 403
    t = Browser(fund).sign_in("treasurer")
    page = text(t.get("/admin/roles-waiting"))
    grant = re.search(r'action="(/admin/roles-waiting/\d+/confirm)"', page).group(1)
    assert t.post("/admin/roles-waiting", grant).status_code == 303
    assert Browser(fund).sign_in("member2").get("/treasurer/queue").status_code == 200
    resp = a.post("/admin/policy", data={"second_approval_at": "500.00", "request_cap": "800.00",
                                         "member_cap": "1500.00", "member_window_days": "90",
                                         "reserve_floor": "0.00", "k_threshold": "5",
                                         "dominance_share": "60", "rounding_unit": "10",
                                         "purge_after_days": "180"})
    assert resp.status_code == 303
    assert 'value="800.00"' in text(a.get("/admin/policy"))
    resp = a.post("/admin/policy", data={"request_cap": "-1"})
    assert resp.status_code == 422 and "must be more than zero" in text(resp)


# --- the browser's rules ---------------------------------------------------------------------


def test_a_form_without_its_csrf_token_changes_nothing(fund):
    b = Browser(fund).sign_in("member")
    resp = b.client.post("/my/requests/new", data={
        "amount": "100.00", "category": "rent", "needed_by": "2099-01-01",
        "payout_method": "bank", "story": "x"}, headers=b.headers)
    assert resp.status_code in (400, 422)
    with fund.ctx():
        from app.workflow import requests
        assert requests.list_requests(fund.people["member"]) == []


def _state_digest(fund) -> str:
    books = Path(fund.app.config["BOOKS_DIR"])
    h = hashlib.sha256()
    for p in sorted(books.rglob("*.beancount")):
        h.update(p.read_bytes())
    with fund.ctx():
        from sqlalchemy import text as sql
        from app.db import engine
        with engine().connect() as conn:
            for table in ("aid_request", "approval", "payment", "donation", "policy",
                          "person", "invitation", "outbox"):
                h.update(repr(conn.execute(sql(f"SELECT * FROM {table} ORDER BY 1")).all())
                         .encode())
    return h.hexdigest()


def test_no_page_changes_state_on_get(fund):
    code = submit_request(fund)
    admin_and_treasurer = Browser(fund).sign_in("admin")  # signing in is a POST: before
    t = Browser(fund).sign_in("treasurer")
    m = Browser(fund).sign_in("member")
    before = _state_digest(fund)
    for rule in fund.app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/api/") or "static" in rule.rule:
            continue
        path = (rule.rule.replace("<code>", code).replace("<int:person_id>", "1")
                .replace("<token>", "nope"))
        for b in (admin_and_treasurer, t, m, Browser(fund)):
            assert b.get(path).status_code < 500, path
    assert _state_digest(fund) == before


def test_money_and_dates_follow_the_language(fund):
    assert "5.000–10.000 USD" in text(Browser(fund, "es").get("/"))


def test_amounts_stay_decimal_on_the_dashboard(fund):
    with fund.ctx():
        from app.workflow.summary import dashboard
        d = dashboard()
    assert isinstance(d["cash"], Decimal) and d["cash"] == Decimal("5000.00")

