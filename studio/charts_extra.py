"""Horizontal bar charts (grouped or stacked), on the conventions of studio/charts.py.

For categories with long or translated names (aging buckets, tools, shot statuses)
that read better down the page than across it, and that fit a phone without scrolling
(the markup carries the `chart-compact` class, see static/reeldesk.css). Like
studio.charts: generic (no orders or billing import), Decimals in (None where there is
no value), inline SVG out with a title and description (role="img"), gridlines, a value
axis with its unit, a legend, a <title> tooltip on every bar, no script and no style
attributes; strings come in translated. Returns a studio.charts.Chart, so the data-table
fallback of includes/chart.html works as for the other charts.

    chart = hbar_chart(labels=["Current", "1-30 days", …],
                       series=[Series("Outstanding", [...])], title=…, unit="CNY")
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import mark_safe

from studio.charts import PALETTE, Chart, Series, _fmt, _text_width, axis_range, format_number

_ids = itertools.count(1)


def hbar_chart(
    *,
    labels: Sequence[str],
    series: Sequence[Series],
    title: str,
    description: str = "",
    unit: str = "",
    stacked: bool = False,
    width: int = 380,
    bar_height: int = 22,
    value_format: Callable[[Decimal], str] | None = None,
    tick_format: Callable[[Decimal], str] | None = None,
) -> Chart:
    """One row per label; the series side by side in the row (grouped) or end to end
    (stacked: values must not be negative). The value axis runs along the bottom."""
    count = len(labels)
    for s in series:
        if len(s.values) != count:
            raise ValueError(f"series {s.label!r} has {len(s.values)} values, not {count}")
    if stacked and any(v is not None and v < 0 for s in series for v in s.values):
        raise ValueError("stacked bars cannot show negative values")
    show: Callable[[Decimal], str] = value_format or (lambda v: f"{v:,}")
    series = [
        Series(s.label, s.values, s.colour or PALETTE[i % len(PALETTE)])
        for i, s in enumerate(series)
    ]
    if stacked:
        extent = (
            [
                sum((v or Decimal(0) for v in row), Decimal(0))
                for row in zip(*(s.values for s in series), strict=True)
            ]
            if series
            else []
        )
    else:
        extent = [v for s in series for v in s.values if v is not None]
    low, high, step = axis_range(extent)
    show_tick: Callable[[Decimal], str] = tick_format or (lambda v: format_number(v, step))

    uid = f"hchart{next(_ids)}"
    label_w = min(max((_text_width(label) for label in labels), default=40) + 12, width // 2)
    left, right, top, bottom = label_w, 18, 40, 34
    per_row = bar_height if stacked else bar_height * max(len(series), 1)
    row_h = per_row + 10
    plot_w = width - left - right
    plot_h = row_h * max(count, 1)
    height = top + plot_h + bottom

    def x(value: Decimal) -> float:
        return left + float((value - low) / (high - low)) * plot_w

    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-compact" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{uid}-title {uid}-desc" font-size="12" font-family="inherit">',
        f'<title id="{uid}-title">{escape(title)}</title>',
        f'<desc id="{uid}-desc">{escape(description or title)}</desc>',
        '<g class="chart-grid">',
    ]
    tick = low
    while tick <= high:
        tx = _fmt(x(tick))
        stroke = "#6b7385" if tick == 0 else "#e3e6ec"
        parts.append(
            f'<line x1="{tx}" y1="{top}" x2="{tx}" y2="{top + plot_h}" stroke="{stroke}" '
            f'stroke-width="1"/>'
        )
        parts.append(
            f'<text class="chart-tick" x="{tx}" y="{top + plot_h + 16}" text-anchor="middle" '
            f'fill="#4b5366">{escape(show_tick(tick))}</text>'
        )
        tick += step
    parts.append("</g>")
    if unit:
        parts.append(
            f'<text class="chart-unit" x="{width - right}" y="{top + plot_h + 31}" '
            f'text-anchor="end" fill="#4b5366">{escape(unit)}</text>'
        )

    zero = x(Decimal(0))
    for index, label in enumerate(labels):
        row_top = top + row_h * index + 5
        parts.append(
            f'<text x="{left - 8}" y="{_fmt(row_top + per_row / 2)}" text-anchor="end" '
            f'dominant-baseline="middle" fill="#1d2330">{escape(label)}</text>'
        )
        start = Decimal(0)
        for s_index, s in enumerate(series):
            value = s.values[index]
            if value is None:
                continue
            if stacked:
                x0, x1 = x(start), x(start + value)
                y0 = row_top
                start += value
            else:
                vx = x(value)
                x0, x1 = (zero, vx) if value >= 0 else (vx, zero)
                y0 = row_top + bar_height * s_index
            parts.append(
                f'<rect x="{_fmt(x0)}" y="{_fmt(y0)}" width="{_fmt(max(x1 - x0, 0.5))}" '
                f'height="{bar_height - 2}" fill="{s.colour}"><title>{escape(label)} · '
                f"{escape(s.label)}: {escape(show(value))}</title></rect>"
            )

    if len(series) > 1:
        parts.append('<g class="chart-legend">')
        lx = left
        for s in series:
            parts.append(f'<rect x="{lx}" y="12" width="12" height="12" fill="{s.colour}"/>')
            parts.append(f'<text x="{lx + 17}" y="22" fill="#1d2330">{escape(s.label)}</text>')
            lx += 30 + _text_width(s.label)
        parts.append("</g>")
    elif series:
        parts.append(f'<text x="{left}" y="22" fill="#1d2330">{escape(series[0].label)}</text>')
    parts.append("</svg>")

    formatted = [
        [label, *["" if s.values[i] is None else show(s.values[i]) for s in series]]  # type: ignore[arg-type]
        for i, label in enumerate(labels)
    ]
    return Chart(
        svg=mark_safe("".join(parts)),  # every text above is escaped
        title=title,
        labels=list(labels),
        bars=list(series),
        lines=[],
        unit=unit,
        formatted=formatted,
    )
