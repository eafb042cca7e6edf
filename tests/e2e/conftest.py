"""A real headless Chromium (Debian's package) against the app served on 127.0.0.1.

Every page the walk visits is scanned with axe-core (0 serious or critical violations)
and its network log is kept: nothing may be fetched from another origin.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from tests.app.conftest import make_fund

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
OUT = ROOT / "test-output" / "e2e"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _need(path: str | Path, what: str) -> None:
    if not Path(path).exists():
        message = f"{what} is missing ({path}); `make test` installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def serve(fund):
    """Serve `fund` on 127.0.0.1 at a free port (its address in `fund.base`) until the
    generator is closed."""
    server = make_server("127.0.0.1", 0, fund.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fund.base = f"http://127.0.0.1:{server.server_port}"
    yield fund
    server.shutdown()


def same_origin(requests: list[str], base: str) -> None:
    """Fail if a page fetched anything from another origin (data: URLs are the page's own)."""
    foreign = [u for u in requests if not (u.startswith(base + "/") or u.startswith("data:"))]
    assert not foreign, "requests to another origin:\n" + "\n".join(foreign)


@pytest.fixture
def site(tmp_path):
    """The app for a fresh fund, served on 127.0.0.1 at a free port."""
    yield from serve(make_fund(tmp_path, f"sqlite:///{tmp_path / 'e2e.db'}"))


class Page:
    """A browser tab that records every request, screenshots and axe-scans each step."""

    def __init__(self, context, base: str, out: Path, name: str, fund=None):
        self.fund = fund
        self.page = context.new_page()
        self.base = base
        self.out = out
        self.name = name
        self.requests: list[str] = []
        self.violations: list[str] = []
        self.scanned: list[str] = []  # the path of every page `check` scanned
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.step = 0

    def goto(self, path: str):
        self.page.goto(self.base + path)
        return self.page

    def check(self, label: str) -> None:
        """Screenshot, then run axe-core on the page as it is now."""
        self.step += 1
        self.scanned.append(urlsplit(self.page.url).path)
        self.page.screenshot(path=str(self.out / f"{self.name}-{self.step:02d}-{label}.png"),
                             full_page=True)
        self.page.add_script_tag(path=str(AXE))
        result = self.page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})")
        for v in result["violations"]:
            if v["impact"] in ("serious", "critical"):
                targets = [n["target"] for n in v["nodes"]][:3]
                self.violations.append(f"{label} {self.page.url}: {v['id']} ({v['impact']}): "
                                       f"{v['help']} {targets}")


@pytest.fixture
def browser():
    """Headless Chromium from Debian, started with this machine's flags."""
    _need(CHROMIUM, "chromium")
    _need(AXE, "axe-core")
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--disable-quic"])
        yield b
        b.close()


@pytest.fixture
def tab(browser, site):
    """Open tabs for a test; returns a function `tab(name, lang, width)`."""
    tabs: list[Page] = []

    def open_tab(name: str, lang: str = "en-US", width: int = 1024) -> Page:
        # bypass_csp only lets the test inject axe-core; the pages themselves run no script
        context = browser.new_context(locale=lang, viewport={"width": width, "height": 900},
                                      bypass_csp=True)
        t = Page(context, site.base, OUT, name, site)
        tabs.append(t)
        return t

    yield open_tab
    same_origin([u for t in tabs for u in t.requests], site.base)
    problems = [v for t in tabs for v in t.violations]
    assert not problems, "accessibility (axe-core, serious or critical):\n" + "\n".join(problems)
