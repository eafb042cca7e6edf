"""Importing a statement file (PayPal, Venmo, Stripe, a bank CSV): a preview of what it
would add, what it already holds and what cannot be read; then one confirmation that
writes every donation (and every payment the treasurer matched) in one money step — all
of it, or nothing.

Nothing about the people in the file is kept: a donor's name only with the file's consent
column, through `safe_display_name`; the dedup record holds a keyed hash (`stored_key`) of
the source's transaction id, or of date, amount and reference — never the id itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass, field, replace
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.db import session_scope
from app.fund import books, donation_categories
from app.imports import (FORMATS, OUTGOING, REFUND, SKIP, TRANSFER, FormatRefused, Mapping,
                         MappingInvalid, RowError, StatementLine, donation_entry, importer)
from app.models import (AidRequest, Donation, ImportedLine, ImportMapping, Person,
                        Status, utcnow)
from app.workflow import audit, inputs
from app.workflow.errors import BooksRefused, Conflict, InvalidInput
from app.workflow.outbox import books_turn, enqueue, money_step
from app.workflow.requests import next_code, pay_in
from ledger import EntryRefused
from ledger import entries as E
from ledger.errors import InvalidText
from ledger.state import BooksState
from ledger.text import MappingName
from ledger.validate import check_entry, round_trip

MAPPING_NAME_MAX = 40


@dataclass
class Plan:
    """What a file would do to the books, worked out without writing anything."""

    fmt: str
    account: str
    category: str
    file_sha256: str
    donations: list[StatementLine] = field(default_factory=list)
    outgoing: list[tuple[StatementLine, list[dict]]] = field(default_factory=list)
    transfers: list[tuple[StatementLine, str]] = field(default_factory=list)  # other account
    refunds: list[tuple[StatementLine, str]] = field(default_factory=list)    # donation code
    duplicates: list[tuple[StatementLine, str]] = field(default_factory=list)
    skipped: list[StatementLine] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def view(self) -> dict:
        """The preview as pages, the CLI and tests show it (with its digest)."""
        cur = books().currency
        gross = sum((d.amount for d in self.donations), Decimal("0.00"))
        fees = sum((d.fee for d in self.donations), Decimal("0.00"))
        out = {
            "format": self.fmt, "account": self.account, "category": self.category,
            "file_sha256": self.file_sha256, "currency": cur,
            "add": [{"row": d.row, "date": d.date.isoformat(), "amount": str(d.amount),
                     "fee": str(d.fee), "net": str(d.net),
                     "donor": d.name if d.consent and d.name else E.ANONYMOUS}
                    for d in self.donations],
            "outgoing": [{"row": o.row, "date": o.date.isoformat(), "amount": str(-o.amount),
                          "candidates": cands} for o, cands in self.outgoing],
            "transfers": [{"row": t.row, "date": t.date.isoformat(), "amount": str(abs(t.amount)),
                           "fee": str(t.fee),
                           "from_account": self.account if t.amount < 0 else other,
                           "to_account": other if t.amount < 0 else self.account}
                          for t, other in self.transfers],
            "refunds": [{"row": r.row, "date": r.date.isoformat(), "amount": str(-r.amount),
                         "fee_returned": str(-r.fee), "of": code} for r, code in self.refunds],
            "duplicates": [{"row": d.row, "date": d.date.isoformat(), "amount": str(d.amount),
                            "of": of} for d, of in self.duplicates],
            "skipped": [{"row": s.row, "date": s.date.isoformat(), "amount": str(s.amount),
                         "reason": s.note} for s in self.skipped],
            "errors": [{"row": e.row, "reason": e.reason} for e in self.errors],
            "totals": {"donations": len(self.donations), "gross": str(gross),
                       "fees": str(fees), "net": str(gross - fees)},
        }
        out["digest"] = hashlib.sha256(json.dumps(out, sort_keys=True).encode()).hexdigest()
        return out


# --- saved bank mappings -------------------------------------------------------------


def save_mapping(actor: Person, name: str, spec: dict) -> dict:
    """Create or replace the bank column mapping called `name`."""
    name = inputs.text(name, "name", max_len=MAPPING_NAME_MAX)
    try:
        name = str(MappingName(name))
    except InvalidText:
        raise InvalidInput(_("name: letters, digits, - and _ only"), field="name") from None
    try:
        mapping = Mapping.from_dict(spec)
    except (MappingInvalid, TypeError) as exc:
        raise InvalidInput(getattr(exc, "message", str(exc)), field="mapping") from None
    with session_scope() as session:
        row = session.exec(select(ImportMapping).where(ImportMapping.name == name)).first()
        if row is None:
            row = ImportMapping(name=name, spec=mapping.to_json(), updated_by=actor.id)
            session.add(row)
        else:
            row.spec, row.updated_by, row.updated_at = mapping.to_json(), actor.id, utcnow()
        audit.record(session, actor.id, "import.mapping_saved", name)
    return {"name": name, "mapping": json.loads(mapping.to_json())}


def mapping_names() -> list[str]:
    """The saved bank mappings, by name."""
    with session_scope() as session:
        return sorted(m.name for m in session.exec(select(ImportMapping)))


def get_mapping(name: str | None, session: Session | None = None) -> Mapping:
    """A saved bank mapping, or InvalidInput naming the field. Inside a money step, pass
    the step's session (a second one would wait on the step's own write lock on SQLite)."""
    if not name:
        raise InvalidInput(_("mapping: a bank CSV needs a saved column mapping (carebooks "
                             "import-mapping NAME ...)"), field="mapping")
    if session is None:
        with session_scope() as own:
            return get_mapping(name, own)
    row = session.exec(select(ImportMapping).where(ImportMapping.name == name)).first()
    if row is None:
        raise InvalidInput(_("mapping: no saved mapping called %(name)s", name=repr(name[:40])),
                           field="mapping")
    return Mapping.from_dict(json.loads(row.spec))


# --- preview and confirm -------------------------------------------------------------


def preview(actor: Person, data: bytes, fmt: str, *, mapping: str | None = None,
            account: str | None = None, category: str = "individual") -> dict:
    """What importing `data` would add, what it duplicates, what cannot be read; writes
    nothing."""
    with session_scope() as session:
        return _plan(session, actor, data, fmt, mapping, account, category).view()


def confirm(actor: Person, data: bytes, fmt: str, *, digest: str,
            mapping: str | None = None, account: str | None = None,
            category: str = "individual", matches: dict[int, str] | None = None) -> dict:
    """Write what the preview showed (its `digest` proves nothing changed since): every
    donation, and a payment for each outgoing row matched to a request — or nothing."""
    matches = _check_matches(matches or {})
    cur = books().currency
    with money_step() as session:
        plan = _plan(session, actor, data, fmt, mapping, account, category)
        if plan.errors:
            first = plan.errors[0]
            raise InvalidInput(_("row %(row)s: %(reason)s; %(count)s row(s) cannot be read, "
                                 "so nothing was written", row=first.row, reason=first.reason,
                                 count=len(plan.errors)), field="file")
        if plan.view()["digest"] != digest:
            raise Conflict(_("the file, the books or the requests changed since the preview; "
                             "nothing was written: preview it again"), field="file")
        outgoing = {line.row: (line, {c["code"] for c in cands}) for line, cands in plan.outgoing}
        for row, code in matches.items():
            if row not in outgoing:
                raise InvalidInput(_("match: row %(row)s is not a payment sent in this file",
                                     row=row), field="match")
            if code not in outgoing[row][1]:
                raise InvalidInput(_("match: %(code)s is not a request row %(row)s can pay",
                                     code=code, row=row), field="match")
        if not plan.donations and not matches and not plan.transfers and not plan.refunds:
            return {"added": 0, "codes": [], "paid": [], "transfers": [], "refunds": [],
                    "duplicates": len(plan.duplicates)}
        written = []  # every entry, checked against the books once all are written
        codes = []
        real: dict[str, str] = {}   # placeholder code -> the donation's own code
        for line in plan.donations:
            code = next_code(session, "D", line.date.year)
            real[_placeholder(line)] = code
            entry = donation_entry(line, code, plan.account, plan.category)
            written.append(entry)
            session.add(Donation(code=code, date=line.date, amount=line.amount, fee=line.fee,
                                 account=plan.account, category=plan.category,
                                 donor_name=line.name if line.consent else None,
                                 donor_consents_public=line.consent, recorded_by=actor.id))
            enqueue(session, entry)
            session.add(_record(plan, line, "donation", code, entry, actor))
            audit.record(session, actor.id, "donation.recorded", code, amount=str(line.amount),
                         fee=str(line.fee), account=plan.account, via=f"import:{plan.fmt}")
            codes.append(code)
        moved = []
        for line, other in plan.transfers:
            code = next_code(session, "T", line.date.year)
            entry = _transfer_entry(line, code, plan.account, other, cur)
            written.append(entry)
            enqueue(session, entry)
            session.add(_record(plan, line, "transfer", code, entry, actor))
            audit.record(session, actor.id, "transfer.recorded", code,
                         amount=str(abs(line.amount)), fee=str(line.fee),
                         via=f"import:{plan.fmt}")
            moved.append(code)
        refunded = []
        session.flush()  # the donations just added, for their refunds below
        for line, dcode in plan.refunds:
            dcode = real.get(dcode, dcode)
            donation = session.exec(select(Donation).where(Donation.code == dcode)
                                    .with_for_update()).one()
            amount = -line.amount
            if amount > donation.amount - donation.refunded:
                raise Conflict(_("row %(row)s: the refund is more than is left of %(code)s; "
                                 "nothing was written", row=line.row, code=dcode),
                               field="file")
            seq = donation.refund_count + 1
            entry = _refund_entry(line, dcode, seq, donation.category, donation.account, cur)
            donation.refunded += amount
            donation.fee += line.fee   # a fee given back is a negative fee
            donation.refund_count = seq
            written.append(entry)
            enqueue(session, entry)
            session.add(_record(plan, line, "refund", dcode, entry, actor))
            audit.record(session, actor.id, "donation.refunded", dcode, amount=str(amount),
                         seq=seq, via=f"import:{plan.fmt}")
            refunded.append(dcode)
        paid = []
        for row, code in sorted(matches.items()):
            line = outgoing[row][0]
            req, entry, payments = pay_in(session, actor, code, -line.amount, plan.account,
                                          line.date)
            written.append(entry)
            session.add(_record(plan, line, "payment", code, None, actor,
                                cid=payments[-1].carebooks_id))
            paid.append({"row": row, "code": code, "amount": str(-line.amount)})
        audit.record(session, actor.id, "import.confirmed", plan.fmt,
                     file_sha256=plan.file_sha256, donations=len(codes), payments=len(paid),
                     duplicates=len(plan.duplicates), gross=plan.view()["totals"]["gross"],
                     currency=cur)
        try:
            state = books_turn(session).copy()  # each entry checked after those before it
        except IntegrityError:  # another confirm of these lines committed meanwhile
            raise Conflict(_("the file, the books or the requests changed since the "
                             "preview; nothing was written: preview it again"),
                           field="file") from None
        for entry in written:
            _check_in(state, entry)
    return {"added": len(codes), "codes": codes, "paid": paid, "transfers": moved,
            "refunds": refunded, "duplicates": len(plan.duplicates)}


def _transfer_entry(line: StatementLine, code: str, account: str, other: str, cur: str):
    """A transfer line: money out of `account` to `other`, or into it from `other`; the
    line's fee is the part that did not arrive."""
    if line.amount < 0:
        return E.transfer(code, line.date, account, other, -line.amount, cur,
                          fee=line.fee or None)
    return E.transfer(code, line.date, other, account, line.amount, cur, fee=line.fee or None)


