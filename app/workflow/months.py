"""Closing a month: compare with the statements, then seal it in the books (audited)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from app.db import session_scope
from app.fund import books
from app.models import AuditEvent, Person
from app.workflow import audit, inputs, replies
from app.workflow.errors import InvalidInput, PolicyRefused
from app.workflow.outbox import money_lock, settle
from ledger import InvalidReference, Month, SealOutOfOrder, SealRefused, StatementMismatch


def seal(actor: Person, month: str, body: dict, *, today: dt.date | None = None) -> dict:
    """Seal `month` with the statement balance of each cash account."""
    cur = books().currency
    raw = body.get("balances")
    if not isinstance(raw, dict):
        raise InvalidInput('balances: required, {"Assets:Fund:Bank": "1200.00", ...}',
                           field="balances")
    statements = {account: inputs.amount(value, cur, f"balances.{account}", allow_zero=True)
                  for account, value in raw.items()}
    with money_lock():
        settle()
        try:
            seal = books().seal(month, statements, today=today)
        except StatementMismatch as exc:
            raise PolicyRefused(exc.message, code="statement_mismatch",
                                field="balances") from None
        except InvalidReference as exc:
            raise InvalidInput(exc.message, field=exc.field) from None
        except SealOutOfOrder as exc:
            seal = _sealed_as_asked(month, statements) if replies.resumed() else None
            if seal is None:
                raise PolicyRefused(exc.message, code=exc.code,
                                    field="month") from None
        except SealRefused as exc:
            raise PolicyRefused(exc.message, code=exc.code,
                                field="month") from None
        # the community's books follow the seal (deterministic, so a retry derives the same
        # bytes); derived under the lock so that the answer, stored with the audit event
        # below, says whether they were
        result = {"month": seal.month, "file_sha256": seal.file_sha256, "previous": seal.prev,
                  "seal_hash": seal.seal_hash,
                  "balances": {a: str(v) for a, v in sorted(statements.items())},
                  "community_books": _derive_public()}
        with session_scope() as session:
            if not session.exec(select(AuditEvent.id).where(
                    AuditEvent.action == "month.sealed", AuditEvent.subject == month)).first():
                audit.record(session, actor.id, "month.sealed", month,
                             seal_hash=seal.seal_hash)
            replies.answer(session, result)  # committed with the audit event
    return result


def _sealed_as_asked(month: str, statements: dict):
    """The last seal, if it is `month`'s and the books' balances at its end are these
    statement balances: for a retry of a request whose process died after writing the seal
    and before answering, that seal is its answer; else None."""
    state = books().state
    seal = state.last_seal
    if seal is None or seal.month != month:
        return None
    if any(state.balance_at_end_of(account, month) != amount
           for account, amount in statements.items()):
        return None
    return seal


def _derive_public() -> str:
    """Rebuild the community's books after a seal; the seal stands even if this fails."""
    from app.workflow import community
    from reports.periods import UnknownRequest

    try:
        community.derive_public()
    except UnknownRequest as exc:
        return f"not derived: {exc}"
    return "derived"


def close_preview(statements: dict | None = None, *, today: dt.date | None = None) -> dict:
    """The next month to seal, each cash account's book balance at its end, and (given the
    statement balances typed so far) the differences — before anything is written."""
    today = today or dt.date.today()
    state = books().state
    month = (Month(state.sealed_through).next() if state.sealed_through
             else Month.of(min(state.opens.values())))
    end = month.end
    rows = []
    for account in state.cash_accounts():
        if state.opens[account] >= end:
            continue
        book = state.balance_at_end_of(account, month)
        needed = month in state.monthly.get(account, {}) or book != 0
        given = (statements or {}).get(account)
        try:
            given_n = (inputs.amount(given, state.currency, account, allow_zero=True)
                       if given not in (None, "") else None)
        except InvalidInput:
            given_n = None  # shown as no difference; sealing refuses it with the reason
        rows.append({"account": account, "books": book, "needed": needed, "statement": given,
                     "difference": None if given_n is None else given_n - book})
    return {"month": month, "over": end <= today, "ends": end - dt.timedelta(days=1),
            "accounts": rows, "currency": state.currency,
            "sealed_through": state.sealed_through}
