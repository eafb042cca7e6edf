"""The community's books: derived from the fund's books after every seal, and on demand.

The derivation itself is `reports.community` (pure: books + recipients + rules -> bytes).
This module hands it what only the database knows — which person each request code
belongs to, as an opaque number that never leaves `reports/` — and the fund's privacy
rules, and keeps the result in the instance's `community/` folder, which is the only
books folder the public can download (`/books.zip`).
"""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from pathlib import Path

from flask import current_app
from sqlmodel import select

from app.db import session_scope
from app.fund import books
from app.models import AidRequest
from app.workflow import policy as policy_mod
from app.workflow.errors import PolicyRefused
from reports import community
from reports.periods import UnknownRequest
from reports.privacy import Rules


def folder() -> Path:
    """Where the community's books live: `<instance>/community/`."""
    configured = current_app.config.get("COMMUNITY_DIR")
    return Path(configured) if configured else Path(current_app.config["BOOKS_DIR"]).parent \
        / "community"


def rules() -> Rules:
    """The fund's privacy rules, from its policy."""
    with session_scope() as session:
        policy = policy_mod.current(session)
        return Rules(k=policy.k_threshold, dominance=Decimal(policy.dominance_share) / 100,
                     rounding=Decimal(policy.rounding_unit))


def recipients() -> dict[str, int]:
    """Request code -> a number standing for the person who asked (1, 2, … in the order of
    their first request; not their id). Only counts of distinct numbers are published."""
    with session_scope() as session:
        rows = session.exec(select(AidRequest.code, AidRequest.member_id)
                            .order_by(AidRequest.id)).all()
    alias: dict[int, int] = {}
    return {code: alias.setdefault(member, len(alias) + 1) for code, member in rows}


def derived(*, with_rules: Rules | None = None) -> dict[str, bytes]:
    """A fresh derivation of the community's books from the fund's books."""
    return community.derive(books(), recipients(), with_rules or rules())


def derive_public() -> list[str]:
    """Rebuild the community's books in their folder; the names of the files written."""
    files = derived()
    changed = community.differences(folder(), files)
    community.write(folder(), files)
    for extra in folder().glob("*.beancount"):
        if extra.name not in files:
            extra.unlink()
    return changed


def zipped() -> bytes:
    """The community's books as a zip (derived first if they were never written)."""
    root = folder()
    if not (root / community.MAIN).exists():   # a fund upgraded, not sealed since
        try:
            derive_public()
        except UnknownRequest as exc:
            raise PolicyRefused(f"the community's books are not derived yet ({exc}); "
                                "a treasurer runs `carebooks check`", code="not_derived") from None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in community.FILES:
            zf.write(root / name, f"community-books/{name}")
    return buffer.getvalue()