def _refund_entry(line: StatementLine, dcode: str, seq: int, category: str, account: str,
                  cur: str):
    """A refund line of donation `dcode` (the processor may give its fee back: -fee)."""
    return E.donation_refund(dcode, seq, line.date, category, account, -line.amount, cur,
                             fee_returned=(-line.fee) or None)


def transfer_account(plan_account: str, cash: list[str]) -> str | None:
    """The fund's account at the other end of an imported transfer: its bank (the place a
    processor pays out to), or None when the statement is the bank's own."""
    bank = next((a for a in cash if a.rsplit(":", 1)[-1].lower() == "bank"), None)
    return bank if bank and bank != plan_account else None


def stored_key(source: str, key: str) -> str:
    """What the database keeps of a line's dedup key: a keyed hash (HMAC-SHA256 under a
    key derived from the app's secret key), enough to know a line again and nothing to
    read back — a PayPal transaction id would otherwise tie an anonymous donor's payment
    to a public donation code."""
    secret = hmac.new(str(current_app.config["SECRET_KEY"]).encode(),
                      b"carebooks-import-dedup", hashlib.sha256).digest()
    mac = hmac.new(secret, f"{source}|{key}".encode("utf-8", "replace"), hashlib.sha256)
    return "k:" + mac.hexdigest()[:40]


