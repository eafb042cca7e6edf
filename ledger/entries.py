"""Build the entries the app writes, from typed values only.

Narrations are fixed words plus the category; the only caller text that may reach the
books is a donor's consented display name, checked by `safe_display_name`. Every entry
carries its request or donation code as a link, a `carebooks-id` that makes posting it
twice a no-op, and a random `carebooks-salt`, its leaf salt in the month's Merkle root
(`ledger/merkle.py`).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal

from beancount.core import amount as bc_amount
from beancount.core import data

from ledger import accounts as acc
from ledger.errors import InvalidReference, InvalidText
from ledger.merkle import SALT_KEY, new_salt
from ledger.money import to_amount
from ledger.text import CashAccount, Category, has_visible_letter, invisible

ID_KEY = "carebooks-id"
DONOR_KEY = "donor"
ANONYMOUS = "Anonymous"
REQUEST_CODE = re.compile(r"R-\d{4}-\d{4,6}")
DONATION_CODE = re.compile(r"D-\d{4}-\d{4,6}")
TRANSFER_CODE = re.compile(r"T-\d{4}-\d{4,6}")
COST_CODE = re.compile(r"C-\d{4}-\d{4,6}")
DISPLAY_NAME_MAX = 60


def _meta(carebooks_id: str, **extra: str) -> dict:
    meta = data.new_metadata("<carebooks>", 0)
    meta[ID_KEY] = carebooks_id
    meta.update(extra)
    meta[SALT_KEY] = new_salt()   # the entry's Merkle leaf salt (ledger/merkle.py)
    return meta


def _posting(account: str, number: Decimal, currency: str) -> data.Posting:
    return data.Posting(account, bc_amount.Amount(number, currency), None, None, None, None)


def _check_code(code: str, pattern: re.Pattern, field: str) -> str:
    if not isinstance(code, str) or not pattern.fullmatch(code):
        example = {REQUEST_CODE: "R-2026-0042", DONATION_CODE: "D-2026-0107",
                   COST_CODE: "C-2026-0005"}.get(
            pattern, "T-2026-0003")
        raise InvalidReference(field, f"{field}: {code!r} is not a code like {example}")
    return code


def _check_category(category: str, field: str = "category") -> str:
    return str(Category(category, field))


def _check_cash(account: str) -> str:
    return str(CashAccount(account, "account"))


def _check_date(date: dt.date) -> dt.date:
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise InvalidReference("date", f"date: {date!r} is not a calendar date")
    return date


def _check_seq(seq: int) -> int:
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= 9999:
        raise InvalidReference("seq", f"seq: {seq!r} must be a whole number from 1 to 9999")
    return seq


def _label(category: str) -> str:
    return category.replace("-", " ").capitalize()


def _transaction(meta: dict, date: dt.date, payee: str, narration: str, link: str,
                 postings: list[data.Posting]) -> data.Transaction:
    return data.Transaction(meta, date, "*", payee, narration, data.EMPTY_SET,
                            frozenset({link}), postings)


def approval(code: str, seq: int, date: dt.date, category: str, amount: Decimal,
             currency: str) -> data.Transaction:
    """Aid approved: accrue the expense against `Liabilities:Aid:Approved`."""
    code = _check_code(code, REQUEST_CODE, "code")
    n = to_amount(amount, currency)
    category = _check_category(category)
    return _transaction(_meta(f"approve:{code}:{_check_seq(seq)}"), _check_date(date),
                        "Aid approved", _label(category), code,
                        [_posting(acc.aid_account(category), n, currency),
                         _posting(acc.APPROVED, -n, currency)])


def payment(code: str, seq: int, date: dt.date, category: str, method: str, account: str,
            amount: Decimal, currency: str) -> data.Transaction:
    """Aid paid: settle part or all of an approval from a cash account."""
    code = _check_code(code, REQUEST_CODE, "code")
    n = to_amount(amount, currency)
    category = _check_category(category)
    if method not in acc.PAYOUT_METHODS:
        raise InvalidReference("payout_method", f"payout_method: {method!r} is not one of "
                               f"{', '.join(acc.PAYOUT_METHODS)}")
    return _transaction(_meta(f"pay:{code}:{_check_seq(seq)}"), _check_date(date),
                        "Aid paid", f"{_label(category)}, {acc.PAYOUT_METHODS[method]}", code,
                        [_posting(acc.APPROVED, n, currency),
                         _posting(_check_cash(account), -n, currency)])


def cancellation(code: str, seq: int, date: dt.date, category: str, amount: Decimal,
                 currency: str) -> data.Transaction:
    """Approval cancelled: reverse the unpaid part of an approval."""
    code = _check_code(code, REQUEST_CODE, "code")
    n = to_amount(amount, currency)
    category = _check_category(category)
    return _transaction(_meta(f"cancel:{code}:{_check_seq(seq)}"), _check_date(date),
                        "Approval cancelled", _label(category), code,
                        [_posting(acc.APPROVED, n, currency),
                         _posting(acc.aid_account(category), -n, currency)])


def donation(code: str, date: dt.date, category: str, account: str, amount: Decimal,
             currency: str, *, fee: Decimal | None = None,
             donor_name: str | None = None) -> data.Transaction:
    """A donation of `amount` (gross) into `account`, less an optional processor fee.

    `donor_name` is written only when given, which the caller does only with the
    donor's recorded consent; otherwise the books say "Anonymous".
    """
    code = _check_code(code, DONATION_CODE, "code")
    gross = to_amount(amount, currency)
    fee_n = to_amount(fee, currency, field="fee", allow_zero=True) if fee is not None else None
    if fee_n is not None and fee_n >= gross:
        raise InvalidReference("fee", f"fee: {fee_n} must be less than the amount {gross}")
    category = _check_category(category)
    donor = safe_display_name(donor_name) if donor_name else ANONYMOUS
    postings = [_posting(_check_cash(account), gross - (fee_n or 0), currency)]
    if fee_n:
        postings.append(_posting(acc.FEES, fee_n, currency))
    postings.append(_posting(acc.donation_account(category), -gross, currency))
    return _transaction(_meta(f"donation:{code}", **{DONOR_KEY: donor}), _check_date(date),
                        "Donation", _label(category), code, postings)


def donation_refund(code: str, seq: int, date: dt.date, category: str, account: str,
                    amount: Decimal, currency: str, *,
                    fee_returned: Decimal | None = None) -> data.Transaction:
    """Part or all of a donation given back from a cash account; `fee_returned` is the part
    of the processor's fee it gave back with it (PayPal does), so less leaves the account."""
    code = _check_code(code, DONATION_CODE, "code")
    n = to_amount(amount, currency)
    back = to_amount(fee_returned, currency, field="fee", allow_zero=True) \
        if fee_returned is not None else None
    if back is not None and back >= n:
        raise InvalidReference("fee", f"fee: {back} returned must be less than the refund {n}")
    category = _check_category(category)
    postings = [_posting(acc.donation_account(category), n, currency)]
    if back:
        postings.append(_posting(acc.FEES, -back, currency))
    postings.append(_posting(_check_cash(account), -(n - (back or 0)), currency))
    return _transaction(_meta(f"refund:{code}:{_check_seq(seq)}"), _check_date(date),
                        "Donation refunded", _label(category), code, postings)


