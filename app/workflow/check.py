"""`carebooks check`: settle the outbox, then prove the database and the books agree.

Per request: approved, paid and outstanding; per donation: net, fee, refunded; codes in
the books that the database does not know; outbox entries missing from the books;
totals; the seal chain; the audit chain.

The books are read again from disk first. If writes were stopped after a failed fsync,
every file must fsync again before anything is settled, and the stop is lifted only when
the check passes. `repair=True` (`carebooks check --repair`) also cuts a torn last entry
that begins an outbox entry and writes back every outbox entry missing from the books.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlmodel import select

from app.db import session_scope
from app.fund import books, forget_books
from app.models import AidRequest, Donation, Outbox, Status
from app.workflow import audit, claims
from app.workflow import repair as mend
from app.workflow.outbox import money_lock, settle
from ledger import AID_ROOT, CASH_ROOT, DONATION_ROOT, FEES, BooksInvalid, LedgerError

ZERO = Decimal("0.00")
LIVE = (Status.approved, Status.partially_paid)


@dataclass
class CheckReport:
    """What `check` found: readable lines, and the problems among them."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # hygiene, not a disagreement

    @property
    def ok(self) -> bool:
        """True when nothing disagrees."""
        return not self.problems

    def problem(self, message: str) -> None:
        """Record a mismatch."""
        self.problems.append(message)

    def __str__(self) -> str:
        out = list(self.lines)
        out += [f"WARNING: {w}" for w in self.warnings]
        out += [f"PROBLEM: {p}" for p in self.problems]
        out.append("check: OK" if self.ok else f"check: {len(self.problems)} problem(s)")
        return "\n".join(out)


def expected_request(req: AidRequest) -> tuple[Decimal, Decimal, Decimal]:
    """(aid booked, paid, outstanding) the books should show for a request in the database."""
    paid = req.paid_amount
    if req.status in (*LIVE, Status.paid):
        approved = req.approved_amount or ZERO
        return approved, paid, (approved - paid if req.status in LIVE else ZERO)
    if req.status == Status.cancelled:
        return paid, paid, ZERO
    return ZERO, ZERO, ZERO


def run_check(*, repair: bool = False) -> CheckReport:
    """Settle pending outbox rows and cross-check the database against the books."""
    report = CheckReport()
    try:
        with money_lock():
            stop = _reopen(report, repair)
            if stop:
                report.lines.append(f"writes were stopped: {stop}")
                books().resume()  # every file fsyncs again, or this raises and nothing moves
            settled = settle()
            restored = mend.restore_missing() if repair else []
            state = books().state
            verification = books().verify(fresh=True)
            _compare(report, state, verification, settled, restored)
            if stop and not report.ok:
                books().stop(f"{stop}; `carebooks check` still finds "
                             f"{len(report.problems)} problem(s)")
            elif stop:
                report.lines.append("writes: resumed")
    except LedgerError as exc:
        report.problem(exc.message)
        if isinstance(exc, BooksInvalid) and not repair:
            report.lines.append("hint: a torn last entry is cut and written again from the "
                                "outbox by `carebooks check --repair` (docs/operations.md)")
    if freed := claims.clear_abandoned():
        report.lines.append(f"idempotency: {freed} key(s) held by requests that died, freed")
    _hygiene(report)
    return report


def _hygiene(report: CheckReport) -> None:
    """Warnings that are not disagreements: API tokens past their expiry that nobody
    revoked, and private files of the instance that other local users can read."""
    from pathlib import Path

    from flask import current_app

    from app.models import Person
    from app.workflow.modes import loose_modes
    from app.workflow.tokens import expired_live

    with session_scope() as session:
        for tok in expired_live(session):
            who = session.get(Person, tok.person_id)
            when = tok.expires_at.strftime("%Y-%m-%d") if tok.expires_at else "never set"
            owner = who.email or f"@{who.handle}"  # someone without email: their handle
            report.warnings.append(f"API token {tok.id} of {owner} expired ({when}) and "
                                   f"is not revoked: `carebooks token revoke {tok.id}`")
    report.warnings.extend(loose_modes(Path(current_app.instance_path)))


def _reopen(report: CheckReport, repair: bool) -> str | None:
    """Read the books again from disk (cutting torn tails if `repair`); return why writes
    are stopped, or None."""
    forget_books()
    try:
        return books().stopped()
    except BooksInvalid as exc:
        # what a crashed writer left is mended always; a done entry's piece only on request
        cut = mend.mend_torn_tails(exc, mend.all_rows(pending_only=not repair))
        if not cut:
            raise
        for t in cut:
            report.lines.append(f"repair: cut a torn entry of {t.size} bytes at {t.filename}:"
                                f"{t.lineno} (kept in {t.kept_at}); it is written again "
                                "from the outbox")
        return books().stopped()


def _compare(report: CheckReport, state, verification, settled: int,
             restored: list[str]) -> None:
    """The cross-check proper: the database against the books' state."""
    if settled:
        report.lines.append(f"outbox: {settled} pending entr{'y' if settled == 1 else 'ies'} "
                            "settled")
    for cid in restored:
        report.lines.append(f"repair: {cid} written again from the outbox")
    for row in mend.missing_done():
        report.problem(f"outbox entry {row.carebooks_id} is marked done but is not in the "
                       "books; `carebooks check --repair` writes it again")
    report.lines.append(f"books: {state.entry_count} entries; cash {state.cash()}, committed "
                        f"{state.committed()}, available {state.available()} {state.currency}")
    with session_scope() as session:
        requests = session.exec(select(AidRequest)).all()
        donations = session.exec(select(Donation)).all()
        pending = session.exec(select(Outbox).where(Outbox.status == "pending")).all()
        audit_ok, audit_line = audit.verify(session)
    for row in pending:
        report.problem(f"outbox entry {row.carebooks_id} is still pending")
    committed = ZERO
    for req in requests:
        want = expected_request(req)
        got = (state.link_total(req.code, AID_ROOT), -state.link_total(req.code, CASH_ROOT),
               state.outstanding(req.code))
        committed += want[2]
        if want != got:
            report.problem(f"{req.code} ({req.status}): database says approved {want[0]}, "
                           f"paid {want[1]}, outstanding {want[2]}; books say {got[0]}, "
                           f"{got[1]}, {got[2]}")
    for don in donations:
        want = (don.amount - don.refunded, don.fee)
        got = (-state.link_total(don.code, DONATION_ROOT), state.link_total(don.code, FEES))
        if want != got:
            report.problem(f"{don.code}: database says net {want[0]}, fee {want[1]}; "
                           f"books say {got[0]}, {got[1]}")
    known = {r.code for r in requests} | {d.code for d in donations}
    for link in sorted(state.links):
        if link[:2] in ("R-", "D-") and link not in known:
            report.problem(f"{link} is in the books but not in the database")
    if committed != state.committed():
        report.problem(f"committed: database {committed}, books {state.committed()}")
    report.lines.append(f"database: {len(requests)} requests, {len(donations)} donations "
                        "agree with the books" if not report.problems else
                        f"database: {len(requests)} requests, {len(donations)} donations")
    report.lines.append(str(verification))
    if not verification.ok:
        report.problem(str(verification))
    report.lines.append(audit_line)
    if not audit_ok:
        report.problem(audit_line)
