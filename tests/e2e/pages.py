"""Every page of every role, in a real Chromium, on a phone (375 px) and a desk (1280 px).

The pages come from the access matrix (tests/app/test_access_matrix.py): every GET route
that answers a role with a page (200) is visited as that role, so a new page is covered
without editing this file. On each page, at each width:

- nothing is wider than the screen (`scrollWidth <= innerWidth`): no sideways scrolling;
- no text is squeezed into a sliver, one or two letters a line (a table caption once was,
  on phones, when its table became stacked cards);
- axe-core finds no serious or critical violation;
- on a Spanish page, no English sentence from the catalog is left (a fragment of three or
  more words of a translated message, found in the page's visible text);
- a full-page screenshot is saved in test-output/pages/ (ROLE-LANG-WIDTH-PAGE.png);
- no request goes to another origin.

`test_pages_en.py` and `test_pages_es.py` use this, one browser per file, so pytest-xdist
(`--dist loadfile`) runs the two languages side by side.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from tests.app.conftest import PASSWORD, ask
from tests.app.test_access_matrix import PERSON
from tests.e2e.conftest import AXE, ROOT
from tests.e2e.test_walkthrough import matrix_pages

OUT = ROOT / "test-output" / "pages"
WIDTHS = (375, 1280)
ROLES = ("anon", "member", "treasurer", "admin")
LOCALES = {"en": "en-US", "es": "es-ES"}


@lru_cache(maxsize=1)
def english_fragments() -> tuple[str, ...]:
    """Pieces of English that a Spanish page must not show: every translated message of the
    catalog, cut at its placeholders and markup, keeping pieces of three or more words that
    the Spanish translation does not itself contain (names such as "PayPal" stay)."""
    from babel.messages.pofile import read_po

    po = ROOT / "app" / "translations" / "es" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh)
    out = set()
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        spanish = " ".join(strings)
        for text in ids:
            for piece in re.split(r"%\(\w+\)s|%s|<[^>]+>|[\"“”:;()]", text):
                piece = " ".join(piece.split()).strip(" .,—-")
                if len(piece.split()) >= 3 and piece not in spanish:
                    out.add(piece)
    return tuple(sorted(out))


# Text of eight or more characters in a box under 40 px wide and over 80 px tall: words
# broken a letter or two a line.
SQUEEZED = """() => [...document.querySelectorAll('main *')].filter(e => {
    const r = e.getBoundingClientRect(), t = (e.innerText || '').trim();
    const hidden = [...function* () { for (let a = e; a; a = a.parentElement) yield a; }()]
        .some(a => getComputedStyle(a).clip !== 'auto');  // for screen readers only
    return !hidden && r.width > 0 && r.width < 40 && r.height > 80 && t.length >= 8;
}).slice(0, 3).map(e => e.tagName + ': ' + e.innerText.trim().slice(0, 30))"""


def seed(fund) -> str:
    """Requests in several states, so lists and timelines are not empty; returns the code
    of a submitted request of "member" (the pages with <code>)."""
    asked = ask(fund, amount="120.50", story="The clinic bill came early this month.")
    waiting = ask(fund, amount="80.00", category="food")
    status, _ = fund.api("treasurer", "POST", f"/requests/{waiting}/needs-info",
                         json={"question": "Which shop?"})
    assert status == 200
    paid = ask(fund, who="member2", amount="60.00", category="utilities")
    assert fund.api("treasurer", "POST", f"/requests/{paid}/approve", json={})[0] == 200
    assert fund.api("treasurer", "POST", f"/requests/{paid}/payments",
                    json={"amount": "60.00", "account": "Assets:Fund:Bank"})[0] == 201
    status, _ = fund.api("treasurer", "POST", "/donations",
                         json={"amount": "250.00", "account": "Assets:Fund:Bank"})
    return asked


def sign_in(page, base: str, fund, who: str) -> None:
    """Both steps of signing in, through the pages."""
    page.goto(base + "/sign-in")
    page.fill("#email", f"{who}@example.org")
    page.fill("#password", PASSWORD)
    page.click("main button.primary")
    if page.url.endswith("/sign-in/code"):
        page.fill("#code", fund.code(who))
        page.click("main button.primary")
    assert "/sign-in" not in page.url, f"{who} is not signed in: {page.url}"


def walk(browser, fund, base: str, code: str, role: str, lang: str) -> dict:
    """Visit every page of `role` in `lang` at both widths; returns what was found wrong
    (by kind) and the list of pages visited."""
    OUT.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale=LOCALES[lang], bypass_csp=True,
                                  extra_http_headers={"Accept-Language": LOCALES[lang]},
                                  viewport={"width": WIDTHS[-1], "height": 900})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    problems: dict[str, list[str]] = {"wide": [], "squeezed": [], "axe": [], "english": [],
                                      "status": []}
    if role != "anon":
        sign_in(page, base, fund, PERSON[role])
    visited = []
    english = english_fragments() if lang == "es" else ()
    for rule in matrix_pages(role):
        path = rule.replace("<code>", code)
        slug = rule.strip("/").replace("/", "-").replace("<code>", "code") or "home"
        response = page.goto(base + path)
        if response.status != 200:
            problems["status"].append(f"{role} {lang} {path}: {response.status}")
            continue
        visited.append(urlsplit(page.url).path.replace(code, "<code>"))
        page.add_script_tag(path=str(AXE))
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            where = f"{role} {lang} {width}px {path}"
            scroll, inner = page.evaluate(
                "() => [document.documentElement.scrollWidth, window.innerWidth]")
            if scroll > inner:
                wide = page.evaluate("""(w) => [...document.querySelectorAll('main *')]
                    .filter(e => e.getBoundingClientRect().right > w + 1)
                    .slice(0, 3).map(e => e.tagName + '.' + e.className)""", inner)
                problems["wide"].append(f"{where}: {scroll} > {inner} ({wide})")
            squeezed = page.evaluate(SQUEEZED)
            if squeezed:
                problems["squeezed"].append(f"{where}: {squeezed}")
            result = page.evaluate(
                "async () => await axe.run(document, {resultTypes: ['violations']})")
            for v in result["violations"]:
                if v["impact"] in ("serious", "critical"):
                    targets = [n["target"] for n in v["nodes"]][:3]
                    problems["axe"].append(f"{where}: {v['id']} ({v['impact']}) {targets}")
            page.screenshot(path=str(OUT / f"{role}-{lang}-{width}-{slug}.png"), full_page=True)
        if english:
            text = " ".join(page.inner_text("body").split())
            left = [f for f in english if f in text]
            if left:
                problems["english"].append(f"{role} {path}: {left[:5]}")
    context.close()
    foreign = [u for u in requests if not (u.startswith(base + "/") or u.startswith("data:"))]
    problems["foreign"] = foreign
    return {"problems": problems, "visited": sorted(visited)}


def check_role(browser, site, code: str, role: str, lang: str) -> None:
    """Walk `role`'s pages in `lang` and fail with every problem found."""
    found = walk(browser, site, site.base, code, role, lang)
    report = "\n".join(f"[{kind}] {line}" for kind, lines in found["problems"].items()
                       for line in lines)
    assert not report, report
    assert found["visited"] == matrix_pages(role), "visited pages differ from the matrix"


__all__ = ["ROLES", "check_role", "seed", "Path"]
