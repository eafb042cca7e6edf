"""What the transparency page and `GET /api/v1/summary` show, for whom, and how it is kept.

The figures come from one engine, `reports.public` (over `reports.figures`, the same
figures the monthly PDF prints). This module only chooses the view and keeps answers:

- the **public view** (no login, and members: docs/privacy.md, "Who sees what"): the
  live band of what is available to promise, as at the end of yesterday, and exact
  figures only of sealed months whose report is published. Its answer depends only on the
  day, the seals, the published reports and the privacy policy, so it is kept per
  process under that key (no per-write recomputing: a money write changes nothing the
  public sees until the next day) and sent with an `ETag` and a `Cache-Control` that lasts
  until the next daily update;
- the **full view** (treasurers and admins): every figure, exact and current.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from sqlmodel import select

from app.db import session_scope
from app.fund import books
from app.models import AidRequest, Donation, Payment, PublishedReport
from app.workflow import policy as rules_mod, stamp
from app.workflow.errors import InvalidInput
from ledger.state import month_of
from reports import public
from reports.figures import MonthFigures

ZERO = Decimal("0.00")
TREND_MONTHS = 12
_CACHE = "carebooks.public_cache"
_FIGURES = "carebooks.sealed_figures"
_LOCK = "carebooks.public_lock"
_PERIODS = "carebooks.public_periods"


def today() -> dt.date:
    """The server's date (a function, so tests can move the clock)."""
    return dt.date.today()


def money(value: Decimal) -> str:
    """An amount as the API writes it: a string with cents, "0.00"."""
    return str(value.quantize(ZERO))


def _check_month(month: str | None, now: dt.date) -> str:
    month = month or month_of(now)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month) or not "1900" <= month[:4] <= "9998":
        raise InvalidInput(f"month: {month!r} is not a month YYYY-MM between 1900 and 9998",
                           field="month")
    return month


@dataclass(frozen=True)
class Answer:
    """A kept public answer: the figures, their JSON, its ETag, and until when it holds."""

    data: dict | None
    body: bytes
    etag: str
    expires: dt.datetime       # the next daily update (the server's midnight, in UTC)

    def max_age(self, now: dt.datetime | None = None) -> int:
        """Seconds until the next daily update (at least 1)."""
        now = now or dt.datetime.now(dt.UTC)
        return max(1, int((self.expires - now).total_seconds()))


def _answer(data: dict, now: dt.date) -> Answer:
    body = current_app.json.dumps(data).encode() + b"\n"  # as jsonify writes it
    answer = _answer_bytes(body, now)
    return Answer(data, body, answer.etag, answer.expires)


