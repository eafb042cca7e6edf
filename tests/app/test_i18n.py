"""Every message the app can show has its Spanish translation, and the compiled catalog
the app loads is the one the .po file describes."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "app" / "translations" / "es" / "LC_MESSAGES"


def _extracted() -> set[str]:
    method_map, options_map = parse_mapping_cfg(io.StringIO((ROOT / "babel.cfg").read_text()))
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "N_": None,
                "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        found.add(message[0] if isinstance(message, tuple) else message)
    return {m for m in found if m}


def test_every_message_has_a_spanish_translation():
    po = read_po((CATALOG / "messages.po").open("rb"))
    translated = {(m.id[0] if isinstance(m.id, tuple) else m.id) for m in po
                  if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)}
    missing = sorted(_extracted() - translated)
    assert not missing, ("messages without a Spanish translation (run `make translations` "
                         "and translate them in app/translations/es/LC_MESSAGES/messages.po):\n"
                         + "\n".join(missing))


def test_the_compiled_catalog_matches_the_po_file():
    po = read_po((CATALOG / "messages.po").open("rb"))
    mo = read_mo((CATALOG / "messages.mo").open("rb"))
    def norm(catalog):
        return {(tuple(m.id) if isinstance(m.id, (list, tuple)) else m.id):
                (tuple(m.string) if isinstance(m.string, (list, tuple)) else m.string)
                for m in catalog if m.id}

    want, got = norm(po), norm(mo)
    assert got == want, "messages.mo is stale: run `make translations`"


def test_a_placeholder_is_never_lost_in_translation():
    import re

    po = read_po((CATALOG / "messages.po").open("rb"))
    for m in po:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        want = set(re.findall(r"%\((\w+)\)s", ids[-1]))
        for s in strings:
            assert set(re.findall(r"%\((\w+)\)s", s)) == want, m.id
