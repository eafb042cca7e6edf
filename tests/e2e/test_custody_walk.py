"""The member and treasurer paths in Chromium with the fund under custody (issue 21):
locked, a member asks and a treasurer decides and pays by amount while every story reads
"locked"; then two shares on the Custody page unlock it and the story shows, to the
treasurer (a member's page shows their request, never repeats the story); "Lock now" locks it again. axe-core scans every step."""

from __future__ import annotations

import datetime as dt
import re

from app.custody import memory
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