def transfer(code: str, date: dt.date, from_account: str, to_account: str, amount: Decimal,
             currency: str, *, fee: Decimal | None = None) -> data.Transaction:
    """Money moved between two of the fund's cash accounts (e.g. PayPal to the bank).

    `amount` is what left `from_account`; `fee`, if any, is the part of it that did not
    arrive (a processor's or bank's charge), booked to `Expenses:Operations:Fees`.
    """
    code = _check_code(code, TRANSFER_CODE, "code")
    n = to_amount(amount, currency)
    fee_n = to_amount(fee, currency, field="fee", allow_zero=True) if fee is not None else None
    if fee_n is not None and fee_n >= n:
        raise InvalidReference("fee", f"fee: {fee_n} must be less than the amount {n}")
    source, target = _check_cash(from_account), _check_cash(to_account)
    if source == target:
        raise InvalidReference("to_account", "to_account: must differ from from_account")
    postings = [_posting(target, n - (fee_n or 0), currency)]
    if fee_n:
        postings.append(_posting(acc.FEES, fee_n, currency))
    postings.append(_posting(source, -n, currency))
    return _transaction(_meta(f"transfer:{code}"), _check_date(date), "Transfer",
                        f"{source.rsplit(':', 1)[-1]} to {target.rsplit(':', 1)[-1]}", code,
                        postings)


