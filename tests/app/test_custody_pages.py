"""The custody pages (issue 21): a treasurer unlocks with K shares and reads the story; a
member cannot reach the page; with the fund locked every page still renders and shows
the locked sentence where a story would be; shred needs K shares and the box ticked."""

from __future__ import annotations

import pytest

from app.custody import memory
from tests.app.test_custody import fill, split
from tests.app.test_web import Browser, text


@pytest.fixture(autouse=True)
def locked_process():
    memory.wipe()
    yield
    memory.wipe()


def test_unlock_page_opens_the_stories_for_treasurers(fund):
    words = fill(fund)
    shares = split(fund)
    treasurer = Browser(fund).sign_in("treasurer")
    page = text(treasurer.get(f"/treasurer/requests/{words['code']}"))
    assert "locked: 2 treasurers must unlock" in page and words["story"] not in page
    member_page = text(Browser(fund).sign_in("member").get(f"/my/requests/{words['code']}"))
    assert "locked: 2 treasurers must unlock" in member_page
    resp = treasurer.post("/custody", "/custody/unlock", {"u-shares": shares[0]})
    assert resp.status_code == 422 and "2 shares are needed" in text(resp)
    resp = treasurer.post("/custody", "/custody/unlock", {"u-shares": "\n".join(shares[1:])})
    assert resp.status_code == 303, text(resp)[:500]
    assert words["story"] in text(treasurer.get(f"/treasurer/requests/{words['code']}"))
    assert treasurer.post("/custody", "/custody/lock").status_code == 303
    assert words["story"] not in text(treasurer.get(f"/treasurer/requests/{words['code']}"))


def test_members_cannot_reach_custody(fund):
    split(fund)
    assert Browser(fund).sign_in("member").get("/custody").status_code == 403


def test_shred_page_needs_k_shares_and_the_box(fund):
    words = fill(fund)
    shares = split(fund)
    admin = Browser(fund).sign_in("admin")
    resp = admin.post("/custody", "/custody/shred", {"s-shares": shares[0], "s-confirm": "y"})
    assert resp.status_code == 422
    resp = admin.post("/custody", "/custody/shred", {"s-shares": "\n".join(shares[:2])})
    assert resp.status_code == 422 and "Tick the box" in text(resp)
    resp = admin.post("/custody", "/custody/shred",
                      {"s-shares": "\n".join(shares[:2]), "s-confirm": "y"})
    assert resp.status_code == 303
    page = text(Browser(fund).sign_in("treasurer").get(f"/treasurer/requests/{words['code']}"))
    assert "removed: the fund&#39;s key was destroyed" in page or \
        "removed: the fund's key was destroyed" in page
