"""Who may do what: one table for every route of the app.

`MATRIX` names, for every route in `app.url_map` and each of its methods, the answer each
of five callers gets: nobody signed in, the member who owns the request, another member,
a treasurer and an admin. A GET is a plain visit; a POST carries a valid CSRF token (pages)
or a bearer token (API) and an empty body. A route that is missing from the table, or an
entry for a route that no longer exists, fails the test: a new route must be added here,
with the answer each caller should get.

Also here: a member never reaches another member's request (page, API, guessed or
mangled codes, and the answer for someone else's code is the answer for no code at all),
and walking every GET route as every caller changes nothing in the database or the books.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest

from tests.app.conftest import PASSWORD, ask, make_fund

ROLES = ("anon", "member", "other", "treasurer", "admin")
PERSON = {"member": "member", "other": "member2", "treasurer": "treasurer", "admin": "admin"}
# An address of its own for these clients, so sign-in throttling keyed on the address
# (shared in memory by every app in this process) neither hits nor is hit by other tests.
ADDRESS = "127.0.0.77"

# (method, rule): (anonymous, member who owns the request, another member, treasurer, admin)
# Path parameters: <code> a request submitted by "member" (a fresh one for each POST),
# <int:person_id> a spare member, <token> an invitation that does not exist, <filename>
# a report that was never published, <month> the fund's first month, <lang> en.
MATRIX: dict[tuple[str, str], tuple[int, int, int, int, int]] = {
    # --- the community: no sign-in needed -----------------------------------------------
    ("GET", "/"): (200, 200, 200, 200, 200),
    ("GET", "/books.zip"): (200, 200, 200, 200, 200),
    ("GET", "/reports"): (200, 200, 200, 200, 200),
    ("GET", "/reports/<filename>"): (404, 404, 404, 404, 404),
    ("GET", "/static/<path:filename>"): (200, 200, 200, 200, 200),
    ("POST", "/language"): (303, 303, 303, 303, 303),
    # --- signing in, the second factor, invitations ---------------------------------------
    ("GET", "/sign-in"): (200, 200, 200, 200, 200),
    ("POST", "/sign-in"): (422, 422, 422, 422, 422),          # empty email and password
    ("GET", "/sign-in/code"): (303, 303, 303, 303, 303),      # no password step pending
    ("POST", "/sign-in/code"): (303, 303, 303, 303, 303),
    ("GET", "/sign-in/setup"): (303, 303, 303, 303, 303),
    ("POST", "/sign-in/setup"): (303, 303, 303, 303, 303),
    ("GET", "/account/recovery-codes"): (303, 303, 303, 303, 303),  # shown once, else home
    ("GET", "/account/confirm"): (303, 200, 200, 200, 200),
    ("POST", "/account/confirm"): (303, 422, 422, 422, 422),
    ("GET", "/account/password"): (303, 200, 200, 200, 200),
    ("POST", "/account/password"): (303, 422, 422, 422, 422),
    ("GET", "/account/notifications"): (303, 200, 200, 200, 200),
    ("POST", "/account/notifications"): (303, 422, 422, 422, 422),
    ("POST", "/sign-out"): (303, 303, 303, 303, 303),
    # one's own API tokens (an admin: everyone's); <int:token_id> is the spare's token
    ("GET", "/account/tokens"): (303, 200, 200, 200, 200),
    ("POST", "/account/tokens/<int:token_id>/revoke"): (303, 404, 404, 404, 303),
    # people without email (issue 20): a printed code claims an account; recovery codes
    # set a new passphrase; nothing here needs a sign-in
    ("GET", "/claim"): (200, 200, 200, 200, 200),
    ("POST", "/claim"): (422, 422, 422, 422, 422),            # no code
    ("GET", "/claim/codes"): (303, 303, 303, 303, 303),       # nothing to show: home
    ("GET", "/recover"): (200, 200, 200, 200, 200),
    ("POST", "/recover"): (422, 422, 422, 422, 422),          # no name, code or passphrase
    ("GET", "/invitation/<token>"): (404, 404, 404, 404, 404),
    ("GET", "/invitation"): (404, 404, 404, 404, 404),          # no invitation opened here
    ("POST", "/invitation"): (404, 404, 404, 404, 404),
    # --- a member's pages: only one's own requests ------------------------------------------
    ("GET", "/my/requests"): (303, 200, 200, 200, 200),
    ("GET", "/my/requests/new"): (303, 200, 200, 200, 200),
    ("POST", "/my/requests/new"): (303, 422, 422, 422, 422),
    # a treasurer may read any request; an admin who is not a treasurer may not
    ("GET", "/my/requests/<code>"): (303, 200, 404, 200, 404),
    ("POST", "/my/requests/<code>/answer"): (303, 422, 404, 422, 404),
    ("POST", "/my/requests/<code>/withdraw"): (303, 303, 404, 403, 404),
    # a receipt exists once the entry's month is sealed (none here: 404 for everyone)
    ("GET", "/my/requests/<code>/receipts/<carebooks_id>.json"): (303, 404, 404, 404, 404),
    # --- treasurers -------------------------------------------------------------------------
    ("GET", "/treasurer/"): (303, 403, 403, 200, 403),
    ("GET", "/treasurer/queue"): (303, 403, 403, 200, 403),
    ("GET", "/treasurer/donations"): (303, 403, 403, 200, 403),
    ("POST", "/treasurer/donations"): (303, 403, 403, 422, 403),
    ("GET", "/treasurer/close"): (303, 403, 403, 200, 403),
    ("GET", "/treasurer/donations/<code>/receipts.json"): (303, 403, 403, 404, 403),  # no such
    ("POST", "/treasurer/close"): (303, 403, 403, 200, 403),  # no action: the preview again
    ("GET", "/treasurer/reports"): (303, 403, 403, 200, 403),
    # a preview of the report of a month not sealed (the fund's first): refused, saying so
    ("GET", "/treasurer/reports/<month>/preview-<lang>.pdf"): (303, 403, 403, 422, 403),
    ("GET", "/treasurer/import"): (303, 403, 403, 200, 403),
    ("POST", "/treasurer/import"): (303, 403, 403, 422, 403),         # no file
    ("POST", "/treasurer/import/confirm"): (303, 403, 403, 303, 403),  # no upload held: back
    ("GET", "/treasurer/reconcile"): (303, 403, 403, 200, 403),
    ("POST", "/treasurer/reconcile"): (303, 403, 403, 422, 403),      # no file
    ("GET", "/admin/audit"): (303, 403, 403, 403, 200),
    # a printed code for <handle>, a person without email ("walkin")
    ("POST", "/treasurer/people/<handle>/claim-code"): (303, 403, 403, 200, 403),
    # --- filing for people without an account (issue 20): intake volunteers (INTAKE below)
    # and treasurers; one sees only the requests one filed (<code> is the member's own)
    ("GET", "/intake/"): (303, 403, 403, 200, 403),
    ("GET", "/intake/new"): (303, 403, 403, 200, 403),
    ("POST", "/intake/new"): (303, 403, 403, 422, 403),       # empty form
    ("GET", "/intake/requests/<code>"): (303, 403, 403, 404, 403),
    # --- custody of the key (issue 21): treasurers and admins ------------------------------
    ("GET", "/custody"): (303, 403, 403, 200, 200),
    ("POST", "/custody/unlock"): (303, 403, 403, 422, 422),   # no shares (no custody)
    ("POST", "/custody/lock"): (303, 403, 403, 303, 303),
    ("POST", "/custody/shred"): (303, 403, 403, 422, 422),    # box not ticked
    ("POST", "/custody/split"): (303, 403, 403, 422, 422),    # no number of shares needed
    ("POST", "/custody/resplit"): (303, 403, 403, 422, 422),  # no shares
    ("POST", "/custody/share"): (303, 403, 403, 303, 303),    # none waiting: back to /custody
    ("POST", "/treasurer/reports"): (303, 403, 403, 303, 403),  # no sealed month: said above
    ("GET", "/treasurer/requests/<code>"): (303, 403, 403, 200, 403),
    ("POST", "/treasurer/requests/<code>/approve"): (303, 403, 403, 303, 403),  # as asked
    ("POST", "/treasurer/requests/<code>/ask"): (303, 403, 403, 422, 403),
    ("POST", "/treasurer/requests/<code>/deny"): (303, 403, 403, 422, 403),
    ("POST", "/treasurer/requests/<code>/cancel"): (303, 403, 403, 422, 403),
    ("POST", "/treasurer/requests/<code>/pay"): (303, 403, 403, 422, 403),
    # the Money page (issue 18): an empty form is refused, naming its fields
    ("GET", "/treasurer/money/"): (303, 403, 403, 200, 403),
    ("POST", "/treasurer/money/transfer"): (303, 403, 403, 422, 403),
    ("POST", "/treasurer/money/cost"): (303, 403, 403, 422, 403),
    ("POST", "/treasurer/money/refund"): (303, 403, 403, 422, 403),
    ("POST", "/treasurer/money/returned"): (303, 403, 403, 422, 403),
    # where the books begin (issue 18): admins and treasurers; the fixture's fund is not
    # sealed, and an empty form is refused (no start day)
    ("GET", "/admin/start/"): (303, 403, 403, 200, 200),
    ("POST", "/admin/start/"): (303, 403, 403, 422, 422),
    ("GET", "/treasurer/pay"): (303, 403, 403, 200, 403),
    ("POST", "/treasurer/pay"): (303, 403, 403, 422, 403),   # nothing ticked
    # --- the fund's books: treasurers, admins and auditors (AUDITOR below) ---------------
    ("GET", "/books/"): (303, 403, 403, 200, 200),
    ("GET", "/books/fund-books.zip"): (303, 403, 403, 200, 200),
    # exports (issue 18): CSV for treasurers, admins and auditors; a donor's statement
    # (a name) for treasurers and admins, here without a name: refused, naming the field
    ("GET", "/exports/"): (303, 403, 403, 200, 200),
    ("GET", "/exports/<any(requests, donations, payments):kind>.csv"):
        (303, 403, 403, 200, 200),
    ("GET", "/exports/donor-statement.pdf"): (303, 403, 403, 422, 422),
    # --- admins -----------------------------------------------------------------------------
    ("GET", "/admin"): (303, 403, 403, 403, 200),            # the admin's dashboard
    ("GET", "/admin/people"): (303, 403, 403, 403, 200),
    # grants of power waiting for a second person: admins and treasurers; <grant_id> none
    ("GET", "/admin/roles-waiting"): (303, 403, 403, 200, 200),
    ("POST", "/admin/roles-waiting/<int:grant_id>/<any(confirm, refuse):decision>"):
        (303, 403, 403, 404, 404),
    ("POST", "/admin/people/<int:person_id>"): (303, 403, 403, 403, 303),
    ("POST", "/admin/invitations"): (303, 403, 403, 403, 422),
    ("POST", "/admin/invitations/<int:invitation_id>/revoke"): (303, 403, 403, 403, 404),
    ("GET", "/admin/policy"): (303, 403, 403, 403, 200),
    ("POST", "/admin/policy"): (303, 403, 403, 403, 422),     # sent empty: each rule required
    # --- the API (bearer tokens; no cookies, no CSRF) ---------------------------------------
    # A treasurer's action needs the money scope, which only a treasurer's token holds: a
    # member's or an admin's token is refused before any request is looked up (403 for
    # every code alike). test_token_scopes below walks every scope and state of a token.
    ("GET", "/api/v1/openapi.json"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/summary"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/requests"): (401, 200, 200, 200, 200),
    ("POST", "/api/v1/requests"): (401, 422, 422, 422, 422),
    ("GET", "/api/v1/requests/<code>"): (401, 200, 404, 200, 404),
    ("POST", "/api/v1/requests/<code>/approve"): (401, 403, 403, 200, 403),
    ("POST", "/api/v1/requests/<code>/deny"): (401, 403, 403, 200, 403),
    ("POST", "/api/v1/requests/<code>/needs-info"): (401, 403, 403, 200, 403),
    ("POST", "/api/v1/requests/<code>/answer"): (401, 200, 404, 403, 404),  # needs_info
    ("POST", "/api/v1/requests/<code>/withdraw"): (401, 200, 404, 403, 404),
    ("POST", "/api/v1/requests/<code>/cancel"): (401, 403, 403, 200, 403),  # approved
    ("POST", "/api/v1/requests/<code>/payments"): (401, 403, 403, 201, 403),  # approved
    ("POST", "/api/v1/payments"): (401, 403, 403, 422, 403),  # an empty body: no account
    ("GET", "/api/v1/donations"): (401, 403, 403, 200, 403),
    ("POST", "/api/v1/donations"): (401, 403, 403, 422, 403),
    ("POST", "/api/v1/donations/<code>/refund"): (401, 403, 403, 200, 403),
    ("POST", "/api/v1/months/<month>/seal"): (401, 403, 403, 422, 403),
    ("POST", "/api/v1/requests/<code>/returned"): (401, 403, 403, 200, 403),  # paid
    ("POST", "/api/v1/transfers"): (401, 403, 403, 422, 403),
    ("POST", "/api/v1/costs"): (401, 403, 403, 422, 403),
    ("GET", "/api/v1/movements"): (401, 403, 403, 200, 403),
}


# The auditor (docs/privacy.md): reads the fund's books, runs `check` and `audit`, and is
# otherwise a member like any other, so every route answers the auditor as it answers
# another member, except these.
AUDITOR: dict[tuple[str, str], int] = {
    ("GET", "/books/"): 200,
    ("GET", "/books/fund-books.zip"): 200,
    ("GET", "/exports/"): 200,
    ("GET", "/exports/<any(requests, donations, payments):kind>.csv"): 200,
    ("GET", "/exports/donor-statement.pdf"): 403,   # a donor's name is personal
}


# The intake volunteer (issue 20): files requests for people without an account and sees
# only those; otherwise a member like any other, so every route answers the volunteer as it
# answers another member, except these.
INTAKE: dict[tuple[str, str], int] = {
    ("GET", "/intake/"): 200,
    ("GET", "/intake/new"): 200,
    ("POST", "/intake/new"): 422,
    ("GET", "/intake/requests/<code>"): 404,   # filed by the member, not by this volunteer
}


# The API checks a body's shape before it looks the request up (so a malformed body tells
# nothing about whether a code exists); these minimal bodies pass that check, so the
# answer shows who may act on the request. Everything else is sent empty.
API_BODY = {"answer": {"answer": "Yes."}, "deny": {"reason": "No funds."},
            "needs-info": {"question": "Which bill?"}, "cancel": {"reason": "Duplicate."},
            "payments": {"amount": "1.00", "account": "Assets:Fund:Bank"}}


# --- the fund and its callers ----------------------------------------------------------------


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(fund, who: str, client=None, **session_kw):
    """A test client holding a server-side session of `who`, as after both sign-in steps.

    The session is started by the workflow and put in the cookie the way Flask-Login does,
    so the matrix does not depend on the sign-in pages (tested on their own), on the second
    factor, or on sign-in throttling. The form POSTs below still need the CSRF token."""
    from app.workflow import sessions

    client = client or fund.app.test_client()
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    with fund.ctx():
        person_id = fund.people[who].id
        if hasattr(sessions, "start_session"):
            token = sessions.start_session(person_id)
        else:  # before the second factor existed
            token, _ = sessions.sign_in(f"{who}@example.org", PASSWORD)
    with client.session_transaction(**session_kw) as session:
        session["_user_id"] = token
        session["_fresh"] = True
    return client


class Caller:
    """One of the five callers: a cookie-holding client for pages, a token for the API."""

    def __init__(self, fund, role: str):
        self.fund, self.role = fund, role
        if role == "anon":
            self.client = fund.app.test_client()
            self.client.environ_base["REMOTE_ADDR"] = ADDRESS
        else:
            self.client = sign_in(fund, PERSON[role])
        self._csrf = None

    @property
    def csrf(self) -> str:
        if self._csrf is None:
            # a stranger's "/" holds no token (it is cached for everyone): take the sign-in
            # form's
            page = "/sign-in" if self.role == "anon" else "/"
            self._csrf = csrf_token(self.client.get(page).get_data(as_text=True))
        return self._csrf

    def api_headers(self) -> dict:
        return {} if self.role == "anon" else self.fund.headers(PERSON[self.role])

    def get(self, path: str):
        return self.client.get(path, headers=self.api_headers() if "/api/" in path else {})

    def post(self, path: str):
        if path.startswith("/api/"):
            action = path.rstrip("/").rsplit("/", 1)[-1]
            return self.client.post(path, headers=self.api_headers(),
                                    json=API_BODY.get(action))
        return self.client.post(path, data={"csrf_token": self.csrf})


def make_matrix_fund(tmp_path: Path):
    fund = make_fund(tmp_path, f"sqlite:///{tmp_path / 'matrix.db'}")
    with fund.ctx():
        from app.workflow.people import add_person
        fund.people["spare"] = add_person("spare@example.org", ["member"], handle="spare",
                                          password=PASSWORD)
        add_person(None, ["member"], handle="walkin")     # no email (issue 20)
        fund.people["intake"] = add_person("intake@example.org", ["intake"],
                                           handle="intake", password=PASSWORD)
        from app.workflow import tokens
        tokens.create(fund.people["spare"], ["read"])
        fund.spare_token_id = tokens.list_tokens(fund.people["spare"])[0]["id"]
    return fund


@pytest.fixture
def fund(tmp_path):
    f = make_matrix_fund(tmp_path)
    yield f
    from app.workflow.check import run_check
    with f.ctx():
        report = run_check()
    assert report.ok, str(report)


def donate(fund) -> str:
    status, data = fund.api("treasurer", "POST", "/donations", json={
        "amount": "20.00", "account": "Assets:Fund:Bank", "date": dt.date.today().isoformat(),
        "category": "individual", "donor_consents_public": False})
    assert status == 201, data
    return data["code"]


# The status a request must be in for the action to be possible at all, so the answer
# shows who may take it (otherwise "cannot pay a request that is waiting" hides the role).
NEEDS = {"answer": "needs_info", "cancel": "approved", "payments": "approved",
         "pay": "approved", "returned": "paid"}


def fresh_request(fund, rule: str) -> str:
    """A request of "member" for 10.00, moved to the status the action in `rule` needs."""
    code = ask(fund, amount="10.00")
    needs = NEEDS.get(rule.rsplit("/", 1)[-1])
    if needs == "needs_info":
        status, data = fund.api("treasurer2", "POST", f"/requests/{code}/needs-info",
                                json={"question": "Which bill?"})
        assert status == 200, data
    elif needs in ("approved", "paid"):
        status, data = fund.api("treasurer2", "POST", f"/requests/{code}/approve", json={})
        assert status == 200 and data["status"] == "approved", data
    if needs == "paid":
        status, data = fund.api("treasurer2", "POST", f"/requests/{code}/payments",
                                json={"amount": "10.00", "account": "Assets:Fund:Bank"})
        assert status == 201 and data["status"] == "paid", data
    return code


def path_for(fund, rule: str, code: str) -> str:
    month = f"{fund.start.year:04d}-{fund.start.month:02d}"
    if rule.startswith("/api/v1/donations/<code>"):
        code = donate(fund)
    return (rule.replace("<code>", code)
            .replace("<int:person_id>", str(fund.people["spare"].id))
            .replace("<int:token_id>", str(fund.spare_token_id))
            .replace("<int:grant_id>/<any(confirm, refuse):decision>", "999999/confirm")
            .replace("<token>", "not-an-invitation")
            .replace("<handle>", "walkin")
            .replace("<int:invitation_id>", "999999")
            .replace("<filename>", "1999-01-v1.pdf")
            .replace("<path:filename>", "carebooks.css")
            .replace("<month>", month).replace("<lang>", "en")
            .replace("<any(requests, donations, payments):kind>", "requests")
            .replace("<carebooks_id>", f"approve:{code}:1"))


def routes(app) -> set[tuple[str, str]]:
    return {(m, r.rule) for r in app.url_map.iter_rules()
            for m in r.methods - {"HEAD", "OPTIONS"}}


def state_digest(fund) -> str:
    """Every table the workflow keeps (not the audit log, sessions or the throttle), and
    every file of the books (not the app's own cache folder)."""
    from sqlalchemy import inspect
    from sqlalchemy import text as sql

    from app.db import engine

    h = hashlib.sha256()
    books = Path(fund.app.config["BOOKS_DIR"])
    for p in sorted(books.rglob("*")):
        if p.is_file() and ".carebooks" not in p.relative_to(books).parts:
            h.update(str(p.relative_to(books)).encode() + b"\0" + p.read_bytes())
    skip = {"audit_event", "web_session", "alembic_version"}
    with fund.ctx():
        with engine().connect() as conn:
            for table in sorted(set(inspect(conn).get_table_names()) - skip):
                rows = conn.execute(sql(f'SELECT * FROM "{table}"')).all()  # noqa: S608
                h.update(table.encode() + repr(sorted(map(repr, rows))).encode())
    return h.hexdigest()


# --- the matrix ----------------------------------------------------------------------------


def test_every_route_is_in_the_matrix(fund):
    present = routes(fund.app)
    missing = sorted(present - set(MATRIX))
    stale = sorted(set(MATRIX) - present)
    assert not missing, ("routes with no expected answers in MATRIX "
                         f"(add them, one status per caller): {missing}")
    assert not stale, f"MATRIX names routes that no longer exist: {stale}"


def test_every_get_answers_as_the_matrix_says_and_changes_nothing(fund):
    code = ask(fund, amount="10.00")
    callers = {r: Caller(fund, r) for r in ROLES}
    for c in callers.values():
        c.csrf  # noqa: B018  (the CSRF token is in the session before the digest)
    before = state_digest(fund)
    wrong = []
    for (method, rule), expected in sorted(MATRIX.items()):
        if method != "GET":
            continue
        path = path_for(fund, rule, code)
        for role, want in zip(ROLES, expected):
            got = callers[role].get(path).status_code
            if got != want:
                wrong.append(f"GET {path} as {role}: {got}, expected {want}")
    assert not wrong, "\n".join(wrong)
    assert state_digest(fund) == before, "a GET changed the database or the books"


def test_every_post_answers_as_the_matrix_says(fund):
    callers = {r: Caller(fund, r) for r in ROLES}
    posts = sorted((rule for (m, rule) in MATRIX if m == "POST"),
                   key=lambda rule: (rule == "/sign-out", rule))  # signing out comes last
    wrong = []
    for rule in posts:
        expected = MATRIX[("POST", rule)]
        for role, want in zip(ROLES, expected):
            # a fresh request for every POST, so one caller's step cannot change the next's
            path = path_for(fund, rule, fresh_request(fund, rule) if "<code>" in rule else "")
            resp = callers[role].post(path)
            if resp.status_code != want:
                wrong.append(f"POST {path} as {role}: {resp.status_code}, expected {want}")
            if resp.status_code == 303 and role == "anon" and rule not in (
                    "/language", "/sign-in/code", "/sign-in/setup"):
                assert "/sign-in" in resp.headers["Location"], (rule, resp.headers)
            assert resp.status_code < 500, (rule, role, resp.get_data(as_text=True)[:500])
    assert not wrong, "\n".join(wrong)


def test_wrong_roles_get_no_content(fund):
    """A 403 or 404 for a signed-in caller says nothing about the request it names."""
    code = ask(fund, amount="10.00", story="The landlord is Mr Ramos on Elm Street.")
    callers = {r: Caller(fund, r) for r in ("other", "admin", "member")}
    for (method, rule), expected in MATRIX.items():
        if method != "GET" or "<code>" not in rule:
            continue
        path = path_for(fund, rule, code)
        for role, caller in callers.items():
            want = expected[ROLES.index(role)]
            if want in (403, 404):
                body = caller.get(path).get_data(as_text=True)
                assert "Mr Ramos" not in body and "10.00" not in body, (path, role)


def test_the_auditor_reads_the_fund_s_books_and_nothing_personal(fund):
    """Every GET as an auditor answers as for another member, but the fund's books; no
    page an auditor can open holds a story, an email or a member's handle."""
    from app.workflow.people import add_person

    with fund.ctx():
        fund.people["auditor"] = add_person("auditor@example.org", ["auditor"],
                                            handle="auditor", password=PASSWORD)
    code = ask(fund, amount="10.00", story="The landlord is Mr Ramos on Elm Street.")
    client = sign_in(fund, "auditor")
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    wrong = []
    for (method, rule), expected in sorted(MATRIX.items()):
        if method != "GET" or "/api/" in rule:
            continue
        path = path_for(fund, rule, code)
        want = AUDITOR.get((method, rule), expected[ROLES.index("other")])
        resp = client.get(path)
        if resp.status_code != want:
            wrong.append(f"GET {path} as auditor: {resp.status_code}, expected {want}")
        body = resp.get_data(as_text=True) if resp.mimetype.startswith("text/") else ""
        for secret in ("Mr Ramos", "member@example.org", "@member", "treasurer@example.org"):
            assert secret not in body, (path, secret)
    assert not wrong, "\n".join(wrong)


def test_the_intake_volunteer_answers_as_the_matrix_says(fund):
    """Every route, GET and POST, as an intake volunteer: as another member, but the
    intake pages; and no page the volunteer can open holds a story or a member's email."""
    code = ask(fund, amount="10.00", story="The landlord is Mr Ramos on Elm Street.")
    client = sign_in(fund, "intake")
    token = csrf_token(client.get("/").get_data(as_text=True))
    wrong = []
    for (method, rule), expected in sorted(MATRIX.items()):
        if "/api/" in rule or rule == "/sign-out":
            continue
        want = INTAKE.get((method, rule), expected[ROLES.index("other")])
        if method == "GET":
            resp = client.get(path_for(fund, rule, code))
        else:
            fresh = fresh_request(fund, rule) if "<code>" in rule else ""
            resp = client.post(path_for(fund, rule, fresh), data={"csrf_token": token})
        if resp.status_code != want:
            wrong.append(f"{method} {rule} as intake: {resp.status_code}, expected {want}")
        body = resp.get_data(as_text=True) if resp.mimetype.startswith("text/") else ""
        for secret in ("Mr Ramos", "member@example.org"):
            assert secret not in body, (rule, secret)
    assert not wrong, "\n".join(wrong)


# --- another member's request, by page, API or guessed code ---------------------------------


def guesses(theirs: str, year: int) -> list[str]:
    """Another member's code, mangled every way a path can carry it, and codes that a
    guesser would try next (neighbours, other kinds, nonsense)."""
    n = int(theirs.rsplit("-", 1)[1])
    return [theirs, theirs.lower(), f" {theirs}", f"{theirs} ", f"{theirs}%20", f"{theirs}%00",
            f"%{ord(theirs[0]):02X}{theirs[1:]}", theirs.replace("-", "%2D"),
            f"{theirs[:-4]}{n:05d}", f"{theirs[:-4]}{n}", f"{theirs}'--", f"{theirs};",
            f"{theirs}/", f"{theirs}/..", f"{theirs}?as=member", f"{theirs}%3F",
            f"R-{year}-{n + 1:04d}", f"R-{year}-{n + 50:04d}", f"R-{year - 1}-{n:04d}",
            f"D-{year}-{n:04d}", "R-%25", "R-*", "0", "-1", "..%2F..%2Fetc%2Fpasswd"]


def _same_answer(a: str, b: str, code_a: str, code_b: str) -> bool:
    """Equal once the code each answer echoes is masked (and the CSRF token)."""
    def norm(text: str, code: str) -> str:
        text = text.replace(code, "CODE")
        return re.sub(r'value="[^"]{30,}"', 'value="TOKEN"', text)
    return norm(a, code_a) == norm(b, code_b)


def test_a_member_never_reaches_another_members_request(fund):
    mine = ask(fund, who="member", amount="10.00", story="Shift cut; rent due Friday.")
    theirs = ask(fund, who="member2", amount="12.00", story="Clinic bill for my son.")
    year = dt.date.today().year
    member = Caller(fund, "member")
    # pages
    page = member.get(f"/my/requests/{theirs}")
    assert page.status_code == 404 and "Clinic bill" not in page.get_data(as_text=True)
    assert theirs not in member.get("/my/requests").get_data(as_text=True)
    for action in ("answer", "withdraw"):
        assert member.post(f"/my/requests/{theirs}/{action}").status_code == 404
    # API
    status, data = fund.api("member", "GET", f"/requests/{theirs}")
    assert status == 404 and "Clinic" not in str(data)
    status, data = fund.api("member", "GET", "/requests")
    assert [r["code"] for r in data["requests"]] == [mine]
    for action in ("answer", "withdraw"):
        status, _ = fund.api("member", "POST", f"/requests/{theirs}/{action}",
                             json={"answer": "x"} if action == "answer" else None)
        assert status == 404
    # guessed and mangled codes: never a 200 or a 5xx, never another member's words, and
    # someone else's real code answers exactly like a code that does not exist
    nobody = f"R-{year}-8888"
    for raw in guesses(theirs, year):
        for path in (f"/my/requests/{raw}", f"/api/v1/requests/{raw}"):
            resp = member.get(path)
            body = resp.get_data(as_text=True)
            assert resp.status_code in (404, 405, 308), (path, resp.status_code)
            assert "Clinic bill" not in body and "12.00" not in body, path
    page_real = member.get(f"/my/requests/{theirs}").get_data(as_text=True)
    page_none = member.get(f"/my/requests/{nobody}").get_data(as_text=True)
    assert _same_answer(page_real, page_none, theirs, nobody)
    api_real = member.get(f"/api/v1/requests/{theirs}").get_data(as_text=True)
    api_none = member.get(f"/api/v1/requests/{nobody}").get_data(as_text=True)
    assert _same_answer(api_real, api_none, theirs, nobody)
    with fund.ctx():
        from app.workflow import requests
        assert requests.get(fund.people["member2"], theirs)["status"] == "submitted"


# --- API tokens: every API route x every kind of token x role (issue 16, item 3) -----------

TOKEN_KINDS = ("none", "read", "request", "money", "revoked", "expired")
PUBLIC_API = {"/api/v1/openapi.json", "/api/v1/summary"}
REQUEST_SCOPE_RULES = {"/api/v1/requests", "/api/v1/requests/<code>/answer",
                       "/api/v1/requests/<code>/withdraw"}


def _scoped_tokens(fund) -> dict:
    """(role, kind) -> token; a money token only for the treasurer (refused for others)."""
    import datetime as dt

    from app.db import session_scope
    from app.models import ApiToken
    from app.workflow import tokens
    from app.workflow.errors import Forbidden

    out = {}
    with fund.ctx():
        for role in ("member", "other", "treasurer", "admin"):
            from app.workflow.people import person_by_email
            who = person_by_email(f"{PERSON[role]}@example.org")  # with its second factor
            for kind in ("read", "request", "money"):
                if kind == "money" and role != "treasurer":
                    with pytest.raises(Forbidden):
                        tokens.create(who, ["money"])
                    continue
                out[(role, kind)] = tokens.create(who, [kind])
            for kind in ("revoked", "expired"):
                out[(role, kind)] = tokens.create(who)  # every scope it may hold
            newest = tokens.list_tokens(who)
            tokens.revoke(who, newest[1]["id"])      # the "revoked" one
            with session_scope() as s:
                s.get(ApiToken, newest[0]["id"]).expires_at = \
                    dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    return out


def _expected(rule: str, method: str, role: str, kind: str) -> int:
    matrix = MATRIX[(method, rule)][ROLES.index(role)]
    if rule in PUBLIC_API:
        return matrix
    if kind == "none":
        return MATRIX[(method, rule)][0]
    if kind in ("revoked", "expired"):
        return 401
    needed = "read" if method == "GET" else ("request" if rule in REQUEST_SCOPE_RULES
                                             else "money")
    return matrix if kind == needed else 403


def test_token_scopes(fund):
    """Every API route, as each role, with no token, a token of each scope, a revoked and
    an expired one: a scope the call does not need is a 403 before anything is looked up;
    a revoked or expired token is a 401; the right scope gets the matrix's answer."""
    scoped = _scoped_tokens(fund)
    wrong = []
    api = sorted((m, r) for (m, r) in MATRIX if r.startswith("/api/"))
    for method, rule in api:
        for role in ("member", "other", "treasurer", "admin"):
            for kind in TOKEN_KINDS:
                if (role, kind) not in scoped and kind != "none":
                    continue
                code = fresh_request(fund, rule) if "<code>" in rule else ""
                path = path_for(fund, rule, code)
                headers = {} if kind == "none" else {
                    "Authorization": f"Bearer {scoped[(role, kind)]}"}
                action = path.rstrip("/").rsplit("/", 1)[-1]
                client = fund.app.test_client()
                resp = (client.get(path, headers=headers) if method == "GET" else
                        client.post(path, headers=headers, json=API_BODY.get(action)))
                want = _expected(rule, method, role, kind)
                if resp.status_code != want:
                    wrong.append(f"{method} {rule} as {role} with {kind}: "
                                 f"{resp.status_code}, expected {want}")
    assert not wrong, "\n".join(wrong)
    # every use of the money scope is in the audit log
    from app.db import session_scope
    from app.models import AuditEvent
    from sqlmodel import select
    from app.models import ApiToken
    with fund.ctx(), session_scope() as s:
        events = list(s.exec(select(AuditEvent)))
        money_ids = {t.id for t in s.exec(select(ApiToken)) if "money" in t.scopes.split(",")}
    actions = [e.action for e in events]
    assert "token.created" in actions and "token.revoked" in actions
    # a step done with a money token names the token in its own event; a refused one is
    # recorded on its own
    named = {json.loads(e.detail).get("token") for e in events
             if not e.action.startswith("token.")}
    assert money_ids & named, "no step event names the money token it was done with"
    refused = [e for e in events if e.action == "token.money_refused"]
    assert refused and all(json.loads(e.detail)["token"] in money_ids for e in refused)
