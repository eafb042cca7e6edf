"""The entry builders: the exact text of docs/design.md §3, and refusals that name the field.

The books are a public contract, so the text each builder produces is compared in full
with the examples in docs/design.md §3.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from decimal import Decimal

import pytest
from beancount.parser import printer

from ledger import FundSettings, entries
from ledger.errors import EntryRefused, InvalidAmount, InvalidReference, InvalidText
from ledger_helpers import tree_hashes

NOV = dt.date(2026, 11, 3)

APPROVAL_TEXT = """\
2026-11-03 * "Aid approved" "Rent" ^R-2026-0042
  carebooks-id: "approve:R-2026-0042:1"
  Expenses:Aid:Rent          450.00 USD
  Liabilities:Aid:Approved  -450.00 USD
"""

PAYMENT_TEXT = """\
2026-11-05 * "Aid paid" "Rent, bank transfer" ^R-2026-0042
  carebooks-id: "pay:R-2026-0042:1"
  Liabilities:Aid:Approved   450.00 USD
  Assets:Fund:Bank          -450.00 USD
"""

# docs/design.md §3 shows the donation without its donor line; the builder adds
# `donor: "Anonymous"` (or the consented name) as the second metadata line.
DONATION_TEXT = """\
2026-11-02 * "Donation" "Individual" ^D-2026-0107
  carebooks-id: "donation:D-2026-0107"
  Assets:Fund:PayPal            48.25 USD
  Expenses:Operations:Fees       1.75 USD
  Income:Donations:Individual  -50.00 USD
