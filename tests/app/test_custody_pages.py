"""The custody pages (issue 21): a treasurer unlocks with K shares and reads the story; a
member cannot reach the page; with the fund locked every page still renders and shows
the locked sentence where a story would be; shred needs K shares and the box ticked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import custody
from app.custody import memory
from app.custody.shares import ShareError
from tests.app.test_custody import fill, request_view, split, stored
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


HOLDERS = ("admin", "treasurer", "treasurer2")     # every active treasurer and admin


def _see_share(fund, who: str) -> str:
    browser = Browser(fund).sign_in(who)
    resp = browser.post("/custody", "/custody/share")
    assert resp.status_code == 200, text(resp)[:500]
    page = text(resp)
    assert "<svg" in page and "Your share" in page
    words = re.search(r'id="share-words"><code>([0-9a-f ]+)</code>', page).group(1)
    again = browser.post("/custody", "/custody/share")      # shown once: never again
    assert again.status_code == 303 and words not in text(browser.get("/custody"))
    return words


def _instance_bytes(fund) -> bytes:
    folder = Path(fund.app.instance_path)
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_a_split_on_the_page_shows_each_holder_their_share_once(fund):
    words = fill(fund)
    treasurer = Browser(fund).sign_in("treasurer")
    resp = treasurer.post("/custody", "/custody/split", {"n-needed": "1"})
    assert resp.status_code == 422 and "needed" in text(resp)
    resp = treasurer.post("/custody", "/custody/split", {"n-needed": "2"})
    assert resp.status_code == 303, text(resp)[:500]
    page = text(treasurer.get("/custody"))
    assert "Still to see their share: admin, treasurer, treasurer2" in page
    assert text(Browser(fund).sign_in("member").get("/custody")) != page
    shown = {}
    for who in HOLDERS:
        with fund.ctx():
            assert custody.current().state == "new"       # not in force until all saw
        shown[who] = _see_share(fund, who)
    with fund.ctx():
        assert custody.current().state == "active"
    assert all(v.startswith("cb2:") for vs in stored(fund).values() for v in vs)
    seen = _instance_bytes(fund)
    for share in shown.values():                          # never stored
        assert share.replace(" ", "").encode() not in seen and share.encode() not in seen
    resp = treasurer.post("/custody", "/custody/unlock",
                          {"u-shares": f"{shown['admin']}\n{shown['treasurer2']}"})
    assert resp.status_code == 303
    assert words["story"] in text(treasurer.get(f"/treasurer/requests/{words['code']}"))


def test_a_resplit_on_the_page_needs_k_shares_and_retires_the_old_ones(fund):
    words = fill(fund)
    old = split(fund)
    treasurer = Browser(fund).sign_in("treasurer")
    resp = treasurer.post("/custody", "/custody/resplit", {"r-shares": old[0], "r-needed": "2"})
    assert resp.status_code == 422 and "2 shares are needed" in text(resp)
    resp = treasurer.post("/custody", "/custody/resplit",
                          {"r-shares": "\n".join(old[:2]), "r-needed": "2"})
    assert resp.status_code == 303
    new = [_see_share(fund, who) for who in HOLDERS]
    with fund.ctx():
        with pytest.raises(ShareError, match="older split"):
            custody.unlock(old[:2])
        custody.unlock(new[1:])
    assert request_view(fund, "treasurer", words["code"])["story"] == words["story"]