def _known(session: Session, source: str, keys: list[str], column) -> dict[str, str]:
    """line key -> `column` of the lines already imported from `source` (rows made before
    keys were hashed are found by the plain key)."""
    if not keys:
        return {}
    hashed = {stored_key(source, k): k for k in keys}
    rows = session.exec(select(ImportedLine).where(
        ImportedLine.source == source,
        ImportedLine.line_key.in_([*hashed, *keys]))).all()
    return {hashed.get(r.line_key, r.line_key): getattr(r, column) for r in rows}


def _record(plan: Plan, line: StatementLine, kind: str, code: str, entry, actor: Person,
            cid: str | None = None) -> ImportedLine:
    return ImportedLine(source=plan.fmt, line_key=stored_key(plan.fmt, line.key),
                        file_sha256=plan.file_sha256,
                        kind=kind, code=code, carebooks_id=cid or entry.meta[E.ID_KEY],
                        imported_by=actor.id)


def _check_matches(matches: dict) -> dict[int, str]:
    out = {}
    for row, code in matches.items():
        try:
            number = int(row)
        except (TypeError, ValueError):
            raise InvalidInput(_("match: %(row)s is not a row number", row=repr(str(row)[:20])),
                               field="match") from None
        if not isinstance(code, str) or not E.REQUEST_CODE.fullmatch(code):
            raise InvalidInput(_("match: %(code)s is not a request code like R-2026-0042",
                                 code=repr(str(code)[:20])), field="match")
        out[number] = code
    return out


