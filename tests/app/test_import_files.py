"""The importers on their own (no fund, no database): amounts and dates as exports write
them, the consent column, files of the wrong kind, saved bank mappings, and beangulp's own
command line over each sample."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from app.imports import (FormatRefused, Mapping, MappingInvalid, PayPalImporter, importer)
from app.imports.lines import CellError, parse_consent, parse_money
from tests.app.import_helpers import DATA, mapping_spec, sample

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("raw, decimal, want", [
    ("1,234.56", ".", "1234.56"), ("$1,234.56", ".", "1234.56"), ("- $20.00", ".", "-20.00"),
    ("+ $25.00", ".", "25.00"), ("(20.00)", ".", "-20.00"), ("-40", ".", "-40.00"),
    ("1.234,56", ",", "1234.56"), ("-75,00", ",", "-75.00"), ("1 250,00", ",", "1250.00"),
    ("12.5", ".", "12.50"), ("0.00", ".", "0.00"), ("€ 9,99", ",", "9.99"),
])
def test_amounts_as_exports_write_them(raw, decimal, want):
    assert parse_money(raw, "Gross", decimal=decimal) == Decimal(want)


@pytest.mark.parametrize("raw, decimal, rule", [
    ("1.234,56", ".", "is not an amount like 1,234.56"),
    ("1,234.56", ",", "is not an amount like 1.234,56"),
    ("12.345", ".", "more than 2 decimals"), ("5O.00", ".", "is not an amount"),
    ("", ".", "empty"), ("--5", ".", "is not an amount"), ("1e3", ".", "is not an amount"),
    ("NaN", ".", "is not an amount"), ("12,34.5", ".", "is not an amount"),
])
def test_a_bad_amount_names_the_column_and_the_rule(raw, decimal, rule):
    with pytest.raises(CellError) as refused:
        parse_money(raw, "Gross", decimal=decimal)
    assert refused.value.message.startswith("Gross: ") and rule in refused.value.message


def test_consent_is_yes_or_no():
    assert [parse_consent(v, "c") for v in ("yes", "Y", "TRUE", "1", "sí")] == [True] * 5
    assert [parse_consent(v, "c") for v in ("no", "", None, "false", "0")] == [False] * 5
    with pytest.raises(CellError, match="c: 'maybe' is not yes or no"):
        parse_consent("maybe", "c")


def test_a_name_is_kept_only_with_consent():
    lines = PayPalImporter().parse(sample("paypal.csv")).lines
    named = {line.row: line.name for line in lines if line.name}
    assert named == {3: "Marisol Ejemplo"}


@pytest.mark.parametrize("data, message", [
    (b"", "file: empty"), (b"\xff\xfe\x00a", "NUL"), (b"\xe9t\xe9,x\n", "not UTF-8"),
    (b"a,b,c\n1,2,3\n", "this is not a PayPal activity CSV"),
])
def test_what_is_not_a_paypal_csv_is_refused(data, message):
    with pytest.raises(FormatRefused, match=message):
        PayPalImporter().parse(data)


def test_a_bank_mapping_is_checked():
    assert Mapping.from_dict(mapping_spec()).decimal == ","
    for spec, message in [({"amount": "A"}, "date: required"),
                          ({"date": "D", "amount": "A", "decimal": ";"}, "decimal"),
                          ({"date": "D", "amount": "A", "date_format": "%H:%M"}, "date_format"),
                          ({"date": "D", "amount": "A", "colour": "x"}, "unknown field")]:
        with pytest.raises(MappingInvalid, match=message):
            Mapping.from_dict(spec)


def test_identify_tells_the_formats_apart():
    imps = [importer(f, mapping=Mapping.from_dict(mapping_spec()) if f == "bank" else None)
            for f in ("paypal", "venmo", "stripe", "bank")]
    for fmt in ("paypal", "venmo", "stripe", "bank"):
        found = [i.fmt for i in imps if i.identify(str(DATA / f"{fmt}.csv"))]
        assert found == [fmt]


def _beangulp(*args: str, **env):
    return subprocess.run([sys.executable, "-m", "app.imports", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", **env})


@pytest.mark.parametrize("fmt, count, named", [("paypal", 5, "Marisol Ejemplo"),
                                               ("venmo", 4, "Dana Madeup"),
                                               ("stripe", 6, "Ada Invented"),
                                               ("bank", 5, "Noor Example")])
def test_beangulp_extracts_each_sample(fmt, count, named):
    env = {"CAREBOOKS_BANK_MAPPING": str(DATA / "bank-mapping.json")}
    found = _beangulp("identify", str(DATA / f"{fmt}.csv"), **env)
    assert found.returncode == 0 and f"carebooks.{fmt}" in found.stdout + found.stderr
    out = _beangulp("extract", str(DATA / f"{fmt}.csv"), **env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count('* "Donation" "Individual"') == count
    assert f'donor: "{named}"' in out.stdout
    from beancount.parser import parser
    entries, errors, _ = parser.parse_string(out.stdout)
    assert not errors and len(entries) == count


def test_beangulp_refuses_a_malformed_file_naming_its_rows():
    out = _beangulp("extract", str(DATA / "paypal-malformed.csv"))
    assert out.returncode != 0
    assert "row 3: Gross" in out.stderr and "row 5: Date" in out.stderr
    assert '"Donation"' not in out.stdout


def test_the_importers_import_no_web_or_database_code():
    import ast

    banned = ("flask", "sqlmodel", "sqlalchemy", "app.workflow", "app.models", "app.db",
              "app.web", "app.fund")
    for path in sorted((ROOT / "app" / "imports").glob("*.py")):
        tree = ast.parse(path.read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        bad = [m for m in names if m.split(".")[0] in banned or m.startswith(banned)]
        assert not bad, f"{path.name} imports {bad}"
