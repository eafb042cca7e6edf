"""Month end in a real browser, at 1280 and 375 px: the dashboard names the month waiting,
the close page refuses a blank balance naming the account, shows a difference readably,
asks for a confirmation, seals, and goes on to the report's preview in both languages and
the publish step, which then says what is published. Every page is axe-scanned, and at
375 px none may scroll sideways."""

from __future__ import annotations

import pytest

from tests.e2e.test_walkthrough import sign_in

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def fits(t, width: int, label: str) -> None:
    """Screenshot and axe-scan the page; at a phone's width nothing may stick out."""
    t.check(label)
    if width <= 400:
        extra = t.page.evaluate(OVERFLOW)
        assert extra <= 0, f"{label}: the page is {extra} px wider than a {width} px screen"


@pytest.mark.parametrize("width", [1280, 375])
def test_close_preview_publish(site, tab, width):
    month = f"{site.start.year:04d}-{site.start.month:02d}"
    t = tab(f"month-end-{width}", width=width)
    page = sign_in(t, "treasurer")

    page = t.goto("/treasurer/")
    fits(t, width, "dashboard")
    assert "is waiting to be closed" in page.inner_text("main")
    assert "Statement balance missing for Bank" in page.inner_text("main")
    page.click("main a[href=\"/treasurer/close\"] >> nth=0")  # the dashboard's way in

    fits(t, width, "close")
    page.click("button[value=seal]")  # the bank's balance left blank
    fits(t, width, "close-blank")
    summary = page.inner_text("#error-summary")
    assert "Statement balance for Bank: required" in summary
    assert page.get_attribute("#bal-1", "aria-invalid") == "true"

    page.fill("#bal-1", "4990.00")
    page.click("button[value=preview]")
    fits(t, width, "close-difference")
    card = page.inner_text("section[aria-labelledby=acct-1]")
    assert "-10.00 USD" in card  # the whole difference, never cut
    box = page.locator("section[aria-labelledby=acct-1] strong.bad").bounding_box()
    assert box and box["x"] + box["width"] <= width

    page.fill("#bal-1", "5000.00")
    page.click("button[value=seal]")
    fits(t, width, "seal-confirm")
    assert "Yes, seal" in page.inner_text("main")
    page.click("button[value=confirm]")

    assert page.url.endswith(f"/treasurer/reports?month={month}"), page.url
    fits(t, width, "report-preview")
    text = page.inner_text("main")
    assert "is sealed" in page.inner_text("body") and "is not published yet" in text
    for lang in ("en", "es"):
        link = page.locator(f"a[hreflang={lang}]").get_attribute("href")
        resp = page.request.get(t.base + link)
        assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
        assert resp.body().startswith(b"%PDF")
    assert page.input_value("#paper") == "letter"  # a fund in US dollars

    page.click("main button.primary")  # publish
    fits(t, width, "published")
    text = page.inner_text("main")
    assert "Version 1, English, US Letter, published" in text and "Version 1, Español, US Letter" in text
