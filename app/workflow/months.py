"""Closing a month: compare with the statements, then seal it in the books (audited)."""

from __future__ import annotations

import datetime as dt

from app.db import session_scope
from app.fund import books
from app.models import Person
from app.workflow import audit, inputs
from app.workflow.errors import InvalidInput, PolicyRefused
from app.workflow.outbox import money_lock, settle
from ledger import SealRefused
from ledger.errors import InvalidReference, StatementMismatch


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
        except SealRefused as exc:
            raise PolicyRefused(exc.message, code=exc.rule.replace("-", "_"),
                                field="month") from None
        with session_scope() as session:
            audit.record(session, actor.id, "month.sealed", month, seal_hash=seal.seal_hash)
    return {"month": seal.month, "file_sha256": seal.file_sha256, "previous": seal.prev,
            "seal_hash": seal.seal_hash,
            "balances": {a: str(v) for a, v in sorted(statements.items())}}
