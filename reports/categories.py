"""The names people read for the default categories: the one list, below both the reports
and the app (docs/architecture.md, "How to add a category").

The keys are the books' category keys (`ledger/accounts.py` lists the default ones and
maps each to its account); the values are message ids, translated where they are shown:
by the report's catalog in a PDF, by the app's in a page (both catalogs extract this
file, so the two never drift). A category a fund adds without a name here shows its key,
capitalised.
"""

from __future__ import annotations

from reports.verify import N_

NAMES = {
    # aid
    "rent": N_("Rent"), "utilities": N_("Utilities"), "food": N_("Food"),
    "medical": N_("Medical"), "legal": N_("Legal"), "funeral": N_("Funeral"),
    "transport": N_("Transport"), "other": N_("Other"),
    # donations
    "individual": N_("Individuals"), "grant": N_("Grants"), "event": N_("Events"),
}


def label(name: str, gettext) -> str:
    """`name`'s words through `gettext` (the caller's catalog), or its key capitalised."""
    return gettext(NAMES[name]) if name in NAMES else name.replace("-", " ").capitalize()