def _answer_bytes(body: bytes, now: dt.date) -> Answer:
    midnight = dt.datetime.combine(now + dt.timedelta(days=1), dt.time()).astimezone(dt.UTC)
    return Answer(None, body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', midnight)


# --- the inputs of the public view ---------------------------------------------------------


def _policy() -> tuple[Decimal, dict, tuple]:
    k, share, unit, cap = rules_mod.privacy()
    privacy = {"k": k, "dominance_share": share, "rounding_unit": unit}
    return public.band_unit(Decimal(cap)), privacy, (k, share, unit, str(cap))


def published_months() -> set[str]:
    """Months with a published report."""
    with session_scope() as session:
        return set(session.exec(select(PublishedReport.month).distinct()).all())


def _sealed_figures(month: str) -> MonthFigures:
    """A sealed month's figures, kept per seal hash and policy (a sealed month never
    changes; a new policy or a changed seal makes them anew)."""
    from app.workflow import reports

    state = books().state
    seal = next(s for s in state.seals if s.month == month)
    key = (seal.seal_hash, rules_mod.privacy())
    kept = current_app.extensions.setdefault(_FIGURES, {})
    hit = kept.get(month)
    if hit is None or hit[0] != key:
        hit = (key, reports.build(month))
        kept[month] = hit
    return hit[1]


def _public_inputs(now: dt.date) -> tuple[dict[str, MonthFigures], public.Disclosure]:
    """The published months' figures, and which months' closing cash may be shown (each
    month's figures know: `reports.figures.balances_chain`)."""
    state = books().state
    sealed = {s.month for s in state.seals}
    shown = sorted(published_months() & sealed)
    figures = {m: _sealed_figures(m) for m in shown}
    return figures, public.Disclosure(frozenset(m for m, f in figures.items()
                                                if f.balances_shown))


def _periods() -> tuple[public.PeriodRow, ...]:
    """The fund's closed publication periods, as the community's books publish them; kept
    per seal chain and policy (periods are made of sealed months only, and the request
    codes of a sealed month, and whose they are, never change)."""
    from app.workflow import community
    from reports.periods import UnknownRequest, publication_periods

    key = (tuple(s.seal_hash for s in books().state.seals), rules_mod.privacy())
    hit = current_app.extensions.get(_PERIODS)
    if hit is not None and hit[0] == key:
        return hit[1]
    try:
        rows = public.by_periods(publication_periods(books(), community.recipients(),
                                                     community.rules()))
    except UnknownRequest:   # a code typed into the books by hand: `carebooks check` says
        rows = ()
    current_app.extensions[_PERIODS] = (key, rows)
    return rows


def _last_months(n: int, month: str) -> list[str]:
    out = [month]
    for _ in range(n - 1):
        year, mon = int(out[-1][:4]), int(out[-1][5:])
        out.append(f"{year - (mon == 1):04d}-{(mon - 2) % 12 + 1:02d}")
    return list(reversed(out))


@dataclass(frozen=True)
class PublicView:
    """Everything the public sees at once: the live band, the published months, the trend."""

    live: public.Live
    privacy: dict
    published: dict[str, MonthFigures]
    disclosure: public.Disclosure
    trend: tuple[public.TrendRow, ...]
    periods: tuple[public.PeriodRow, ...] = ()   # closed publication periods, oldest first

    @property
    def latest(self) -> str | None:
        """The newest published month, if any."""
        return max(self.published, default=None)


def _public_view(now: dt.date) -> tuple[PublicView, tuple]:
    unit, privacy, policy_key = _policy()
    state = books().state
    key = (now, tuple(s.seal_hash for s in state.seals), stamp.signature(stamp.public_paths()),
           policy_key)
    cache = current_app.extensions.setdefault(_CACHE, {})
    hit = cache.get("view")
    if hit is not None and hit[0] == key:
        return hit[1], key
    with current_app.extensions.setdefault(_LOCK, threading.Lock()):
        hit = cache.get("view")
        if hit is not None and hit[0] == key:
            return hit[1], key
        published, disclosure = _public_inputs(now)
        trend = public.public_trend(_last_months(TREND_MONTHS, month_of(now)), published,
                                    disclosure)
        view = PublicView(public.live(state, now, unit), privacy, published, disclosure, trend,
                          _periods())
        cache.clear()  # answers of an older key
        cache["view"] = (key, view)
    return view, key


def public_view() -> PublicView:
    """The public view as of today (kept until the day, a seal, a report or the policy
    changes)."""
    return _public_view(today())[0]


def public_answer(month: str | None = None) -> Answer:
    """The public summary of `month` (default: this month), kept with its JSON and ETag."""
    now = today()
    month = _check_month(month, now)
    view, key = _public_view(now)
    cache = current_app.extensions[_CACHE]
    hit = cache.get(month)
    if hit is not None and hit[0] == key:
        return hit[1]
    data = public.public_month(month, view.published.get(month), view.disclosure, view.live,
                               view.privacy, view.periods)
    answer = _answer(data, now)
    cache[month] = (key, answer)
    return answer


def public_page(lang: str, render) -> Answer:
    """The transparency page as a stranger sees it in `lang`: `render(view)` makes its
    HTML, kept until the public view changes (at the latest, the next day)."""
    now = today()
    view, key = _public_view(now)
    cache = current_app.extensions[_CACHE]
    hit = cache.get(("page", lang))
    if hit is not None and hit[0] == key:
        return hit[1]
    answer = _answer_bytes(render(view).encode(), now)
    cache[("page", lang)] = (key, answer)
    return answer


def kept_page(lang: str) -> Answer | None:
    """The kept page in `lang` if it is still current (app.api.kept answers from it)."""
    view, key = _public_view(today())
    hit = current_app.extensions[_CACHE].get(("page", lang))
    return hit[1] if hit is not None and hit[0] == key else None


# --- the full view (treasurers and admins) -------------------------------------------------


def full_summary(month: str | None = None) -> dict:
    """Every figure of `month`, exact and current (for treasurers and admins)."""
    from app.workflow import reports

    now = today()
    month = _check_month(month, now)
    unit, privacy, _ = _policy()
    state = books().state
    figures = reports.build(month, today=now)
    return public.full_month(figures, public.live(state, now, unit), privacy,
                             month in published_months(), _periods())


def full_page(now: dt.date | None = None) -> dict:
    """What treasurers and admins see on the transparency page: everything, now."""
    from app.workflow import reports

    now = now or today()
    state = books().state
    unit, privacy, _ = _policy()
    return {"figures": reports.build(month_of(now), today=now),
            "live": public.live(state, now, unit), "privacy": privacy,
            "trend": public.full_trend(state, month_of(now)), "periods": _periods(),
            "cash": state.cash(), "committed": state.committed(),
            "available": state.available()}


def dashboard(today: dt.date | None = None) -> dict:
    """The treasurer's dashboard: cash, committed, available, this month in and out, and
    how many requests wait on a decision or a payment."""
    month = month_of(today or dt.date.today())
    state = books().state
    start = dt.date.fromisoformat(month + "-01")
    with session_scope() as session:
        waiting = session.exec(select(AidRequest).where(
            AidRequest.status.in_(["submitted", "needs_info", "approved",
                                   "partially_paid"]))).all()
        donations = session.exec(select(Donation).where(Donation.date >= start)).all()
        payments = session.exec(select(Payment).where(Payment.date >= start)).all()
    return {
        "month": month, "currency": state.currency,
        "cash": state.cash(), "committed": state.committed(), "available": state.available(),
        "accounts": [(a, state.balance(a)) for a in state.cash_accounts()],
        "in": sum((d.amount - d.fee for d in donations), ZERO),
        "out": sum((p.amount for p in payments), ZERO),
        "to_decide": sum(r.status == "submitted" for r in waiting),
        "to_answer": sum(r.status == "needs_info" for r in waiting),
        "to_pay": sum(r.status in ("approved", "partially_paid") for r in waiting),
        "sealed_through": state.sealed_through,
    }