def _check_in(state: BooksState, entry) -> None:
    """Check `entry` against `state` as the books would, then count it in."""
    try:
        check_entry(state, entry, dt.date.today())
        round_trip(entry)
    except EntryRefused as exc:
        raise BooksRefused(exc.message, code=exc.rule.replace("-", "_"),
                           field="file") from exc
    state.apply(entry)


def importer_for(fmt: str, mapping: str | None, account: str | None, category: str,
                 session: Session | None = None):
    fmt = inputs.choice(fmt, FORMATS, "format")
    cash = books().state.cash_accounts()
    if account not in (None, ""):
        account = inputs.choice(account, cash, "account")
    category = inputs.choice(category or "individual", donation_categories(), "category")
    try:
        imp = importer(fmt, mapping=get_mapping(mapping, session) if fmt == "bank" else None,
                       account=account or None, category=category, currency=books().currency)
    except MappingInvalid as exc:
        raise InvalidInput(exc.message, field="mapping") from None
    if imp.cash_account not in cash:
        raise InvalidInput(_("account: %(account)s is not open in the books; choose one of "
                             "%(options)s", account=imp.cash_account, options=", ".join(cash)),
                           field="account")
    return imp


def _plan(session: Session, actor: Person, data: bytes, fmt: str, mapping: str | None,
          account: str | None, category: str) -> Plan:
    if not isinstance(data, bytes | bytearray):
        raise InvalidInput(_("file: required, a CSV file"), field="file")
    imp = importer_for(fmt, mapping, account, category, session)
    try:
        parsed = imp.parse(bytes(data))
    except FormatRefused as exc:
        raise InvalidInput(exc.message, field="file") from None
    plan = Plan(fmt, imp.cash_account, imp.category, hashlib.sha256(data).hexdigest(),
                errors=list(parsed.errors))
    keys = [line.key for line in parsed.lines]
    done = _known(session, imp.fmt, keys + [line.of for line in parsed.lines if line.of],
                  "code")
    first_row: dict[str, int] = {}
    state = books().state.copy()
    later: list[StatementLine] = []
    new_donations: dict[str, StatementLine] = {}  # source id -> a donation this file adds
    for line in parsed.lines:
        if line.kind == SKIP:
            plan.skipped.append(line)
            continue
        if line.key in done:
            plan.duplicates.append((line, done[line.key]))
            continue
        if line.key in first_row:
            plan.duplicates.append((line, _("row %(row)s", row=first_row[line.key])))
            continue
        first_row[line.key] = line.row
        if line.kind == OUTGOING:
            plan.outgoing.append((line, []))
            continue
        if line.kind in (TRANSFER, REFUND):
            later.append(line)  # once every donation of the file is counted in
            continue
        try:
            if line.consent and line.name:
                E.safe_display_name(line.name)
            _check_in(state, donation_entry(line, _placeholder(line), plan.account,
                                            plan.category))
        except EntryRefused as exc:
            plan.errors.append(RowError(line.row, exc.message))
        except BooksRefused as exc:
            plan.errors.append(RowError(line.row, exc.message))
        else:
            plan.donations.append(line)
            if line.source_id:
                new_donations[line.source_id] = line
    for line in later:
        _plan_movement(session, plan, state, line, done, new_donations)
    plan.errors.sort(key=lambda e: e.row)
    if plan.outgoing:
        plan.outgoing = [(line, _candidates(session, actor, -line.amount, imp.fmt))
                         for line, _none in plan.outgoing]
    return plan


