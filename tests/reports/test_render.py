"""Rendering: the HTML snapshot, the PDF's metadata and fonts, page images, and the
Spanish catalog.

Snapshots live in tests/reports/snapshots/; after a deliberate change to the report,
rewrite them with

    CAREBOOKS_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/reports/test_render.py

and read the diff before committing. A missing snapshot fails the test; only that command
writes one. Page images go to test-output/reports/ (gitignored):
look at them after changing the templates or the stylesheet.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from pypdf import PdfReader

from reports.figures import month_figures
from reports.render import TRANSLATIONS, render_html, render_pdf
from tests.reports.conftest import OUTPUT, TODAY, pdf_text

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
REPORTS = Path(__file__).resolve().parents[2] / "reports"
UPDATE = os.environ.get("CAREBOOKS_UPDATE_SNAPSHOTS") == "1"
PAGE_POINTS = {"a4": (595, 842), "letter": (612, 792)}


def placeholders(html: str) -> str:
    """The HTML with hashes, the preparation date and the stylesheet replaced."""
    html = re.sub(r"\b[0-9a-f]{64}\b", "<HASH>", html)
    html = re.sub(r"(Prepared on|Preparado el) [^<]*? (from|a partir)", r"\1 <DATE> \2", html)
    return re.sub(r"(<style>\n@page \{ size: [^;]+; \}\n).*?(</style>)", r"\1<CSS>\n\2", html,
                  flags=re.S)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_html_snapshot(fund, lang):
    fig = month_figures(fund.books, "2026-03", facts=fund.plan.facts,
                        treasurers=2, today=TODAY)
    got = placeholders(render_html(fig, lang=lang))
    path = SNAPSHOTS / f"report-2026-03-{lang}.html"
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(got, encoding="utf-8")
    # a missing snapshot fails: writing it here would bless whatever is rendered today
    assert path.exists(), (
        f"{path.name} is missing; write it with CAREBOOKS_UPDATE_SNAPSHOTS=1 and read it")
    assert got == path.read_text(encoding="utf-8"), (
        f"{path.name} differs; if the change is meant, rerun with CAREBOOKS_UPDATE_SNAPSHOTS=1")


@pytest.fixture(scope="module")
def pdfs(fund) -> dict[tuple[str, str], bytes]:
    """The March (sealed) report in both languages on both papers."""
    fig = month_figures(fund.books, "2026-03", facts=fund.plan.facts,
                        treasurers=2, today=TODAY)
    return {(lang, paper): render_pdf(fig, lang=lang, paper=paper)
            for lang in ("en", "es") for paper in ("a4", "letter")}


@pytest.mark.parametrize("lang, paper", [("en", "a4"), ("en", "letter"), ("es", "a4"),
                                         ("es", "letter")])
def test_pdf_is_tagged_titled_in_its_language_with_embedded_fonts(pdfs, lang, paper):
    reader = PdfReader(io.BytesIO(pdfs[lang, paper]))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == lang
    assert bool(root["/MarkInfo"]["/Marked"]) and "/StructTreeRoot" in root
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    title = {"en": "Mutual Aid Test Fund: transparency report, March 2026",
             "es": "Mutual Aid Test Fund: informe de transparencia, marzo de 2026"}[lang]
    assert reader.metadata.title == title
    assert reader.pdf_header == "%PDF-1.7"
    width, height = PAGE_POINTS[paper]
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (  # float-ok
            width, height)
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in descriptor, "every font is embedded"
            fonts.add(str(font["/BaseFont"]).split("+")[-1])
    assert fonts <= {"Carebooks-Sans", "Carebooks-Sans-Bold", "Carebooks-Mono"}, fonts
    pages = pdf_text(pdfs[lang, paper])
    heading = {"en": "Check these numbers yourself", "es": "Compruebe estas cifras usted mismo"}
    starts = [i for i, p in enumerate(pages) if p.startswith(heading[lang])]
    assert starts and starts[0] >= 2, "the checks start on a page of their own, at the end"
    assert all("bean-check" in p or "bean-query" in p for p in pages[starts[0]:])


@pytest.mark.skipif(not shutil.which("pdftoppm"),
                    reason="pdftoppm is missing: apt-get install -y poppler-utils")
def test_page_images_for_people_to_look_at(pdfs):
    """Writes test-output/reports/<lang>-<paper>-<page>.png (look at them)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for old in OUTPUT.glob("*.png"):
        old.unlink()
    for (lang, paper), pdf in pdfs.items():
        source = OUTPUT / f"{lang}-{paper}.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "70", "-png", str(source), str(OUTPUT / f"{lang}-{paper}")],
                       check=True, timeout=60)
        pages = sorted(OUTPUT.glob(f"{lang}-{paper}-*.png"))
        assert len(pages) == len(PdfReader(io.BytesIO(pdf)).pages)
        assert all(p.stat().st_size > 5000 for p in pages)


def _messages() -> set[str]:
    """Every message id in reports/ (Python `_`/`N_` calls and the templates)."""
    method_map = [("**.py", "python"), ("templates/**.j2", "jinja2")]
    options = {"templates/**.j2": {"trim_blocks": "true", "lstrip_blocks": "true"}}
    return {msg if isinstance(msg, str) else msg[0]
            for _, _, msg, _, _ in extract_from_dir(str(REPORTS), method_map, options)}


def test_every_message_has_a_spanish_translation():
    with (TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    messages = _messages()
    assert len(messages) > 80
    missing = sorted(m for m in messages
                     if m not in catalog or not catalog[m].string or catalog[m].fuzzy)
    assert missing == [], "translate these in reports/translations/es/LC_MESSAGES/messages.po"
    for m in messages:
        wanted = sorted(re.findall(r"%\(\w+\)s", m))
        assert sorted(re.findall(r"%\(\w+\)s", catalog[m].string)) == wanted, m


def test_the_spanish_report_holds_no_english_sentence(fund):
    fig = month_figures(fund.books, "2026-06", facts=fund.plan.facts, today=TODAY)
    html = render_html(fig, lang="es")
    english = [m for m in _messages() if len(m) > 12 and " " in m and "%" not in m]
    leaked = [m for m in english if m.replace("'", "&#39;") in html]
    assert leaked == []
    assert "Informe de transparencia" in html and 'lang="es"' in html
