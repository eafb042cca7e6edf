"""The public page's chart, drawn on the server as SVG: no script, no request to another
origin, readable at 320 px, and the same numbers in the table beside it.

Paired bars (donations, aid paid) per month, a y axis with round ticks and their amounts,
the month's short name under each pair, and each bar's value above it. A month that is not
published, or whose figure is hidden, draws no bar and says so under its name.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import format_decimal
from flask_babel import gettext as _
from markupsafe import Markup, escape

from app.web.filters import month_short

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 24, 52  # room for the y labels and the month names


def nice_top(peak: Decimal) -> tuple[Decimal, Decimal]:
    """A round top for the y axis at or above `peak`, and the step between its 4 ticks."""
    if peak <= 0:
        return Decimal(100), Decimal(25)
    raw = peak / 4
    magnitude = Decimal(10) ** (len(str(int(raw))) - 1)
    for m in (1, 2, 2.5, 5, 10):
        step = Decimal(str(m)) * magnitude
        if step * 4 >= peak:
            return step * 4, step
    return peak, peak / 4


def _whole(value: Decimal) -> str:
    return format_decimal(value, format="#,##0")


def trend_chart(rows, currency: str, title_id: str = "trend-title") -> Markup:
    """The SVG for `rows` (TrendRow: month, donations, aid_paid, published)."""
    rows = list(rows)
    values = [Decimal(str(v)) for r in rows for v in (r.donations, r.aid_paid) if v is not None]
    top, step = nice_top(max(values, default=Decimal(0)))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(rows), 1)
    bar = min(slot * 0.36, 28)

    def height(v: Decimal) -> Decimal:
        """A bar's height in the drawing's units (money stays Decimal to the last digit)."""
        return v / top * plot_h

    def y(v: Decimal) -> Decimal:
        return TOP + plot_h - height(v)

    desc = _("Bars: donations and aid paid in each published month, in %(currency)s. "
             "The table below has the same numbers.", currency=currency)
    out = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-labelledby="{title_id} trend-desc" xmlns="http://www.w3.org/2000/svg">',
           f'<desc id="trend-desc">{escape(desc)}</desc>']
    for i in range(5):  # the y axis: 0 and four round ticks, with their amounts
        v = step * i
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" '
                   f'y2="{y(v):.1f}"></line>')
        out.append(f'<text class="axis" x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">'
                   f'{escape(_whole(v))}</text>')
    out.append(f'<text class="axis" x="4" y="{TOP - 8}">{escape(currency)}</text>')
    for i, r in enumerate(rows):
        mid = LEFT + slot * i + slot / 2
        for kind, value, x in (("in", r.donations, mid - bar - 1), ("out", r.aid_paid, mid + 1)):
            if value is None or not r.published:
                continue
            v = Decimal(str(value))
            out.append(f'<rect class="bar-{kind}" x="{x:.1f}" y="{y(v):.1f}" width="{bar:.1f}" '
                       f'height="{height(v):.1f}"></rect>')
            if v > 0:
                out.append(f'<text class="value" x="{x + bar / 2:.1f}" y="{y(v) - 3:.1f}" '
                           f'text-anchor="middle">{escape(_whole(v))}</text>')
        out.append(f'<text class="axis" x="{mid:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                   f'text-anchor="middle">{escape(month_short(r.month))}</text>')
        if r.month.endswith("-01") or i == 0:  # the year under January and the first month
            out.append(f'<text class="axis" x="{mid:.1f}" y="{HEIGHT - BOTTOM + 34}" '
                       f'text-anchor="middle">{escape(r.month[:4])}</text>')
        if not r.published:
            out.append(f'<text class="value" x="{mid:.1f}" y="{y(Decimal(0)) - 4:.1f}" '
                       f'text-anchor="middle">—</text>')
    out.append(f'<line class="axis-line" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(Decimal(0)):.1f}" '
               f'y2="{y(Decimal(0)):.1f}"></line>')
    out.append("</svg>")
    return Markup("".join(out))


def init_app(app) -> None:
    """Make `trend_chart` a template global."""
    app.jinja_env.globals["trend_chart"] = trend_chart
