"""The after-test books check (conftest.py) really rejects broken books.

Without this, a bean-check or Fava wrapper that silently returned no errors would let
every other test's books pass unexamined.
"""

from __future__ import annotations

import pytest

from ledger_helpers import bean_check_errors, fava_errors


def test_clean_books_pass_both_checks(books):
    assert bean_check_errors(books.main) == []
    assert fava_errors(books.main) == []


@pytest.mark.corrupts_books
@pytest.mark.parametrize("damage, words", [
    ('\n2026-01-02 * "x"\n  Assets:Fund:Nowhere  1.00 USD\n  Assets:Fund:Bank\n',
     "unknown account 'Assets:Fund:Nowhere'"),
    ('\n2026-01-02 * "x"\n  Assets:Fund:Cash  1.00 USD\n  Assets:Fund:Bank  -2.00 USD\n',
     "does not balance"),
    ('\n2026-01-02 * "x\n', "Invalid token"),
    ("\n2026-01-02 balance Assets:Fund:Bank  1.00 USD\n", "Balance failed"),
])
def test_broken_books_fail_both_checks(books, damage, words):
    month = books.dir / "2026" / "2026-01.beancount"
    with month.open("a") as fh:
        fh.write(damage)
    for errors in (bean_check_errors(books.main), fava_errors(books.main)):
        assert any(words in e for e in errors), errors
        assert all(e.startswith(str(month)) for e in errors if words in e)


@pytest.mark.corrupts_books
def test_bean_check_command_agrees(books):
    """The helper is what the `bean-check` command says, exit status included."""
    import subprocess
    import sys
    from pathlib import Path

    bean_check = Path(sys.executable).with_name("bean-check")
    ok = subprocess.run([str(bean_check), str(books.main)], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout == ok.stderr == ""
    with (books.dir / "accounts.beancount").open("a") as fh:
        fh.write("\n2026-01-01 open Assets:Fund:Bank USD\n")  # opened twice
    bad = subprocess.run([str(bean_check), str(books.main)], capture_output=True, text=True)
    assert bad.returncode != 0
    assert bean_check_errors(books.main)
    assert "Duplicate open directive" in bad.stderr + bad.stdout
    assert any("Duplicate open directive" in e for e in bean_check_errors(books.main))
