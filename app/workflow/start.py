"""Where a fund's books begin: a new fund started from a day in its history with what each
cash account held then, and an existing fund's start moved earlier while nothing is sealed.

Opening balances are entries against `Equity:Opening-Balances` dated the start
(docs/ledger-format.md); the months from the start on take imported history and are
sealed in order, oldest first. The CLI's `init` and `move-start` and the admin's
first-run page call these.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from app.models import Person, Role
from app.workflow import audit, inputs
from app.workflow.errors import Forbidden, InvalidInput
from ledger import FundSettings, LedgerError, entries as E, init_books
from ledger.books import MAIN
from ledger.money import to_amount


def parse_openings(items, cash_accounts, currency: str) -> dict[str, Decimal]:
    """`ACCOUNT=AMOUNT` strings (or a mapping) as {cash account: amount}; an account may be
    named in full (`Assets:Fund:Bank`) or by its leaf (`bank`). Zero amounts are dropped."""
    pairs = items.items() if isinstance(items, dict) else []
    if not isinstance(items, dict):
        pairs = []
        for item in items or ():
            account, sep, amount = str(item).partition("=")
            if not sep:
                raise InvalidInput(_("opening: %(item)s — write ACCOUNT=AMOUNT, e.g. "
                                     "Assets:Fund:Bank=1200.00", item=item), field="opening")
            pairs.append((account, amount))
    by_leaf = {a.rsplit(":", 1)[-1].lower(): a for a in cash_accounts}
    out: dict[str, Decimal] = {}
    for account, amount in pairs:
        account = str(account).strip()
        name = account if account in cash_accounts else by_leaf.get(account.lower())
        if name is None:
            raise InvalidInput(_("opening: %(account)s is not one of the fund's cash accounts "
                                 "(%(accounts)s)", account=account,
                                 accounts=", ".join(cash_accounts)), field="opening")
        if name in out:
            raise InvalidInput(_("opening: %(account)s is given twice", account=name),
                               field="opening")
        value = inputs.amount(str(amount).strip(), currency, f"opening {name}",
                              allow_zero=True)
        if value:
            out[name] = value
    return out


def _start_day(raw, today: dt.date) -> dt.date:
    start = inputs.date(raw, "start", default=today.replace(day=1))
    if start > today:
        raise InvalidInput(_("start: %(date)s is in the future; the books begin on a day "
                             "that has happened", date=start.isoformat()), field="start")
    return start


def create_fund(name: str, currency: str, *, start=None, openings=(),
                today: dt.date | None = None) -> dict:
    """Create the database schema and the books of a new fund beginning on `start`
    (default: the first of this month), with its opening balances. Everything is checked
    before anything is created: a refusal leaves no database and no books behind."""
    from app.migrate import upgrade

    today = today or dt.date.today()
    try:
        settings = FundSettings(name, currency)
    except LedgerError as exc:
        raise InvalidInput(exc.message, field=getattr(exc, "field", None) or "name") from None
    day = _start_day(start, today)
    amounts = parse_openings(openings, settings.cash_accounts, settings.currency)
    entries = [E.opening_balance(a, day, n, settings.currency) for a, n in amounts.items()]
    books_dir = Path(current_app.config["BOOKS_DIR"])
    if (books_dir / MAIN).exists():
        raise InvalidInput(_("books already exist in %(dir)s", dir=str(books_dir)),
                           field="name")
    upgrade(current_app.config["DATABASE_URL"])
    books = init_books(books_dir, settings, day)
    for entry in entries:  # a new fund: nothing in the database refers to these yet
        books.post(entry)
    from app.fund import forget_books
    forget_books()
    return {"name": settings.name, "currency": settings.currency, "start": day.isoformat(),
            "openings": {a: str(n) for a, n in amounts.items()}}


def is_created() -> bool:
    """True once the current instance holds a fund's books."""
    return (Path(current_app.config["BOOKS_DIR"]) / MAIN).exists()


def move_start(actor: Person, start, openings=(), *, today: dt.date | None = None) -> dict:
    """Move an existing fund's start earlier, while no month is sealed: every account opens
    on `start`, and each opening balance given is entered on it (through the outbox, like
    any money step). An account that already has an opening balance refuses: that balance
    says what it held on a later day, and the history in between would count twice."""
    from app.fund import books
    from app.workflow.outbox import books_turn, check_entry, enqueue, money_step

    if not (actor.has(Role.admin) or actor.has(Role.treasurer)):
        raise Forbidden(_("only an admin or a treasurer may move the fund's start"))
    today = today or dt.date.today()
    day = _start_day(start, today)
    state = books().state
    if state.seals:
        raise InvalidInput(_("start: the books are sealed through %(month)s; a fund's start "
                             "can move only while no month is sealed",
                             month=state.sealed_through), field="start")
    cur = books().currency
    amounts = parse_openings(openings, state.cash_accounts(), cur)
    had = sorted(a for a in amounts if books().entry(f"opening:{a}") is not None)
    if had:
        raise InvalidInput(_("opening: %(accounts)s already has an opening balance; a fund's "
                             "start can move earlier only for accounts without one",
                             accounts=", ".join(had)), field="opening")
    entries = [E.opening_balance(a, day, to_amount(n, cur), cur) for a, n in amounts.items()]
    with money_step() as session:
        books_turn(session)
        try:
            moved = books().move_start(day)
        except LedgerError as exc:
            raise InvalidInput(exc.message, field="start") from None
        for entry in entries:
            enqueue(session, entry)
        audit.record(session, actor.id, "fund.start_moved", "books", start=day.isoformat(),
                     accounts=str(len(moved)), openings=",".join(sorted(amounts)))
        for entry in entries:
            check_entry(entry)
    return {"start": day.isoformat(), "accounts_moved": len(moved),
            "openings": {a: str(n) for a, n in amounts.items()}}
