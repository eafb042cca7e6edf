"""Every name has one home: a month's spelling, the payout methods and the languages are
written once, and everything else is built from that home (docs/architecture.md)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "ledger", "reports")


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def _outside(home: str, pattern: re.Pattern) -> list[str]:
    return [f"{rel}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
            for rel, text in _sources() if rel != home for m in pattern.finditer(text)]


def test_a_month_is_spelled_only_in_ledger_months():
    """A month regex, month arithmetic on the text or a month file's path built by hand."""
    spelled = re.compile(r"\\d\{4\}-(\\d\{2\}(?!-)|\(0)"     # a month regex (not a date's)
                         r"|\[5:7?\]\)"                      # its number sliced out
                         r"|\[:4\]\}/\{"                     # its file path by hand
                         r"|\+ \"-01\""                       # its first day by hand
                         r"|% 12 \+ 1")                       # next month by hand
    assert _outside("ledger/months.py", spelled) == []


def test_payout_methods_import_formats_and_languages_are_listed_only_in_their_homes():
    """A second list of the names drifts from the first: the form or schema built from
    a copy misses the name added to the home."""
    payouts = re.compile(r"""["']bank["'],\s*["']cash["']""")
    formats = re.compile(r"""["']paypal["'],\s*["']venmo["'],\s*["']stripe["']""")
    languages = re.compile(r"""["']en["'],\s*["']es["']|["']es["'],\s*["']en["']""")
    assert _outside("ledger/accounts.py", payouts) == []
    assert _outside("app/imports/__init__.py", formats) == []
    assert _outside("reports/languages.py", languages) == []


def test_a_ledger_rule_becomes_an_error_code_in_one_place():
    """`LedgerError.code` is the one vocabulary; a caller turning `rule` into a code again
    could drift from it."""
    assert _outside("ledger/errors.py", re.compile(r"\.rule\.replace\(")) == []
    from ledger.errors import MonthSealed, SealOutOfOrder

    assert (MonthSealed("m").code, SealOutOfOrder("s").code) == ("month_sealed", "seal_order")


def test_category_names_are_written_only_in_reports_categories(tmp_path):
    """The app and the reports once named the categories each their own way ("Individual"
    on the donations page, "Individuals" in the PDF; "Individual" and "Personas" in
    Spanish): both now read reports/categories.py, and both catalogs extract it."""
    named = re.compile(r"""\b(?:_l|N_|_)\(["'](?:Rent|Utilities|Individuals?|Grants?)["']\)""")
    assert _outside("reports/categories.py", named) == []
    from flask_babel import force_locale

    from app import create_app
    from app.web.forms import category_label
    from reports.render import Formats

    app = create_app(instance=tmp_path / "instance",
                     test_config={"TESTING": True, "DATABASE_URL": "sqlite://"})
    for lang in ("en", "es"):
        with app.test_request_context(), force_locale(lang):
            page = [category_label(c) for c in ("rent", "individual", "grant", "event")]
        pdf = [Formats(lang, "USD").category(c) for c in ("rent", "individual", "grant", "event")]
        assert page == pdf, (lang, page, pdf)
    assert page == ["Alquiler", "Personas", "Subvenciones", "Eventos"]