def _placeholder(line: StatementLine) -> str:
    """The donation code a line's entry is checked under before it has its own."""
    return f"D-{line.date.year}-9{line.row:05d}"


def _plan_movement(session: Session, plan: Plan, state: BooksState, line: StatementLine,
                   done: dict[str, str], new_donations: dict[str, StatementLine]) -> None:
    """A transfer or refund line: planned (and counted into `state`), skipped, or an error."""
    if line.kind == TRANSFER:
        other = transfer_account(plan.account, state.cash_accounts())
        if other is None:
            plan.skipped.append(replace(line, note=_(
                "a transfer between the fund's own accounts: record it on the Money page, "
                "or import the other account's statement")))
            return
        entry = _transfer_entry(line, f"T-{line.date.year}-9{line.row:05d}", plan.account,
                                other, state.currency)
        target = (plan.transfers, (line, other))
    else:
        dcode = done.get(line.of) if line.of else None
        donation = session.exec(select(Donation).where(Donation.code == dcode)).first() \
            if dcode else None
        if donation is not None:
            category, account, seq = donation.category, donation.account, \
                donation.refund_count + 1
        elif line.of and line.of in new_donations:  # a donation this file adds
            first = new_donations[line.of]
            dcode, category, account, seq = _placeholder(first), plan.category, \
                plan.account, 1
        else:
            plan.skipped.append(replace(line, note=_(
                "a refund of a payment not imported here: refund its donation on the "
                "donations page")))
            return
        earlier = sum(1 for r, of in plan.refunds if of == dcode)
        entry = _refund_entry(line, dcode, seq + earlier, category, account, state.currency)
        target = (plan.refunds, (line, dcode))
    try:
        _check_in(state, entry)
    except (EntryRefused, BooksRefused) as exc:
        plan.errors.append(RowError(line.row, exc.message))
    else:
        target[0].append(target[1])


_METHOD = {"paypal": "paypal", "venmo": "venmo", "bank": "bank", "stripe": "bank"}


def _candidates(session: Session, actor: Person, amount: Decimal, fmt: str) -> list[dict]:
    """Approved requests this payment could settle: outstanding at least `amount`, the
    closest amount first, then those asking to be paid this way, then the soonest needed."""
    rows = session.exec(select(AidRequest).where(
        AidRequest.status.in_([Status.approved.value, Status.partially_paid.value]))).all()
    found = []
    for req in rows:
        left = req.approved_amount - req.paid_amount
        if left >= amount and req.member_id != actor.id:
            found.append((left - amount, req.payout_method != _METHOD[fmt], req.needed_by,
                          req.code, left, req.category))
    found.sort()
    return [{"code": code, "outstanding": str(left), "category": category}
            for _d, _m, _n, code, left, category in found[:5]]


def imported_codes(source: str, keys: list[str]) -> dict[str, str]:
    """The books' carebooks-id for each line key already imported from `source`."""
    with session_scope() as session:
        return _known(session, source, keys, "carebooks_id")
