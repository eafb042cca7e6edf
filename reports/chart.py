"""The geometry of the report's 12-month trend chart, drawn by a small SVG template.

Bars only, computed here as plain numbers and drawn by `templates/chart.svg.j2`; this
module is tested on its own (scale, bar heights, negative months). Why not a charting
library: see docs/reports.md ("The chart").
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class Scale:
    """A value axis from `low` to `high` with ticks every `step` (a 1, 2 or 5 x 10^n)."""

    low: Decimal
    high: Decimal
    step: Decimal

    @property
    def ticks(self) -> list[Decimal]:
        """The tick values from low to high."""
        count = int((self.high - self.low) / self.step)
        return [self.low + self.step * i for i in range(count + 1)]


def nice_scale(values: list[Decimal], *, ticks: int = 4) -> Scale:
    """The smallest round scale holding 0 and every value, with about `ticks` steps."""
    low, high = min([ZERO, *values]), max([ZERO, *values])
    if low == high:
        return Scale(ZERO, Decimal(1), Decimal(1))
    raw = (high - low) / ticks
    magnitude = Decimal(10) ** (raw.adjusted())
    step = next(m * magnitude for m in (Decimal(1), Decimal(2), Decimal(5), Decimal(10))
                if m * magnitude >= raw)
    floor = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    ceil = (high / step).to_integral_value(rounding="ROUND_CEILING") * step
    return Scale(floor, ceil, step)


@dataclass(frozen=True)
class Bar:
    """One bar in chart units: left edge, top, width, height; `series` picks its style."""

    x: float
    y: float
    width: float
    height: float
    series: int
    value: Decimal


@dataclass(frozen=True)
class Panel:
    """One panel of bars sharing a value axis; y grows downwards as in SVG."""

    top: float
    height: float
    scale: Scale
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, Decimal], ...]   # (y, value)
    zero_y: float


def panel(series: list[list[Decimal]], *, left: float, width: float, top: float,
          height: float, slots: int = 0, gap: float = 0.25) -> Panel:
    """Grouped bars: `series[s][i]` is the value of series s in slot i (a month).

    Each slot is `width / slots` wide (at least as many slots as values: a short trend
    keeps its bars narrow, on the left); the bars of a slot share it, less `gap` of it
    left empty between slots. Float geometry only: the values stay Decimal.
    """
    slots = max(slots, *(len(s) for s in series))
    scale = nice_scale([v for s in series for v in s])
    span = float(scale.high - scale.low)  # float-ok: drawing coordinates, not money

    def y_of(value: Decimal) -> float:
        return top + height * float(scale.high - value) / span  # float-ok: drawing

    slot = width / slots
    bar_w = slot * (1 - gap) / len(series)
    bars = []
    for s, values in enumerate(series):
        for i, value in enumerate(values):
            x = left + slot * i + slot * gap / 2 + bar_w * s
            y0, y1 = sorted((y_of(value), y_of(ZERO)))
            bars.append(Bar(round(x, 2), round(y0, 2), round(bar_w, 2), round(y1 - y0, 2),
                            s, value))
    ticks = tuple((round(y_of(v), 2), v) for v in scale.ticks)
    return Panel(top, height, scale, tuple(bars), ticks, round(y_of(ZERO), 2))
