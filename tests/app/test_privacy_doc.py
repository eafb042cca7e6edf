"""docs/privacy.md says what the code does (issue 16, item 12).

Failed on 0983efd: the table said `person.totp_secret` and `donation.donor_name` were not
encrypted and that `hide_parameters` was not set, while the models encrypt both and every
engine hides its parameters. Each `table.column` row's "encrypted" cell must agree with
the column's type, and every encrypted column must have a row.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers the tables)
from app import crypto

DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"


def _rows() -> dict[str, str]:
    """`table.column` -> its "encrypted" cell, from the database table of the doc."""
    out = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        for name in re.findall(r"`([a-z_]+\.[a-z_]+)`", cells[0]):
            out[name] = cells[2]
    return out


def _encrypted_columns() -> set[str]:
    return {f"{t.name}.{c.name}" for t in SQLModel.metadata.tables.values()
            for c in t.columns if isinstance(c.type, crypto.EncryptedText)}


def test_the_privacy_table_says_which_columns_are_encrypted():
    rows = _rows()
    encrypted = _encrypted_columns()
    assert encrypted, "no encrypted column found in the models"
    missing = sorted(encrypted - set(rows))
    assert not missing, f"encrypted columns docs/privacy.md does not list: {missing}"
    wrong = {name: cell for name, cell in rows.items()
             if (name in encrypted) != cell.startswith("yes")
             and not cell.startswith("(")}  # "(hashes)", "(a hash)": not encryption
    assert not wrong, f"docs/privacy.md's 'encrypted' cell disagrees with the models: {wrong}"


def test_the_privacy_doc_does_not_call_hide_parameters_undone():
    from app import db

    source = Path(db.__file__).read_text()
    text = DOC.read_text(encoding="utf-8")
    assert source.count("hide_parameters=True") >= 1
    assert "not done yet" not in text.split("hide_parameters", 1)[1][:400]
