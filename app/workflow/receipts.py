"""Receipts: one entry of a sealed month with its salt and Merkle path (docs/verify.md).

A member gets receipts for their own request's entries (approval, payments,
cancellation) from the request's page; treasurers may fetch them too (they see every
request anyway). A donor has no account, and donation codes are sequential, so a
receipt by code alone would let anyone read any donation's exact amount and date:
a donation's receipt is given only to a treasurer, who sends it to the donor through
the channel the donation came by (the donor's own email, the event organiser).
"""

from __future__ import annotations

import re

from flask_babel import gettext as _

from app.fund import books
from app.models import Person, Role
from app.workflow import requests
from app.workflow.errors import Forbidden, NotFound

_KINDS = {"approve": "approval", "pay": "payment", "cancel": "cancellation",
          "donation": "donation", "refund": "refund"}


def _entries_of(code: str) -> list[str]:
    """The carebooks-ids of a request's or donation's entries, in the books' order."""
    pattern = re.compile(rf"(approve|pay|cancel|donation|refund):{re.escape(code)}(:\d+)?")
    ids = books().state.ids
    return sorted((cid for cid in ids if pattern.fullmatch(cid)), key=lambda c: ids[c])


def listing(code: str) -> list[dict]:
    """Each entry of `code`: its id, what it is, and whether a receipt exists yet."""
    out = []
    for cid in _entries_of(code):
        receipt = books().receipt(cid)
        out.append({"id": cid, "kind": _KINDS[cid.split(":", 1)[0]],
                    "month": receipt["month"] if receipt else None,
                    "available": receipt is not None})
    return out


def for_request(actor: Person, code: str) -> list[dict]:
    """The receipts of a request `actor` may see (its member, or a treasurer)."""
    requests.get(actor, code)   # NotFound unless it is theirs (or they are a treasurer)
    return listing(code)


def request_receipt(actor: Person, code: str, carebooks_id: str) -> dict:
    """One receipt of a request `actor` may see."""
    requests.get(actor, code)
    if carebooks_id not in _entries_of(code):
        raise NotFound(_("no entry %(id)s in request %(code)s", id=carebooks_id, code=code))
    return _receipt(carebooks_id)


def donation_receipts(actor: Person, code: str) -> list[dict]:
    """A donation's receipts (and its refunds'), for a treasurer to hand to the donor."""
    if not actor.has(Role.treasurer):
        raise Forbidden(_("only a treasurer may fetch a donation's receipt"))
    ids = [cid for cid in _entries_of(code) if cid.startswith(("donation:", "refund:"))]
    if not ids:
        raise NotFound(_("no donation %(code)s", code=code))
    return [_receipt(cid) for cid in ids]


def _receipt(carebooks_id: str) -> dict:
    receipt = books().receipt(carebooks_id)
    if receipt is None:
        raise NotFound(_("no receipt for %(id)s yet: receipts exist for months sealed since "
                         "Merkle roots began, once the month is sealed", id=carebooks_id))
    return receipt
