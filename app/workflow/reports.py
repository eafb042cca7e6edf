"""Monthly reports: build one from the books (plus the plain facts only the database has),
and publish it — stored with its SHA-256, never replaced; a correction is a new version
with a reason, and every version stays in the public archive."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import random
import re
from decimal import Decimal
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlmodel import select

from app.db import session_scope
from app.fund import books
from app.models import AidRequest, Payment, Person, PublishedReport, Role
from app.workflow import audit, inputs
from app.workflow import policy as rules_mod
from app.workflow.errors import Forbidden, InvalidInput, NotFound, PolicyRefused
from reports.figures import FactsMismatch, MonthFigures, RequestFact, month_figures
from reports.privacy import Rules
from reports.render import render_pdf

LANGS = ("en", "es")
PAPERS = ("a4", "letter")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


# Funds that count in US dollars print on US Letter; everyone else on A4 (ISO 216).
LETTER_CURRENCIES = frozenset({"USD"})


def default_paper(currency: str | None = None) -> str:
    """The paper a fund's reports are printed on unless a treasurer picks another."""
    return "letter" if (currency or books().currency) in LETTER_CURRENCIES else "a4"


def _month(month: str) -> str:
    if not isinstance(month, str) or not _MONTH.fullmatch(month):
        raise InvalidInput(_("month: %(value)s is not a month like 2026-11", value=month),
                           field="month")
    return month


def facts() -> list[RequestFact]:
    """Each request as plain facts; the person is a number that means nothing outside
    this one report (a fresh shuffle each time)."""
    with session_scope() as session:
        rows = session.exec(select(AidRequest)).all()
        first_paid = {}
        for pay in session.exec(select(Payment).order_by(Payment.date)).all():
            first_paid.setdefault(pay.request_id, pay.date)
    members = sorted({r.member_id for r in rows})
    random.SystemRandom().shuffle(members)
    alias = {m: i + 1 for i, m in enumerate(members)}
    return [RequestFact(code=r.code, recipient=alias[r.member_id], category=r.category,
                        requested_on=r.created_at.date(), needed_by=r.needed_by,
                        first_paid_on=first_paid.get(r.id)) for r in rows]


def build(month: str, *, today: dt.date | None = None) -> MonthFigures:
    """The figures of `month` under the fund's privacy policy."""
    month = _month(month)
    with session_scope() as session:
        policy = rules_mod.current(session)
        rules = Rules(k=policy.k_threshold, dominance=Decimal(policy.dominance_share) / 100,
                      rounding=Decimal(policy.rounding_unit))
        # how many, never who: a handle in a public PDF points at a person
        treasurers = sum(1 for p in session.exec(select(Person)).all()
                         if p.active and p.has(Role.treasurer))
    from app.workflow.attest import attested

    try:
        fig = month_figures(books(), month, facts=facts(), rules=rules,
                            treasurers=treasurers, today=today)
        return dataclasses.replace(fig, attested=attested().get(month, 0))
    except FactsMismatch as exc:  # e.g. a request typed into the books by hand
        raise PolicyRefused(_("report: the books and the database disagree about %(month)s "
                              "(%(detail)s); run `carebooks check`", month=month,
                              detail=str(exc)), code="facts_mismatch", field="month") from None


def render(month: str, *, lang: str = "en", paper: str | None = None,
           today: dt.date | None = None) -> bytes:
    """The PDF of `month` (not published); on the fund's paper unless another is given."""
    lang = inputs.choice(lang, LANGS, "lang")
    paper = inputs.choice(paper or default_paper(), PAPERS, "paper")
    return render_pdf(build(month, today=today), lang=lang, paper=paper)


def folder() -> Path:
    """Where published reports are kept (the instance's `reports/`)."""
    path = Path(current_app.instance_path) / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def publish(actor: Person, month: str, *, paper: str | None = None,
            reason: str | None = None, today: dt.date | None = None) -> list[dict]:
    """Publish `month` in every language; a later version needs a reason (a correction)."""
    if not actor.has(Role.treasurer):
        raise Forbidden(_("only a treasurer may publish a report"))
    month = _month(month)
    paper = inputs.choice(paper or default_paper(), PAPERS, "paper")
    state = books().state
    seal = next((s for s in state.seals if s.month == month), None)
    if seal is None:
        raise PolicyRefused(_("report: %(month)s is not sealed yet; close the month first, so "
                              "the report can show its seal", month=month),
                            code="month_not_sealed", field="month")
    with session_scope() as session:
        last = session.exec(select(PublishedReport).where(PublishedReport.month == month)
                            .order_by(PublishedReport.version.desc())).first()
    version = (last.version + 1) if last else 1
    if version > 1:
        reason = inputs.text(reason, "reason", max_len=500)
    elif reason:
        reason = inputs.text(reason, "reason", max_len=500)
    figures = build(month, today=today)
    written = []
    for lang in LANGS:
        pdf = render_pdf(figures, lang=lang, paper=paper)
        name = f"{month}-v{version}-{lang}-{paper}.pdf"
        path = folder() / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)  # never replaced
        with os.fdopen(fd, "wb") as fh:
            fh.write(pdf)
            fh.flush()
            os.fsync(fh.fileno())
        written.append((lang, name, hashlib.sha256(pdf).hexdigest(), len(pdf)))
    with session_scope() as session:
        rows = [PublishedReport(month=month, version=version, lang=lang, paper=paper,
                                sha256=digest, filename=name, size=size, reason=reason,
                                seal_hash=seal.seal_hash, published_by=actor.id)
                for lang, name, digest, size in written]
        session.add_all(rows)
        audit.record(session, actor.id, "report.published", month, version=version,
                     sha256=[d for _l, _n, d, _s in written], correction=version > 1)
    return archive(month)


def archive(month: str | None = None) -> list[dict]:
    """Every published version (newest month first), for the community page."""
    with session_scope() as session:
        query = select(PublishedReport)
        if month:
            query = query.where(PublishedReport.month == month)
        rows = session.exec(query.order_by(PublishedReport.month.desc(),
                                           PublishedReport.version.desc(),
                                           PublishedReport.lang)).all()
    return [{"month": r.month, "version": r.version, "lang": r.lang, "paper": r.paper,
             "sha256": r.sha256, "filename": r.filename, "size": r.size, "reason": r.reason,
             "seal_hash": r.seal_hash, "published_at": r.published_at} for r in rows]


def published_file(filename: str) -> Path:
    """The stored file of a published report, checked against its recorded SHA-256."""
    with session_scope() as session:
        row = session.exec(select(PublishedReport).where(
            PublishedReport.filename == filename)).first()
    if row is None:
        raise NotFound(_("no such report"))
    path = folder() / row.filename
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != row.sha256:
        raise NotFound(_("this report's file is missing or changed; a treasurer must look"))
    return path
