"""Template filters: money, dates and words in the reader's language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from flask import Flask
from flask_babel import format_date, format_decimal

from app.web.forms import category_label, payout_label
from app.web.words import account_name
from app.workflow.states import status_words
from ledger import Month


def money(value, currency: str | None = None) -> str:
    """`1,234.50 USD` (or `1.234,50 USD` in Spanish): always two decimals, the code after."""
    if value is None:
        return "—"
    try:
        number = format_decimal(Decimal(str(value)), format="#,##0.00")
    except (InvalidOperation, ValueError):  # not a finite amount: show it as it is
        number = str(value)
    return f"{number} {currency}" if currency else number


def band(value, currency: str) -> str:
    """A live band (reports.public.Band): `1,000–2,000 USD`, `50,000 USD or more`."""
    from flask_babel import gettext as _

    def whole(amount) -> str:
        return format_decimal(Decimal(amount), format="#,##0")

    if value.low is None:
        return _("below %(amount)s", amount=f"{whole(value.high)} {currency}")
    if value.high is None:
        return _("%(amount)s or more", amount=f"{whole(value.low)} {currency}")
    return f"{whole(value.low)}–{whole(value.high)} {currency}"


def day(value) -> str:
    """A date in the reader's language (medium: `Nov 29, 2026` / `29 nov 2026`)."""
    if not value:
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return format_date(value, format="medium")


def month_name(value: str) -> str:
    """`2026-11` -> `November 2026` / `noviembre de 2026`: as the language writes it in
    the middle of a sentence (Spanish months are lower-case; a heading that starts with
    one uses `month_title`)."""
    from babel.dates import format_skeleton
    from flask_babel import get_locale

    return format_skeleton("yMMMM", Month(value).first_day,
                           locale=get_locale() or "en")


def month_title(value: str) -> str:
    """A month at the start of a heading or a table row: `Noviembre de 2026`."""
    text = month_name(value)
    return text[:1].upper() + text[1:]


def month_short(value: str) -> str:
    """`2026-11` -> `Nov` / `nov`: a chart's axis."""
    return format_date(Month(value).first_day, format="LLL").rstrip(".")


def status_for(status: str, viewer: str = "member") -> str:
    """Where a request stands, saying whom it waits on: the member reads "from you", a
    treasurer "from the member"."""
    from flask_babel import gettext as _

    if status == "needs_info":
        return (_("waiting for an answer from you") if viewer == "member"
                else _("waiting for an answer from the member"))
    if status == "submitted":
        return _("waiting for a decision from the treasurers")
    return status_words(status)


def period_name(months) -> str:
    """A publication period's months -> `September–November 2026`, `December 2026–February
    2027`, or one month's name, in the reader's language."""
    first, last = months[0], months[-1]
    if first == last:
        return month_name(first)
    start = (format_date(Month(first).first_day, format="LLLL")
             if first[:4] == last[:4] else month_name(first))
    return f"{start}–{month_name(last)}"


def init_app(app: Flask) -> None:
    """Register the filters (the chart, drawn on the server, registers itself: it uses
    `month_short` from here, and arrows point one way)."""
    app.jinja_env.filters.update(
        money=money, band=band, day=day, month_name=month_name, month_title=month_title,
        month_short=month_short, account=account_name, status_words=status_for,
        period_name=period_name,
        category=category_label, payout=payout_label)
