"""The two paths people take most, in Chromium with JavaScript turned off, counting clicks
(issue 19): the member's (invitation -> ask -> answer a question -> see it paid) on a
375 px phone, and the treasurer's (queue -> approve -> pay -> close -> publish) at 1280 px.

Every step is a link or a form the browser follows by itself: the phone menu is a
`<details>`, confirmations are pages of their own. The click budgets are what these paths
took when issue 19 was closed; a change that adds a click to either path fails here and
must say why. Only clicks count: typing is not a click, and the two pages a person opens
from outside (the invitation link, the notification's "sign in to see it" address) are
`goto`s, as they would be.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.app.conftest import PASSWORD
from tests.e2e.conftest import OUT, same_origin

MEMBER_CLICKS = 9      # create account, sign in, ask, send, open, answer, menu, mine, open
TREASURER_CLICKS = 9   # sign in (2 steps), open, approve, pay, close, seal, yes, publish


class Walk:
    """A tab with JavaScript off that counts the clicks it makes."""

    def __init__(self, browser, site, name: str, width: int):
        self.context = browser.new_context(java_script_enabled=False, locale="en-US",
                                           viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.base, self.name, self.clicks, self.shots = site.base, name, 0, 0
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))

    def goto(self, path: str):
        self.page.goto(self.base + path)
        return self.page

    def click(self, selector: str):
        self.clicks += 1
        self.page.click(selector)
        assert self.page.url.startswith(self.base), self.page.url
        return self.page

    def shot(self, label: str) -> None:
        self.shots += 1
        self.page.screenshot(path=str(OUT / f"noscript-{self.name}-{self.shots:02d}-{label}.png"),
                             full_page=True)

    def main(self) -> str:
        return self.page.inner_text("main")


@pytest.fixture
def walk(browser, site):
    walks: list[Walk] = []

    def open_walk(name: str, width: int) -> Walk:
        w = Walk(browser, site, name, width)
        walks.append(w)
        return w

    yield open_walk
    same_origin([u for w in walks for u in w.requests], site.base)
    for w in walks:
        w.context.close()


def _sign_in(w: Walk, email: str, code=None) -> None:
    w.page.fill("#email", email)
    w.page.fill("#password", PASSWORD)
    w.click("main button.primary")
    if code is not None and w.page.url.endswith("/sign-in/code"):
        w.page.fill("#code", code())
        w.click("main button.primary")
    assert "/sign-in" not in w.page.url, w.main()


def test_the_member_path_works_without_script_within_its_clicks(site, walk):
    from app.workflow.people import invite

    with site.ctx():
        token = invite(site.people["admin"], "rosa@example.org", ["member"])
    m = walk("member", 375)
    page = m.goto(f"/invitation/{token}")  # the link the admin gave
    page.fill("#handle", "rosa")
    page.fill("#password", PASSWORD)
    m.click("main button.primary")
    assert m.page.url.endswith("/sign-in"), m.page.url
    _sign_in(m, "rosa@example.org")
    assert m.page.url.endswith("/my/requests"), m.page.url
    m.click("main >> text=Ask for help")
    page.fill("#amount", "120")
    page.select_option("#category", "rent")
    page.fill("#needed_by", (dt.date.today() + dt.timedelta(days=10)).isoformat())
    page.fill("#story", "The rent went up and the shift was cut.")
    m.click("main button.primary")
    code = re.search(r"R-\d{4}-\d{4}", m.main()).group(0)
    m.shot("sent")

    status, _data = site.api("treasurer", "POST", f"/requests/{code}/needs-info",
                             json={"question": "Is the landlord's notice dated?"})
    assert status == 200
    m.goto("/my/requests")  # the notification's address: "sign in to see it"
    m.click("main h2 a")
    assert "Waiting for an answer from you" in m.main()
    page.fill("#answer", "Yes, the 1st of next month.")
    m.click("section[aria-labelledby=answer-title] button.primary")
    assert "You answered:" in m.main()

    site.api("treasurer", "POST", f"/requests/{code}/approve", json={})
    status, data = site.api("treasurer", "POST", f"/requests/{code}/payments",
                            json={"amount": "120.00", "account": "Assets:Fund:Bank"})
    assert status == 201, data
    m.goto("/")  # on the community page, as anyone might be
    # the phone menu is a <details>: it opens with no script, and its links work
    m.click("details.nav-phone summary")
    m.click("details.nav-phone >> text=My requests")
    m.click("main h2 a")
    m.shot("paid")
    assert "paid" in m.main().lower()
    assert m.clicks <= MEMBER_CLICKS, f"the member's path takes {m.clicks} clicks"


def test_the_treasurer_path_works_without_script_within_its_clicks(site, walk):
    from tests.app.conftest import ask

    code = ask(site, amount="120.00")
    month = f"{site.start.year:04d}-{site.start.month:02d}"
    t = walk("treasurer", 1280)
    t.goto("/sign-in")
    _sign_in(t, "treasurer@example.org", lambda: site.code("treasurer"))
    t.goto("/treasurer/queue")
    t.click(f"main >> text={code}")
    t.click("section[aria-labelledby=approve-title] button.primary")
    assert "Record a payment" in t.main(), t.main()[:500]
    t.page.fill("#amount", "120.00")
    t.click("section[aria-labelledby=pay-title] button.primary")
    assert "The payment is recorded in the books." in t.main()
    t.shot("paid")

    t.click("nav[aria-label=Main] >> text=Close a month")
    t.page.fill("#bal-1", "5000.00")
    t.click("button[value=seal]")
    assert "Yes, seal" in t.main()
    t.click("button[value=confirm]")
    assert t.page.url.endswith(f"/treasurer/reports?month={month}"), t.page.url
    t.shot("sealed")
    t.click("main button.primary")  # Publish
    t.shot("published")
    assert "published" in t.main().lower()
    with site.ctx():
        from app.workflow.reports import archive

        assert {r["lang"] for r in archive(month)} == {"en", "es"}
    assert t.clicks <= TREASURER_CLICKS, f"the treasurer's path takes {t.clicks} clicks"
