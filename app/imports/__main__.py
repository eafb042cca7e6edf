"""beangulp's command line over Carebooks' importers:

    python -m app.imports identify tests/data/paypal.csv
    python -m app.imports extract tests/data/paypal.csv [-e books/main.beancount]

A bank CSV is recognised when CAREBOOKS_BANK_MAPPING names a mapping JSON file (see
docs/import.md); CAREBOOKS_IMPORT_CATEGORY sets the donation category (individual).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import beangulp

from app.imports import BankImporter, Mapping, PayPalImporter, StripeImporter, VenmoImporter


def importers() -> list:
    """The importers this command line offers."""
    category = os.environ.get("CAREBOOKS_IMPORT_CATEGORY", "individual")
    found = [PayPalImporter(category=category), VenmoImporter(category=category),
             StripeImporter(category=category)]
    mapping_file = os.environ.get("CAREBOOKS_BANK_MAPPING")
    if mapping_file:
        mapping = Mapping.from_dict(json.loads(Path(mapping_file).read_text()))
        found.append(BankImporter(mapping, category=category))
    return found


def main() -> None:
    """Run beangulp's `identify`, `extract` and `archive` commands."""
    beangulp.Ingest(importers())()


if __name__ == "__main__":
    main()
