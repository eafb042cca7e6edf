"""`carebooks audit MONTH`: an auditor checks a sealed month and records an attestation.

Four checks, each naming what fails:

1. the fund's books against the seal chain: every sealed file still hashes to its seal
   (`Books.verify`), and the month's own file to the month's seal;
2. the month's Merkle root recomputed from its file (months sealed before roots existed
   have none, and say so);
3. the community's books in their folder against a fresh derivation from the fund's
   books, the database's recipients and the fund's current privacy rules, byte for byte;
4. the audit log's hash chain (who did what, recomputed from its first event).

The result (passed or failed), the auditor, the month, the seal checked and the time are
recorded (`Attestation`) and in the audit log; the public page and the month's PDF show
how many of the fund's auditors last found the month in order (never who).
"""

from __future__ import annotations

import hashlib
import json
import re

from sqlmodel import select

from app.db import session_scope
from app.fund import books, forget_books
from app.models import Attestation, AuditEvent, Person, Role
from app.workflow import audit as audit_log
from app.workflow import community, stamp
from app.workflow.errors import Forbidden, InvalidInput, PolicyRefused
from ledger import merkle
from ledger.state import month_file
from reports.community import differences

PASSED, FAILED = "passed", "failed"
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def audit(actor: Person, month: str) -> dict:
    """Check `month` as `actor` (an auditor) and record the attestation."""
    if not actor.has(Role.auditor):
        raise Forbidden("audit: only an auditor attests a month (role auditor)")
    if not isinstance(month, str) or not _MONTH.fullmatch(month):
        raise InvalidInput(f"month: {month!r} is not a month like 2026-11", field="month")
    forget_books()   # read the books from disk, not from what this process remembers
    fund_books = books()
    seal = next((s for s in fund_books.state.seals if s.month == month), None)
    if seal is None:
        raise PolicyRefused(f"audit: {month} is not sealed; only a sealed month is audited",
                            code="month_not_sealed", field="month")
    checks, problems = [], []
    verification = fund_books.verify(fresh=True)
    if verification.ok:
        checks.append(f"seal chain intact through {verification.sealed_through}")
    else:
        problems.append(f"fund's books: {verification}")
    path = fund_books.dir / month_file(month)
    content = path.read_bytes() if path.exists() else b""
    if hashlib.sha256(content).hexdigest() == seal.file_sha256:
        checks.append(f"{month_file(month)} is the file sealed ({seal.file_sha256[:12]}...)")
    else:
        problems.append(f"fund's books: {month_file(month)} is not the file sealed")
    if not seal.merkle_root:
        checks.append("no Merkle root: the month was sealed before roots existed")
    elif merkle.root(content) == seal.merkle_root:
        checks.append(f"Merkle root recomputed ({seal.merkle_root[:12]}...)")
    else:
        problems.append("Merkle root: the month's entries do not give the sealed root")
    chain = audit_chain()
    (checks if chain["ok"] else problems).append(chain["line"])
    diffs = differences(community.folder(), community.derived())
    if diffs:
        problems += [f"community's books: {d}" for d in diffs]
    else:
        checks.append("community's books are exactly a fresh derivation (byte for byte)")
    result = FAILED if problems else PASSED
    with session_scope() as session:
        session.add(Attestation(auditor_id=actor.id, month=month, result=result,
                                seal_hash=seal.seal_hash,
                                detail=json.dumps({"checks": checks, "problems": problems})))
        audit_log.record(session, actor.id, "month.audited", month, result=result,
                         seal_hash=seal.seal_hash)
    stamp.touch("attestation")  # the public page counts the auditors who checked
    return {"month": month, "result": result, "seal_hash": seal.seal_hash,
            "merkle_root": seal.merkle_root, "checks": checks, "problems": problems}


def audit_chain() -> dict:
    """The audit log's hash chain: intact or not, its length, the hash of its head."""
    with session_scope() as session:
        ok, line = audit_log.verify(session)
        head = session.exec(select(AuditEvent.hash).order_by(AuditEvent.id.desc())
                            .limit(1)).first()
    return {"ok": ok, "line": line, "head": head or ""}


def history(limit: int = 50) -> list[dict]:
    """The latest attestations, newest first: auditor's handle, month, result, time.

    For the people who may read the fund's books (`/books/`); the public sees counts only.
    """
    with session_scope() as session:
        rows = session.exec(select(Attestation, Person.handle)
                            .join(Person, Person.id == Attestation.auditor_id)
                            .order_by(Attestation.created_at.desc(), Attestation.id.desc())
                            .limit(limit)).all()
        return [{"handle": handle, "month": a.month, "result": a.result, "at": a.created_at,
                 "problems": json.loads(a.detail or "{}").get("problems", [])}
                for a, handle in rows]


def attested() -> dict[str, int]:
    """Per month, how many auditors' latest audit of its current seal passed."""
    seals = {s.month: s.seal_hash for s in books().state.seals}
    latest: dict[tuple[int, str], str] = {}
    with session_scope() as session:
        rows = session.exec(select(Attestation).order_by(Attestation.created_at,
                                                         Attestation.id)).all()
        for row in rows:
            if seals.get(row.month) == row.seal_hash:
                latest[(row.auditor_id, row.month)] = row.result
    counts: dict[str, int] = {}
    for (_, month), result in latest.items():
        if result == PASSED:
            counts[month] = counts.get(month, 0) + 1
    return counts
