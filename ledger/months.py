"""A calendar month of the books: the one home of `YYYY-MM`.

The books keep one file per month, the seal chain links months, reports and the API
take a month as `YYYY-MM`. `Month` is that text (a `str`, so it stays a dict key, a
JSON value and a template value as before), parsed once, with the arithmetic and the
file path every caller used to write again. Like Fava's `util/date.py`, it is the only
place that knows how a month is spelled.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

class Month(str):
    """A month `YYYY-MM`; `Month("2026-13")` raises ValueError."""

    __slots__ = ()
    PATTERN: ClassVar[re.Pattern] = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

    def __new__(cls, text: object) -> Month:
        if isinstance(text, Month):
            return text
        if not isinstance(text, str) or not Month.PATTERN.fullmatch(text):
            raise ValueError(f"{str(text)[:20]!r} is not a month like 2026-11")
        return super().__new__(cls, text)

    @classmethod
    def parse(cls, text: object) -> Month | None:
        """The month `text` spells, or None when it is not a `YYYY-MM` string."""
        try:
            return cls(text)
        except ValueError:
            return None

    @classmethod
    def of(cls, date: dt.date) -> Month:
        """`date(2026, 11, 3)` -> `'2026-11'`."""
        return super().__new__(cls, f"{date.year:04d}-{date.month:02d}")

    @classmethod
    def at(cls, year: int, number: int) -> Month:
        """The month `number` (1-12) of `year`."""
        return super().__new__(cls, f"{year:04d}-{number:02d}")

    @property
    def year(self) -> int:
        """`2026` for `2026-11`."""
        return int(self[:4])

    @property
    def number(self) -> int:
        """`11` for `2026-11`."""
        return int(self[5:7])

    def shift(self, months: int) -> Month:
        """The month `months` later (earlier when negative)."""
        index = self.year * 12 + self.number - 1 + months
        return Month.at(index // 12, index % 12 + 1)

    def next(self) -> Month:
        """`'2026-12'` -> `'2027-01'`."""
        return self.shift(1)

    def previous(self) -> Month:
        """`'2027-01'` -> `'2026-12'`."""
        return self.shift(-1)

    @property
    def first_day(self) -> dt.date:
        """The month's first day."""
        return dt.date(self.year, self.number, 1)

    @property
    def end(self) -> dt.date:
        """The first day after the month, where its balance assertions stand."""
        return self.next().first_day

    @property
    def last_day(self) -> dt.date:
        """The month's last day."""
        return self.end - dt.timedelta(days=1)

    def until(self, stop: str) -> Iterator[Month]:
        """This month and each one after it, up to but not including `stop`."""
        month = self
        while month < stop:
            yield month
            month = month.next()

    @property
    def file(self) -> str:
        """The month's books file, relative to the books folder: `2026/2026-11.beancount`."""
        return f"{self[:4]}/{self}.beancount"

    def path(self, books_dir: Path) -> Path:
        """The month's books file under `books_dir`."""
        return books_dir / self.file


def month_of(date: dt.date) -> Month:
    """`date(2026, 11, 3)` -> `'2026-11'` (the month a dated entry stands in)."""
    return Month.of(date)


def month_file(month: str) -> str:
    """The books file of `month`, relative to the books folder."""
    return Month(month).file
