"""The member and treasurer paths in Chromium with the fund under custody (issue 21):
locked, a member asks and a treasurer decides and pays by amount while every story reads
"locked"; then two shares on the Custody page unlock it and the story shows, to the
treasurer (a member's page shows their request, never repeats the story); "Lock now" locks it again. axe-core scans every step."""

from __future__ import annotations

import datetime as dt
import re

from app.custody import memory
from tests.app.conftest import PASSWORD
from tests.app.test_custody import SHARE
from tests.e2e.test_walkthrough import sign_in

STORY = "The landlord raised the rent and my hours were cut."
LOCKED = "locked: 2 treasurers must unlock"


def test_locked_then_unlocked_in_the_browser(site, tab):
    memory.wipe()
    from app.cli import main

    result = site.app.test_cli_runner().invoke(main, ["custody", "split", "--shares", "3",
                                                      "--needed", "2"])
    assert result.exit_code == 0, result.output
    shares = [s for _n, s in SHARE.findall(result.output)]

    member = tab("custody-member", width=360)
    page = sign_in(member, "member")
    page.click("text=Ask for help")
    page.fill("#amount", "200")
    page.select_option("#category", "rent")
    page.fill("#needed_by", (dt.date.today() + dt.timedelta(days=10)).isoformat())
    page.fill("#story", STORY)
    page.click("main button.primary")
    member.check("locked-member-sent")
    code = re.search(r"R-\d{4}-\d{4}", page.inner_text("main")).group(0)
    page = member.goto(f"/my/requests/{code}")
    member.check("locked-member-request")
    assert STORY not in page.content()   # (a member's page never repeats the story)

    t1 = tab("custody-treasurer")
    page = sign_in(t1, "treasurer")
    page = t1.goto(f"/treasurer/requests/{code}")
    t1.check("locked-request")
    assert LOCKED in page.inner_text("main") and STORY not in page.content()
    page.click("section[aria-labelledby=approve-title] button.primary")
    t1.check("locked-approved")
    page.fill("#amount", "200.00")
    page.click("section[aria-labelledby=pay-title] button.primary")
    t1.check("locked-paid")
    assert "The payment is recorded in the books." in page.inner_text("main")

    page = t1.goto("/custody")
    t1.check("custody-locked")
    assert "Locked: 2 treasurers must unlock." in page.inner_text("main")
    page.fill("#u-shares", shares[0])
    page.click("form[action$='/custody/unlock'] button")
    t1.check("custody-one-share")
    assert "2 shares are needed" in page.inner_text("main")
    page.fill("#u-shares", "\n".join(shares[1:]))
    page.click("form[action$='/custody/unlock'] button")
    t1.check("custody-unlocked")
    assert "Unlocked" in page.inner_text("main")

    page = t1.goto(f"/treasurer/requests/{code}")
    t1.check("unlocked-request")
    assert STORY in page.inner_text("main")
    page = member.goto(f"/my/requests/{code}")
    member.check("unlocked-member-request")
    assert "Paid: 200.00." in page.inner_text("main")

    page = t1.goto("/custody")
    page.click("form[action$='/custody/lock'] button")
    t1.check("custody-locked-again")
    page = t1.goto(f"/treasurer/requests/{code}")
    assert STORY not in page.content()
    memory.wipe()


def test_a_split_on_the_page_shows_each_share_once_in_the_browser(site, tab):
    """A treasurer splits the key on the Custody page (on a phone); each treasurer and
    admin sees their share once, as words and a QR code drawn on the server (one of them
    in Spanish, on a wide screen); then two of the shares unlock the fund."""
    memory.wipe()
    shown = {}
    t1 = tab("custody-split", width=375)
    page = sign_in(t1, "treasurer")
    page = t1.goto("/custody")
    t1.check("not-under-custody")
    page.fill("#n-needed", "2")
    page.click("form[action$='/custody/split'] button")
    t1.check("split-waiting")
    assert "Still to see their share: admin, treasurer, treasurer2" in page.inner_text("main")
    for name, who, lang, width in [("share-treasurer", "treasurer", "en-US", 375),
                                   ("share-admin-es", "admin", "es-ES", 1280),
                                   ("share-treasurer2", "treasurer2", "en-US", 1280)]:
        t = t1 if who == "treasurer" else tab(name, lang=lang, width=width)
        if who != "treasurer":          # both sign-in steps (the helper reads English)
            page = t.goto("/sign-in")
            page.fill("#email", f"{who}@example.org")
            page.fill("#password", PASSWORD)
            page.click("main button.primary")
            page.fill("#code", t.fund.code(who))
            page.click("main button.primary")
            assert "/sign-in" not in page.url
        page = t.goto("/custody")
        page.click("form[action$='/custody/share'] button")
        t.check(name)
        assert page.locator("main svg").count() == 1
        shown[who] = page.inner_text("#share-words").strip()
        page = t.goto("/custody")
        assert shown[who] not in page.content()
    page = t1.goto("/custody")
    assert "Locked: 2 treasurers must unlock." in page.inner_text("main")
    page.fill("#u-shares", f"{shown['admin']}\n{shown['treasurer2']}")
    page.click("form[action$='/custody/unlock'] button")
    t1.check("split-unlocked")
    assert "Unlocked" in page.inner_text("main")
    memory.wipe()
