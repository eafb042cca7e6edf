"""Render `MonthFigures` as HTML (Jinja2) and as a tagged PDF (WeasyPrint).

The templates, the stylesheet and the fonts live next to this module, so a report looks
the same on every machine: fonts are embedded from `reports/fonts/` through @font-face,
never taken from the system. Words are translated with gettext catalogs under
`reports/translations/` (read from the .po files and compiled in memory, once), numbers
and months are formatted for the language with Babel.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_compact_decimal, format_currency, format_decimal, \
    format_percent
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ledger import Month
from reports import categories, chart
from reports.figures import OTHER, TOTAL, TREND_MONTHS
from reports.languages import LANGUAGES
from reports.public import period_row
from reports.verify import N_, checks

if TYPE_CHECKING:
    from reports.figures import MonthFigures

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
TRANSLATIONS = HERE / "translations"
PAPERS = {"a4": "A4", "letter": "letter"}    # paper -> CSS page size
PDF_VARIANT = "pdf/ua-1"                     # tagged PDF, title shown, language set
ZERO = Decimal(0)


@lru_cache(maxsize=None)
def translations(lang: str) -> NullTranslations:
    """The gettext catalog of `lang`, compiled from its .po file (English needs none)."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang: {lang!r} is not one of {', '.join(LANGUAGES)}")
    po = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


@lru_cache(maxsize=None)
def _environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(
        ["html", "j2"]), undefined=StrictUndefined, extensions=["jinja2.ext.i18n"],
        trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(lang), newstyle=True)
    return env


# The categories' names (their home is reports/categories.py), and the report's two rows
# that are no category.
NAMES = {**categories.NAMES, OTHER: N_("Categories not shown separately, combined"),
         TOTAL: N_("All aid")}


class Formats:
    """Numbers, money, months and category names written the way the language writes them."""

    def __init__(self, lang: str, currency: str):
        self.locale = Locale.parse(lang)
        self.currency = currency
        self._gettext = translations(lang).gettext
        self._whole = self.locale.currency_formats["standard"].pattern.replace(".00", "")

    def money(self, value: Decimal) -> str:
        """An exact amount with cents: `$1,234.50`, `1234,50 US$`."""
        return format_currency(value, self.currency, locale=self.locale)

    def rounded(self, value: Decimal) -> str:
        """A rounded amount without cents: `$4,560`."""
        return format_currency(value, self.currency, locale=self.locale, format=self._whole,
                               currency_digits=False)

    def count(self, value: int) -> str:
        """A whole number: `1,234`."""
        return format_decimal(value, locale=self.locale)

    def percent(self, value: Decimal) -> str:
        """A share as a percentage: `80%`."""
        return format_percent(value, locale=self.locale)

    def compact(self, value: Decimal) -> str:
        """An axis label: `12K`, `12 mil`."""
        return format_compact_decimal(value, locale=self.locale, fraction_digits=1)

    def month(self, month: str, skeleton: str = "yMMMM", *, capital: bool = False) -> str:
        """`2026-11` as `November 2026`, `noviembre de 2026` (a CLDR skeleton: `yMMM`...).

        `capital` capitalizes the first letter, for a heading or a table cell (Spanish
        writes month names in lower case within a sentence).
        """
        text = format_skeleton(skeleton, Month(month).first_day,
                               locale=self.locale)
        return text[:1].upper() + text[1:] if capital else text

    def period(self, months) -> str:
        """A publication period: `September–November 2026`, `Septiembre–noviembre de
        2026`, `December 2026–February 2027`, or one month, `May 2026`."""
        first, last = months[0], months[-1]
        if first == last:
            return self.month(first, capital=True)
        start = self.month(first, "MMMM" if first[:4] == last[:4] else "yMMMM", capital=True)
        return f"{start}–{self.month(last)}"

    def category(self, key: str) -> str:
        """The name of an aid or donation category (`rent` -> `Rent`, `Alquiler`)."""
        return self._gettext(NAMES[key]) if key in NAMES else key.replace("-", " ").capitalize()

    def by_name(self, cells):
        """Aid cells in the alphabetical order of their names in this language."""
        def key(cell) -> str:
            name = unicodedata.normalize("NFKD", self.category(cell.label).casefold())
            return "".join(c for c in name if not unicodedata.combining(c))
        return sorted(cells, key=key)

    def date(self, value: dt.date) -> str:
        """A full date (only the report's own preparation date is ever shown this fine)."""
        return format_date(value, "long", locale=self.locale)


def _trend_chart(figures: MonthFigures) -> dict | None:
    """The geometry of the two trend panels (cash; donations and aid paid)."""
    if not figures.trend:
        return None
    width, left, right = 640.0, 58.0, 8.0
    inner = width - left - right
    slots = max(TREND_MONTHS, len(figures.trend))
    # a figure the report does not show (None) is drawn as no bar; the table says why.
    # With no month's cash shown, the cash panel is left out (`skip` 1: the template's
    # titles and colours start at the second panel's).
    any_cash = any(p.cash is not None for p in figures.trend)
    top = 22.0
    panels = []
    if any_cash:
        panels.append(chart.panel([[p.cash or ZERO for p in figures.trend]], left=left,
                                  width=inner, top=top, height=120, slots=slots))
        top += 178
    panels.append(chart.panel([[p.donations for p in figures.trend],
                               [p.aid_paid or ZERO for p in figures.trend]], left=left,
                              width=inner, top=top, height=120, slots=slots))
    slot = inner / slots
    labels = [(left + slot * (i + 0.5), p.month) for i, p in enumerate(figures.trend)]
    return {"width": width, "height": top + 160, "left": left, "right": width - right,
            "panels": panels, "labels": labels, "skip": 0 if any_cash else 1}


def render_html(figures: MonthFigures, *, lang: str = "en", paper: str = "a4") -> str:
    """The report as one HTML document (fonts and styles by relative URL, see `render_pdf`)."""
    if paper not in PAPERS:
        raise ValueError(f"paper: {paper!r} is not one of {', '.join(PAPERS)}")
    env = _environment(lang)
    fmt = Formats(lang, figures.currency)
    return env.get_template("report.html.j2").render(
        f=figures, fmt=fmt, lang=lang, page_size=PAPERS[paper], checks=checks(figures),
        period=period_row(figures.period) if figures.period else None,
        trend_chart=_trend_chart(figures))


def render_pdf(figures: MonthFigures, *, lang: str = "en", paper: str = "a4") -> bytes:
    """The report as a tagged PDF (PDF/UA-1) with its fonts embedded."""
    return html_to_pdf(render_html(figures, lang=lang, paper=paper))


def html_to_pdf(html: str) -> bytes:
    """WeasyPrint alone: a finished report HTML to PDF bytes."""
    from weasyprint import HTML  # imported late: about 1 s, only when a PDF is made

    return HTML(string=html, base_url=str(HERE) + "/").write_pdf(pdf_variant=PDF_VARIANT)
