"""Arrows point down only (docs/design.md §2): ledger/ never imports the web app or reports.

The imports are read with `ast` (every `import` and `from ... import`, also inside
functions and `TYPE_CHECKING` blocks), so a late import cannot slip past.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LEDGER = Path(__file__).resolve().parents[2] / "ledger"
FORBIDDEN = {"flask", "sqlmodel", "sqlalchemy", "app", "reports"}


def forbidden_imports(source: str, filename: str = "<src>") -> list[str]:
    """`module (line n)` for each import of a forbidden top-level package in `source`."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"{name} (line {node.lineno})" for name in names
                  if name.split(".")[0] in FORBIDDEN]
    return found


@pytest.mark.parametrize("source, expected", [
    ("import flask\n", ["flask (line 1)"]),
    ("from sqlmodel import Session\n", ["sqlmodel (line 1)"]),
    ("def f():\n    from app.models import Request\n", ["app.models (line 2)"]),
    ("import os, sqlalchemy.orm as orm\n", ["sqlalchemy.orm (line 1)"]),
    ("if TYPE_CHECKING:\n    import reports.figures\n", ["reports.figures (line 2)"]),
    ("from . import app\nimport application\nfrom ledger import books\n", []),
])
def test_the_checker_finds_forbidden_imports(source, expected):
    assert forbidden_imports(source) == expected


def test_ledger_imports_no_web_database_app_or_reports_code():
    files = sorted(LEDGER.glob("*.py"))
    assert LEDGER / "books.py" in files
    bad = {f.name: hits for f in files
           if (hits := forbidden_imports(f.read_text(encoding="utf-8"), str(f)))}
    assert bad == {}


def test_importing_ledger_loads_none_of_them():
    """Also transitively: a fresh interpreter that imports ledger has none in sys.modules."""
    import subprocess
    import sys

    code = ("import sys, ledger, ledger.books, ledger.load\n"
            f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r})\n"
            "print(','.join(bad))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=LEDGER.parent, check=True)
    assert done.stdout.strip() == ""
