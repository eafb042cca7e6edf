"""The languages the fund speaks: the one list, below both the reports and the app.

Each is a Babel locale code with its name in its own language (for the switch). The web
app's language switch and Accept-Language matching, the account form, the API, the CLI's
`--lang`, the reports and the publishing of a month in every language are built from it
(docs/architecture.md, "How to add a language"). A language without catalogs yet shows
English words with its own numbers, dates and month names.
"""

from __future__ import annotations

LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT = "en"