def operating_cost(code: str, date: dt.date, kind: str, account: str, amount: Decimal,
                   currency: str) -> data.Transaction:
    """A running cost of the fund (a bank fee, a phone bill) paid from a cash account and
    booked to `Expenses:Operations:<Kind>`."""
    code = _check_code(code, COST_CODE, "code")
    n = to_amount(amount, currency)
    kind = _check_category(kind, "kind")
    return _transaction(_meta(f"cost:{code}"), _check_date(date), "Operating cost",
                        _label(kind), code,
                        [_posting(acc.operations_account(kind), n, currency),
                         _posting(_check_cash(account), -n, currency)])


def payment_returned(code: str, seq: int, date: dt.date, category: str, account: str,
                     amount: Decimal, currency: str) -> data.Transaction:
    """An aid payment that came back (it bounced, or the member returned it): the money is
    in the cash account again and owed to the request again, until it is paid anew or the
    approval is cancelled. Aid paid is reported net of these."""
    code = _check_code(code, REQUEST_CODE, "code")
    n = to_amount(amount, currency)
    category = _check_category(category)
    return _transaction(_meta(f"return:{code}:{_check_seq(seq)}"), _check_date(date),
                        "Aid payment returned", _label(category), code,
                        [_posting(_check_cash(account), n, currency),
                         _posting(acc.APPROVED, -n, currency)])


def opening_balance(account: str, date: dt.date, amount: Decimal,
                    currency: str) -> data.Transaction:
    """What a cash account held when these books began."""
    account = _check_cash(account)
    n = to_amount(amount, currency)
    leaf = account.rsplit(":", 1)[-1]
    return data.Transaction(_meta(f"opening:{account}"), _check_date(date), "*",
                            "Opening balance", leaf, data.EMPTY_SET, data.EMPTY_SET,
                            [_posting(account, n, currency), _posting(acc.OPENING, -n, currency)])


# Characters a display name may hold: letters and combining marks of any script, digits,
# spaces, and . , ' - &. Nothing that can close a string, start a line, or reorder text.
_NAME_PUNCT = set(".,'-&")


def safe_display_name(name: str) -> str:
    """Return `name` (NFC, trimmed) if it is safe for the books, else raise InvalidText.

    A name must hold a letter that draws something once NFKC-normalised: fillers and
    joiners (U+3164, U+115F, U+034F) are letters or marks to Unicode, blanks to a reader.
    """
    if not isinstance(name, str):
        raise InvalidText("donor_name", "donor_name: must be text")
    clean = unicodedata.normalize("NFC", name).strip()
    if not clean:
        raise InvalidText("donor_name", "donor_name: empty; leave it out for Anonymous")
    if len(clean) > DISPLAY_NAME_MAX:
        raise InvalidText("donor_name", f"donor_name: {len(clean)} characters; "
                          f"at most {DISPLAY_NAME_MAX}")
    for ch in clean:
        cat = unicodedata.category(ch)
        if ch == " " or ch in _NAME_PUNCT:
            continue
        if cat[0] not in ("L", "M", "N") or cat == "Zs" or invisible(ch):
            raise InvalidText("donor_name", f"donor_name: character U+{ord(ch):04X} is not "
                              "allowed; use letters, digits, spaces and . , ' - &")
    if "  " in clean:
        raise InvalidText("donor_name", "donor_name: no double spaces")
    if not has_visible_letter(clean):
        raise InvalidText("donor_name", "donor_name: must contain a visible letter")
    return clean


def without_salt(entry: data.Directive) -> data.Directive:
    """`entry` without its salt: what two posts of the same entry must agree on."""
    if not entry.meta or SALT_KEY not in entry.meta:
        return entry
    return entry._replace(meta={k: v for k, v in entry.meta.items() if k != SALT_KEY})


def carebooks_id(entry: data.Directive) -> str | None:
    """The idempotency key of an entry the app wrote, if any."""
    return entry.meta.get(ID_KEY) if entry.meta else None
