"""The fund's main path in a real browser: a member asks, a treasurer approves, a second
treasurer approves (the amount is above the second-approval threshold), a payment is
recorded, and the community page shows the new figures. Screenshots of every step are
saved under test-output/e2e/."""

from __future__ import annotations

import datetime as dt
import re

from tests.app.conftest import PASSWORD
from tests.app.test_access_matrix import MATRIX, ROLES

# GET routes that are not pages a person reads: JSON, the stylesheet, the books' zip file
NOT_PAGES = ("/api/", "/static/", "/books.zip")


def sign_in(t, who: str):
    """Sign `who` in through the pages (both steps for treasurers and admins); fails unless
    the header then names them."""
    page = t.goto("/sign-in")
    t.check("sign-in")
    page.fill("#email", f"{who}@example.org")
    page.fill("#password", PASSWORD)
    page.click("main button.primary")
    if page.url.endswith("/sign-in/code"):  # treasurers and admins: the second step
        t.check("sign-in-code")
        page.fill("#code", t.fund.code(who))
        page.click("main button.primary")
    assert "/sign-in" not in page.url, f"{who} is not signed in: {page.url}"
    assert f"Sign out (@{who})" in page.text_content("header"), f"{who} is not signed in"
    return page


def matrix_pages(role: str) -> list[str]:
    """The GET routes that answer `role` with a page (200), from the access matrix."""
    column = ROLES.index(role)
    return sorted(rule for (method, rule), answers in MATRIX.items()
                  if method == "GET" and answers[column] == 200
                  and not rule.startswith(NOT_PAGES)
                  and not rule.endswith((".zip", ".json", ".csv", ".pdf")))  # downloads


def test_member_asks_two_treasurers_approve_payment_shows_publicly(site, tab):
    # The community page before anything happens.
    visitor = tab("visitor")
    page = visitor.goto("/")
    visitor.check("community-before")
    # what is available, as a daily range (docs/privacy.md): never the exact live amount
    assert "5,000–10,000 USD" in page.inner_text("main")
    assert "5,000.00" not in page.inner_text("main")

    # A member asks for 650.00 on a small phone.
    member = tab("member", width=360)
    page = sign_in(member, "member")
    member.check("member-home")
    page.click("text=Ask for help")
    page.fill("#amount", "650")  # a mistake first: no story
    page.select_option("#category", "rent")
    page.fill("#needed_by", (dt.date.today() + dt.timedelta(days=10)).isoformat())
    page.click("main button.primary")
    member.check("member-ask-error")
    assert "story" in page.inner_text("#error-summary").lower() or \
        "required" in page.inner_text("#error-summary")
    assert page.input_value("#amount") == "650"  # what was typed is kept
    page.fill("#story", "Rent is due and my hours were cut.")
    page.click("main button.primary")
    member.check("member-request-sent")
    code = re.search(r"R-\d{4}-\d{4}", page.inner_text("main")).group(0)
    assert "waiting for a decision" in page.inner_text("main")

    # The first treasurer sees what approving would do, and approves.
    t1 = tab("treasurer1")
    page = sign_in(t1, "treasurer")
    t1.check("queue")
    page.click(f"text={code}")
    t1.check("request-before")
    assert "0 so far, 2 needed" in page.inner_text("main")
    page.click("section[aria-labelledby=approve-title] button.primary")
    t1.check("request-one-approval")
    assert "1 so far, 2 needed" in page.inner_text("main")
    assert page.is_disabled("section[aria-labelledby=approve-title] button.primary")

    # A second treasurer approves; the money is now promised.
    t2 = tab("treasurer2")
    page = sign_in(t2, "treasurer2")
    t2.goto(f"/treasurer/requests/{code}")
    page.click("section[aria-labelledby=approve-title] button.primary")
    t2.check("request-approved")
    assert "Record a payment" in page.inner_text("main")

    # The payment is recorded.
    page.fill("#amount", "650.00")
    page.click("section[aria-labelledby=pay-title] button.primary")
    t2.check("request-paid")
    assert "The payment is recorded in the books." in page.inner_text("main")

    # The member sees it paid, in plain words.
    page = member.goto(f"/my/requests/{code}")
    member.check("member-paid")
    assert "paid" in page.inner_text("main").lower()

    # The community page shows the new figures (and nothing about who).
    page = visitor.goto("/")
    visitor.check("community-after")
    text = page.inner_text("main")
    # the same day: the same range; no approval or payment of today shows until tomorrow
    assert "5,000–10,000 USD" in text and "4,350.00" not in text and "650" not in text
    html = page.content()
    for private in ("Rent is due", code, "@member", "member@example.org"):
        assert private not in html, f"the community page shows {private!r}"

    # The same page in Spanish, at 320 px.
    spanish = tab("visitante", lang="es-ES", width=320)
    page = spanish.goto("/")
    spanish.check("comunidad")
    assert "Dónde está el dinero" in page.inner_text("main")
    assert "5.000–10.000 USD" in page.inner_text("main")


def test_the_matrix_gives_each_role_its_pages():
    """The list the page walks (tests/e2e/pages.py) visit: every page of a role comes from
    the access matrix, so a new page is walked without editing a test. (A walk of its own
    here, axe-scanning each role's pages at one width, was a subset of those walks.)"""
    pages = {role: matrix_pages(role) for role in ("anon", "member", "treasurer", "admin")}
    assert len(pages["treasurer"]) > len(pages["member"]) > len(pages["anon"]) >= 3
    assert "/admin/people" in pages["admin"] and "/treasurer/queue" in pages["treasurer"]
    assert "/treasurer/queue" not in pages["member"] and "/my/requests" not in pages["anon"]
