"""The one type for text the app writes into the books outside of an entry's fixed words.

A fund's name and currency (in `main.beancount`), its cash accounts and categories (in
`accounts.beancount` and every entry), and the names of saved import mappings are all
`BookText`: built once from what a person typed, checked, normalised (NFC, trimmed), and
from then on the only form of that text anything writes. A value that breaks a rule
raises `InvalidText` naming the field and the rule, before anything is written; the value
checked is the value kept, so a name cannot pass the check stripped and be written raw.

Every kind refuses what is not `str`, lone surrogates (a non-UTF-8 byte read by the
command line arrives as one), and control, format, private-use and line or paragraph
separator characters; each kind adds its own shape.
"""

from __future__ import annotations

import re
import unicodedata

from ledger.errors import InvalidReference, InvalidText

_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}

# Characters that draw nothing although Unicode calls some of them letters or marks: the
# Default_Ignorable_Code_Point ranges (Hangul fillers U+3164, U+115F, U+1160, U+FFA0, the
# combining grapheme joiner U+034F, variation selectors, ...) plus the blank braille cell.
_INVISIBLE = ((0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
              (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
              (0x2060, 0x206F), (0x2800, 0x2800), (0x3164, 0x3164), (0xFE00, 0xFE0F),
              (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
              (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF))


def invisible(ch: str) -> bool:
    """True for a character that draws nothing (a filler, joiner or selector)."""
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _INVISIBLE)


def refused_character(text: str) -> str | None:
    """The first control, format, separator, surrogate or invisible character, if any."""
    for ch in text:
        if unicodedata.category(ch) in _REFUSED_CATEGORIES or invisible(ch):
            return ch
    return None


def has_visible_letter(text: str) -> bool:
    """True when `text`, NFKC-normalised, holds a letter that draws something."""
    return any(unicodedata.category(ch)[0] == "L" and not invisible(ch)
               for ch in unicodedata.normalize("NFKC", text))


class BookText(str):
    """Checked text that may reach the books; subclasses say what shape it must have."""

    field = "text"
    max_len = 80
    shape: re.Pattern | None = None
    rule = "letters, digits, spaces and punctuation on one line"
    error: type[InvalidText] | type[InvalidReference] = InvalidText  # names: references

    def __new__(cls, raw: object, field: str | None = None) -> BookText:
        name = field or cls.field
        if isinstance(raw, cls):
            return raw
        if not isinstance(raw, str):
            raise cls.error(name, f"{name}: must be text, not {type(raw).__name__}")
        bad = refused_character(raw)
        if bad is not None:
            raise cls.error(name, f"{name}: character U+{ord(bad):04X} is not allowed (no "
                            f"control, format, invisible or line-breaking characters)")
        clean = unicodedata.normalize("NFC", raw).strip()
        if not clean:
            raise cls.error(name, f"{name}: required")
        if cls.shape is not None and not cls.shape.fullmatch(clean):
            raise cls.error(name, f"{name}: {clean[:40]!r} is not {cls.rule}")
        if len(clean) > cls.max_len:
            raise cls.error(name, f"{name}: {len(clean)} characters; at most {cls.max_len}")
        cls._check(clean, name)
        return super().__new__(cls, clean)

    @classmethod
    def _check(cls, clean: str, field: str) -> None:
        """A kind's extra rule (raise InvalidText); none by default."""


class FundName(BookText):
    """The fund's name: written into `main.beancount` as a quoted option value."""

    field = "name"
    rule = "1 to 80 characters on one line, no quotes or backslashes"

    @classmethod
    def _check(cls, clean: str, field: str) -> None:
        if any(c in '"\\' for c in clean):
            raise cls.error(field, f"{field}: {cls.rule}")
        if not has_visible_letter(clean):
            raise cls.error(field, f"{field}: must contain a visible letter")


class Currency(BookText):
    """An ISO 4217 code such as USD."""

    field = "currency"
    max_len = 3
    shape = re.compile(r"[A-Z]{3}")
    rule = "a three-letter ISO 4217 code such as USD"
    error = InvalidReference


class Category(BookText):
    """A category: the lowercase leaf of its account (`rent` <-> `Expenses:Aid:Rent`)."""

    field = "category"
    max_len = 31
    shape = re.compile(r"[a-z][a-z0-9-]{0,30}")
    rule = "a name of lowercase letters, digits and dashes, starting with a letter"
    error = InvalidReference


class CashAccount(BookText):
    """A cash account, named in full (`Assets:Fund:Bank`)."""

    field = "account"
    max_len = 43
    shape = re.compile(r"Assets:Fund:[A-Z][A-Za-z0-9-]{0,30}")
    rule = "an account like Assets:Fund:Bank"
    error = InvalidReference


class MappingName(BookText):
    """The name of a saved bank column mapping."""

    field = "name"
    max_len = 40
    shape = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
    rule = "a name of ASCII letters, digits, - and _"