"""


SALT_LINE = re.compile(r'^  carebooks-salt: "[0-9a-f]{32}"\n', re.M)


def text(entry) -> str:
    """The entry as the books hold it, less its random salt line (which must be there)."""
    full = printer.format_entry(entry)
    assert len(SALT_LINE.findall(full)) == 1, full
    return SALT_LINE.sub("", full)


def test_every_entry_gets_a_fresh_salt_as_its_last_metadata_line():
    first = entries.approval("R-2026-0042", 1, NOV, "rent", Decimal("450"), "USD")
    again = entries.approval("R-2026-0042", 1, NOV, "rent", Decimal("450"), "USD")
    assert list(first.meta)[-1] == "carebooks-salt"
    assert first.meta["carebooks-salt"] != again.meta["carebooks-salt"]


def test_approval_text_is_the_design_format():
    entry = entries.approval("R-2026-0042", 1, NOV, "rent", Decimal("450"), "USD")
    assert text(entry) == APPROVAL_TEXT


def test_payment_text_is_the_design_format():
    entry = entries.payment("R-2026-0042", 1, dt.date(2026, 11, 5), "rent", "bank",
                            "Assets:Fund:Bank", Decimal("450.00"), "USD")
    assert text(entry) == PAYMENT_TEXT


def test_donation_with_fee_text_is_the_design_format_plus_donor_line():
    entry = entries.donation("D-2026-0107", dt.date(2026, 11, 2), "individual",
                             "Assets:Fund:PayPal", Decimal("50.00"), "USD", fee=Decimal("1.75"))
    lines = text(entry).splitlines(keepends=True)
    assert lines[2] == '  donor: "Anonymous"\n'
    assert "".join(lines[:2] + lines[3:]) == DONATION_TEXT


def test_cancellation_and_refund_text():
    cancel = entries.cancellation("R-2026-0042", 2, NOV, "medical", Decimal("12.5"), "USD")
    assert text(cancel) == (
        '2026-11-03 * "Approval cancelled" "Medical" ^R-2026-0042\n'
        '  carebooks-id: "cancel:R-2026-0042:2"\n'
        "  Liabilities:Aid:Approved   12.50 USD\n"
        "  Expenses:Aid:Medical      -12.50 USD\n")
    refund = entries.donation_refund("D-2026-0107", 1, NOV, "grant", "Assets:Fund:Bank",
                                     Decimal("20"), "USD")
    assert text(refund) == (
        '2026-11-03 * "Donation refunded" "Grant" ^D-2026-0107\n'
        '  carebooks-id: "refund:D-2026-0107:1"\n'
        "  Income:Donations:Grant   20.00 USD\n"
        "  Assets:Fund:Bank        -20.00 USD\n")


def test_transfer_text():
    entry = entries.transfer("T-2026-0003", NOV, "Assets:Fund:Bank", "Assets:Fund:Cash",
                             Decimal("200"), "USD")
    assert text(entry) == (
        '2026-11-03 * "Transfer" "Bank to Cash" ^T-2026-0003\n'
        '  carebooks-id: "transfer:T-2026-0003"\n'
        "  Assets:Fund:Cash   200.00 USD\n"
        "  Assets:Fund:Bank  -200.00 USD\n")


@pytest.mark.parametrize("args, field", [
    (("T-2026-0003", NOV, "Assets:Fund:Bank", "Assets:Fund:Bank", Decimal(1), "USD"),
     "to_account"),
    (("R-2026-0003", NOV, "Assets:Fund:Bank", "Assets:Fund:Cash", Decimal(1), "USD"), "code"),
    (("T-2026-0003", NOV, "Expenses:Aid:Rent", "Assets:Fund:Cash", Decimal(1), "USD"),
     "account"),
])
def test_transfer_refusals(args, field):
    with pytest.raises(InvalidReference) as info:
        entries.transfer(*args)
    assert info.value.field == field


@pytest.mark.parametrize("method, words", [("bank", "bank transfer"), ("cash", "cash"),
                                           ("paypal", "PayPal"), ("venmo", "Venmo"),
                                           ("check", "check")])
def test_payment_narration_names_the_payout_method(method, words):
    entry = entries.payment("R-2026-0042", 1, NOV, "rent", method, "Assets:Fund:Cash",
                            Decimal("1"), "USD")
    assert entry.narration == f"Rent, {words}"


def test_donation_without_fee_has_two_postings_and_zero_fee_adds_none():
    for fee in (None, Decimal("0"), "0.00"):
        entry = entries.donation("D-2026-0107", NOV, "event", "Assets:Fund:Cash",
                                 Decimal("20"), "USD", fee=fee)
        assert [(p.account, p.units.number) for p in entry.postings] == [
            ("Assets:Fund:Cash", Decimal("20.00")), ("Income:Donations:Event", Decimal("-20.00"))]


def test_donor_name_appears_only_when_given():
    named = entries.donation("D-2026-0107", NOV, "individual", "Assets:Fund:Bank",
                             Decimal("5"), "USD", donor_name="Ada Lovelace")
    assert '  donor: "Ada Lovelace"\n' in text(named)
    assert "Anonymous" not in text(named)
    for nobody in (None, ""):
        anonymous = entries.donation("D-2026-0107", NOV, "individual", "Assets:Fund:Bank",
                                     Decimal("5"), "USD", donor_name=nobody)
        assert anonymous.meta["donor"] == "Anonymous"
        assert '  donor: "Anonymous"\n' in text(anonymous)


def test_amounts_are_quantized_to_the_minor_unit():
    assert entries.approval("R-2026-0042", 1, NOV, "rent", "150.1", "USD").postings[0] \
        .units.number.as_tuple().exponent == -2
    yen = entries.approval("R-2026-0042", 1, NOV, "rent", Decimal("1500"), "JPY")
    assert "1500 JPY" in text(yen) and "1500.00" not in text(yen)
    kwd = entries.approval("R-2026-0042", 1, NOV, "rent", "1.5", "KWD")
    assert "1.500 KWD" in text(kwd)


# --- refusals: each names the field it refuses -------------------------------------------


def approve(amount, **kw):
    """An approval with everything valid but what the test overrides."""
    args = dict(code="R-2026-0042", seq=1, date=NOV, category="rent", amount=amount,
                currency="USD")
    args.update(kw)
    return entries.approval(**args)


@pytest.mark.parametrize("amount, words", [
    (450.0, "float"),
    (0.1, "float"),
    (Decimal("0"), "more than zero"),
    ("0.00", "more than zero"),
    (Decimal("-0"), "more than zero"),
    (Decimal("-5.00"), "more than zero"),
    ("-0.01", "more than zero"),
    (Decimal("1.001"), "more than 2 decimals"),
    ("0.005", "more than 2 decimals"),
    ("abc", "not a number"),
    ("NaN", "not a finite number"),
    (Decimal("Infinity"), "not a finite number"),
    (None, "not a finite number"),
    (True, "not a finite number"),
])
def test_bad_amounts_raise_invalid_amount_naming_the_field(amount, words):
    with pytest.raises(InvalidAmount) as info:
        approve(amount)
    assert info.value.field == "amount"
    assert info.value.message.startswith("amount: ")
    assert words in info.value.message


def test_too_many_decimals_is_per_currency():
    with pytest.raises(InvalidAmount, match="more than 0 decimals, the minor unit of JPY"):
        approve(Decimal("10.5"), currency="JPY")
    with pytest.raises(InvalidAmount, match="more than 3 decimals"):
        approve(Decimal("1.0005"), currency="KWD")
    # trailing zeros are not extra precision
    assert approve(Decimal("10.000")).postings[0].units.number == Decimal("10.00")


@pytest.mark.parametrize("amount", ["1e30", Decimal("123456789012345678901234567.5")])
def test_huge_amount_is_refused_as_invalid_amount(amount):
    with pytest.raises(InvalidAmount) as info:
        approve(amount)
    assert info.value.field == "amount"


def test_bad_fees_name_the_fee_field():
    def donate(fee):
        return entries.donation("D-2026-0107", NOV, "individual", "Assets:Fund:PayPal",
                                Decimal("50"), "USD", fee=fee)

    for fee, cls in ((1.75, InvalidAmount), (Decimal("-1"), InvalidAmount),
                     (Decimal("0.001"), InvalidAmount), (Decimal("50"), InvalidReference),
                     (Decimal("60"), InvalidReference)):
        with pytest.raises(cls) as info:
            donate(fee)
        assert info.value.field == "fee"
        assert info.value.message.startswith("fee: ")


@pytest.mark.parametrize("build, field", [
    (lambda: approve(Decimal(1), code="R-42"), "code"),
    (lambda: approve(Decimal(1), code="D-2026-0042"), "code"),
    (lambda: approve(Decimal(1), code=42), "code"),
    (lambda: entries.donation("R-2026-0107", NOV, "individual", "Assets:Fund:Bank",
                              Decimal(1), "USD"), "code"),
    (lambda: approve(Decimal(1), category="Rent"), "category"),
    (lambda: approve(Decimal(1), category="rent food"), "category"),
    (lambda: approve(Decimal(1), category='rent"'), "category"),
    (lambda: approve(Decimal(1), category=""), "category"),
    (lambda: approve(Decimal(1), seq=0), "seq"),
    (lambda: approve(Decimal(1), seq=True), "seq"),
    (lambda: approve(Decimal(1), date="2026-11-03"), "date"),
    (lambda: approve(Decimal(1), date=dt.datetime(2026, 11, 3, 12)), "date"),
    (lambda: entries.payment("R-2026-0042", 1, NOV, "rent", "wire", "Assets:Fund:Bank",
                             Decimal(1), "USD"), "payout_method"),
    (lambda: entries.payment("R-2026-0042", 1, NOV, "rent", "Bank", "Assets:Fund:Bank",
                             Decimal(1), "USD"), "payout_method"),
    (lambda: entries.payment("R-2026-0042", 1, NOV, "rent", "bank", "Assets:Bank",
                             Decimal(1), "USD"), "account"),
    (lambda: entries.payment("R-2026-0042", 1, NOV, "rent", "bank", "Expenses:Aid:Rent",
                             Decimal(1), "USD"), "account"),
    (lambda: entries.donation("D-2026-0107", NOV, "individual", "bank", Decimal(1), "USD"),
     "account"),
    (lambda: entries.donation_refund("D-2026-0107", 1, NOV, "individual",
                                     "Assets:Fund:Bank 1 USD", Decimal(1), "USD"), "account"),
    (lambda: entries.opening_balance("Liabilities:Aid:Approved", NOV, Decimal(1), "USD"),
     "account"),
])
def test_bad_references_raise_invalid_reference_naming_the_field(build, field):
    with pytest.raises(InvalidReference) as info:
        build()
    assert info.value.field == field
    assert info.value.message.startswith(f"{field}: ")
    assert isinstance(info.value, EntryRefused)


def test_bad_donor_name_raises_invalid_text_naming_donor_name():
    with pytest.raises(InvalidText) as info:
        entries.donation("D-2026-0107", NOV, "individual", "Assets:Fund:Bank", Decimal(1),
                         "USD", donor_name='Bob" 1 USD')
    assert info.value.field == "donor_name"
    assert "U+0022" in info.value.message


@pytest.mark.parametrize("build, field", [
    (lambda: approve(Decimal(1), code="R-2026-0042\n"), "code"),
    (lambda: approve(Decimal(1), category="rent\n"), "category"),
    (lambda: entries.donation("D-2026-0107", NOV, "individual", "Assets:Fund:Bank\n",
                              Decimal(1), "USD"), "account"),
])
def test_trailing_newline_is_refused_by_the_builder(build, field):
    try:
        entry = build()
    except InvalidReference as err:
        assert err.field == field
    else:
        raise AssertionError(f"the builder accepted it: {entry.links} {entry.postings}")


def test_entry_with_trailing_newline_in_a_reference_is_refused(books):
    """Refused by the builder or, failing that, by `post`: either way nothing is written."""
    before = tree_hashes(books.dir)
    builds = [lambda: approve(Decimal(1), code="R-2026-0042\n", date=dt.date(2026, 1, 3)),
              lambda: approve(Decimal(1), category="rent\n", date=dt.date(2026, 1, 3)),
              lambda: entries.donation("D-2026-0107", dt.date(2026, 1, 3), "individual",
                                       "Assets:Fund:Bank\n", Decimal(1), "USD")]
    for build in builds:
        with pytest.raises(EntryRefused):
            books.post(build())
    assert tree_hashes(books.dir) == before


@pytest.mark.parametrize("kwargs, field", [
    ({"currency": "USD\n"}, "currency"),
    ({"cash_accounts": ("Assets:Fund:Bank\n",)}, "cash_accounts"),
    ({"aid_categories": ("rent\n",)}, "categories"),
])
def test_fund_settings_refuse_trailing_newline(kwargs, field):
    try:
        settings = FundSettings("Test Fund", **kwargs)
    except InvalidReference as err:
        assert err.field == field
    else:
        raise AssertionError(f"accepted: {settings}")


@pytest.mark.parametrize("kwargs, field", [
    ({"currency": "usd"}, "currency"),
    ({"currency": "DOLLAR"}, "currency"), ({"cash_accounts": ("Assets:Bank",)}, "cash_accounts"),
    ({"aid_categories": ("Rent",)}, "categories"),
    ({"donation_categories": ("bad cat",)}, "categories"),
])
def test_fund_settings_refusals_name_the_field(kwargs, field):
    """Names of accounts, categories and currencies are references the books check."""
    args = {"name": "Test Fund", **kwargs}
    with pytest.raises(InvalidReference) as info:
        FundSettings(**args)
    assert info.value.field == field


@pytest.mark.parametrize("name", ['Fund "A"', "  ", "x" * 81, "Fund\\", "Fund\n",
                                  "\n2020-01-01 price USD 2 EUR ;", "Fund\udcff", 42])
def test_fund_name_refusals_name_the_field(name):
    with pytest.raises(InvalidText) as info:
        FundSettings(name)
    assert info.value.field == "name"


def test_fund_settings_keep_the_checked_name(tmp_path):
    """Issue 16 item 1 (failed on 0983efd: the raw name, newline and all, was written)."""
    from ledger import init_books

    settings = FundSettings(" Fund\u0065\u0301 ")
    assert settings.name == "Fund\u00e9"
    init_books(tmp_path / "books", settings, dt.date(2026, 1, 1))
    assert 'option "title" "Fund\u00e9"\n' in (tmp_path / "books/main.beancount").read_text()
