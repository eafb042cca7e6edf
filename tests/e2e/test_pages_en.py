"""Every page of every role in English, at 375 and 1280 px (tests/e2e/pages.py says what is
checked). One browser for the file; the other language runs in its own file, in parallel."""

from __future__ import annotations

import pytest

from tests.app.conftest import make_fund
from tests.e2e.conftest import AXE, CHROMIUM, _need, serve
from tests.e2e.pages import ROLES, check_role, seed

LANG = "en"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One fund for the file, served on 127.0.0.1, with requests in several states."""
    tmp = tmp_path_factory.mktemp("pages-en")
    fund = make_fund(tmp, f"sqlite:///{tmp / 'pages.db'}")
    fund.seeded = seed(fund)
    yield from serve(fund)


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for every test of the file."""
    _need(CHROMIUM, "chromium")
    _need(AXE, "axe-core")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--disable-quic"])
        yield browser
        browser.close()


@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_passes_axe_and_is_translated(chromium, site, role):
    check_role(chromium, site, site.seeded, role, LANG)
