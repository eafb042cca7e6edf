"""A donor's display name is the only caller text that reaches the books; it must not
be able to forge, hide or reorder anything.

Each hostile name is either refused with InvalidText naming `donor_name` (and nothing is
written), or written so that the books parse to exactly one more entry whose `donor`
reads back as the name. Real names in any script are accepted and round-trip.
"""

from __future__ import annotations

import datetime as dt
import itertools
import unicodedata
from decimal import Decimal

import pytest
from beancount.core import data
from beancount.parser import parser, printer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger import Books, entries
from ledger.errors import InvalidText
from ledger_helpers import full_view, tree_hashes

JAN = dt.date(2026, 1, 15)
FORGED = '\n2026-01-01 * "x"\n  Assets:Fund:Bank 1 USD'

HOSTILE = {
    "double-quote": 'Bob "Bobby" Tables',
    "closing-quote": 'Ann" ^D-2026-9999',
    "backslash": "Ann\\",
    "escaped-quote": 'Ann\\" 2026',
    "forged-transaction": FORGED,
    "forged-after-name": "Ann" + FORGED,
    "crlf": "Ann\r\n2026-01-01 open Assets:Fund:Evil",
    "nul": "Ann\x00Lee",
    "10kB": "A" * 10_000,
    "10kB-of-lines": "a\n" * 5_000,
    "rtl-override": "\u202eeeL nnA",
    "zero-width-joiner": "Ann\u200dLee",
    "zero-width-space": "Ann\u200bLee",
    "bom": "\ufeffAnn",
    "emoji": "Ann 😀",
    "family-emoji": "👨\u200d👩\u200d👧",
    "semicolon-comment": "Ann ; 2026",
    "tab-inside": "Ann\tLee",
    "line-separator": "Ann\u2028Lee",
    "nbsp": "Ann\u00a0Lee",
    "double-space": "Ann  Lee",
    "only-spaces": "   ",
    "not-text": 42,
}

REAL_NAMES = ["María José", "Nguyễn Văn A", "محمد", "O'Brien & Sons, Ltd.", "李小龙",
              "Zoë Ōsaka-Kōbe", "Дмитрий Шостакович", "שרה לוי", "Ἀθηνᾶ", "Ngũgĩ wa Thiong'o",
              "Anne-Marie St. Clair", "Jr. 3rd", "x" * 60]

_codes = itertools.count(1)


def next_code() -> str:
    return f"D-2026-{next(_codes):05d}"


def donation(name, code=None):
    return entries.donation(code or next_code(), JAN, "individual", "Assets:Fund:Bank",
                            Decimal("10.00"), "USD", donor_name=name)


def month_entries(books) -> list:
    parsed, errors, _ = parser.parse_file(str(books.dir / "2026" / "2026-01.beancount"))
    assert not errors
    return parsed


def check_name(books, name) -> str | None:
    """Post a donation from `name`; return the donor as written, or None if refused."""
    before_files, before = tree_hashes(books.dir), month_entries(books)
    try:
        entry = donation(name)
    except InvalidText as err:
        assert err.field == "donor_name" and err.message.startswith("donor_name: ")
        assert tree_hashes(books.dir) == before_files
        return None
    posted = books.post(entry)
    after = month_entries(books)
    assert len(after) == len(before) + 1
    assert not any(isinstance(e, data.Transaction) and e.narration == "x" for e in after)
    written = after[-1]
    assert written.meta["carebooks-id"] == posted.id
    assert written.meta["donor"] == entry.meta["donor"]
    assert books.entry(posted.id).meta["donor"] == entry.meta["donor"]
    assert [(p.account, p.units) for p in written.postings] == \
        [(p.account, p.units) for p in entry.postings]
    return written.meta["donor"]


@pytest.mark.parametrize("name", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_names_are_refused_or_harmless(books, name):
    donor = check_name(books, name)
    if donor is not None:  # accepted: then it is plain letters, digits, spaces, . , ' - &
        assert all(unicodedata.category(c)[0] in "LMN" or c in " .,'-&" for c in donor)
    view = full_view(books.main)
    assert view.transactions == 1 + (donor is not None)
    assert view.cash == Decimal("1000.00") + (Decimal("10.00") if donor else 0)


@pytest.mark.parametrize("name", ["\u202eevil", FORGED, "A" * 10_000, "Ann\x00", 'a"b',
                                  "Ann\u200dLee", "Ann 😀"])
def test_dangerous_names_are_refused_with_invalid_text(books, name):
    assert check_name(books, name) is None


@pytest.mark.parametrize("name", REAL_NAMES)
def test_real_names_in_any_script_round_trip(books, name):
    assert check_name(books, name) == name
    reopened = Books.open(books.dir)
    donors = [reopened.entry(cid).meta["donor"] for cid in reopened.state.ids
              if cid.startswith("donation:")]
    assert donors == [name]


def test_names_are_stored_in_nfc_and_trimmed(books):
    decomposed = unicodedata.normalize("NFD", "Nguyễn Văn A")
    assert decomposed != "Nguyễn Văn A"
    assert check_name(books, "  " + decomposed + " ") == "Nguyễn Văn A"
    assert check_name(books, None) == "Anonymous"
    assert check_name(books, "") == "Anonymous"


NASTY_ALPHABET = st.sampled_from(list('"\\\n\r\t\x00 ;^#*!:-.,\'&aZé0\u202e\u200d\u0301'
                                      '\u2028\ufeff😀{}()@'))
NAME_LIKE = st.text(st.one_of(st.characters(categories=["L", "M", "N"]),
                              st.sampled_from(list(" .,'-&"))), min_size=1, max_size=70)
NAMES = st.one_of(st.text(), st.text(NASTY_ALPHABET, max_size=30), NAME_LIKE,
                  st.text(max_size=80).map(lambda t: t + FORGED))


@settings(max_examples=400, deadline=None)
@given(name=NAMES)
def test_any_text_either_refused_or_one_entry_that_reads_back(name):
    try:
        entry = donation(name, code="D-2026-0001")
    except InvalidText as err:
        assert err.field == "donor_name"
        event("refused")
        return
    event("accepted")
    text = printer.format_entry(entry)
    parsed, errors, options = parser.parse_string(text)
    assert not errors and not options["include"]
    assert len(parsed) == 1
    assert parsed[0].meta["donor"] == (unicodedata.normalize("NFC", name).strip() or "Anonymous")
    assert text.count("\n") == 6  # header, id, donor, salt, two postings, and nothing else


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES)
def test_any_text_posted_to_real_books(books, name):
    # One books folder for all examples on purpose: each example adds one donation with a
    # fresh code, and the entry count is checked after every one.
    event("accepted" if check_name(books, name) is not None else "refused")


@pytest.mark.parametrize("name", ["\u3164", "\u115f", "\u034f", "\u3164 \u3164", "A\u034f",
                                  "\u115f\u1160", "\uffa0", "\u2800", "Ann\ufe0f", "1 2 3",
                                  ". - &"])
def test_blank_or_invisible_names_are_refused(books, name):
    """Issue 16 item 8 (failed on 0983efd: U+3164, U+115F and U+034F were written and
    published as a donor's name): a name needs a visible letter after NFKC, and no filler
    or joiner anywhere."""
    assert check_name(books, name) is None
