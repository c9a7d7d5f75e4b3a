"""Small server-side SVG charts: grouped bars with optional lines on one value axis.

Generic on purpose (studio must not import orders or billing): it takes category labels
and series of Decimals (None where there is no value) and returns inline SVG markup
with a title and description for screen readers (role="img"), gridlines, an axis with
unit, a legend, and a <title> tooltip on every bar and point. No script and no style
attributes (the CSP allows neither inline); colours are SVG presentation attributes,
refined by the `.chart` rules of static/reeldesk.css. Strings come in translated.

    chart = bar_line_chart(labels=["2026-01", …], bars=[Series("Revenue", [...])],
                           lines=[Series("Margin", [...])], title=…, unit="CNY")
    {% include "includes/chart.html" with chart=chart %}
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Colour-blind-safe palette (Okabe-Ito), dark enough to print in grey.
PALETTE = ("#0072b2", "#e69f00", "#cc79a7", "#009e73", "#d55e00", "#56b4e9", "#000000")
LINE_PALETTE = ("#1d2330", "#d55e00", "#009e73")
_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Decimal | None]
    colour: str = ""


@dataclass(frozen=True)
class Chart:
    svg: SafeString
    title: str
    labels: list[str]
    bars: list[Series]
    lines: list[Series]
    unit: str
    formatted: list[list[str]] = field(default_factory=list)  # rows for the data table

    @property
    def series(self) -> list[Series]:
        return [*self.bars, *self.lines]

    def __str__(self) -> str:
        return self.svg


def nice_step(span: Decimal, target: int = 5) -> Decimal:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) giving about target ticks."""
    if span <= 0:
        return Decimal(1)
    raw = span / target
    power = Decimal(1).scaleb(raw.adjusted())
    for factor in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        if raw <= factor * power:
            return factor * power
    return 10 * power  # pragma: no cover


def axis_range(values: Sequence[Decimal]) -> tuple[Decimal, Decimal, Decimal]:
    """(low, high, step): a nice range containing 0 and every value."""
    low = min([Decimal(0), *values])
    high = max([Decimal(0), *values])
    if low == high:
        high = low + 1
    step = nice_step(high - low)
    low = (low / step).to_integral_value(rounding=ROUND_FLOOR) * step
    high = (high / step).to_integral_value(rounding=ROUND_CEILING) * step
    return low, high, step


def format_number(value: Decimal, step: Decimal | None = None) -> str:
    """1234567.5 -> '1,234,567.5' with as many decimals as the step needs."""
    places = max(0, -(step.normalize().as_tuple().exponent)) if step else 0  # type: ignore[operator]
    return f"{value:,.{places}f}"


def _fmt(number: float | Decimal) -> str:
    """SVG coordinate: at most one decimal, no trailing zeros."""
    text = f"{float(number):.1f}"
    return text[:-2] if text.endswith(".0") else text


def bar_line_chart(
    *,
    labels: Sequence[str],
    bars: Sequence[Series] = (),
    lines: Sequence[Series] = (),
    title: str,
    description: str = "",
    unit: str = "",
    width: int = 760,
    height: int = 340,
    value_format: Callable[[Decimal], str] | None = None,
    tick_format: Callable[[Decimal], str] | None = None,
) -> Chart:
    """Grouped bars (one group per label) and lines over the same labels and axis.
    value_format shows values (tooltips, data table); tick_format the axis (default:
    grouped digits with the decimals the step needs, the unit written above the axis)."""
    count = len(labels)
    for series in (*bars, *lines):
        if len(series.values) != count:
            raise ValueError(
                f"series {series.label!r} has {len(series.values)} values, not {count}"
            )
    show: Callable[[Decimal], str] = value_format or (lambda v: f"{v:,}")
    bars = [
        Series(s.label, s.values, s.colour or PALETTE[i % len(PALETTE)]) for i, s in enumerate(bars)
    ]
    lines = [
        Series(s.label, s.values, s.colour or LINE_PALETTE[i % len(LINE_PALETTE)])
        for i, s in enumerate(lines)
    ]
    every = [v for s in (*bars, *lines) for v in s.values if v is not None]
    low, high, step = axis_range(every)
    show_tick: Callable[[Decimal], str] = tick_format or (lambda v: format_number(v, step))

    uid = f"chart{next(_ids)}"
    left, right, top, bottom = 78, 16, 54, 44
    plot_w, plot_h = width - left - right, height - top - bottom

    def y(value: Decimal) -> float:
        return top + plot_h - float((value - low) / (high - low)) * plot_h

    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{uid}-title {uid}-desc" '
        f'font-size="12" font-family="inherit">',
        f'<title id="{uid}-title">{escape(title)}</title>',
        f'<desc id="{uid}-desc">{escape(description or title)}</desc>',
    ]
    # Gridlines and value axis.
    parts.append('<g class="chart-grid">')
    tick = low
    while tick <= high:
        ty = _fmt(y(tick))
        stroke = "#6b7385" if tick == 0 else "#e3e6ec"
        parts.append(
            f'<line x1="{left}" y1="{ty}" x2="{left + plot_w}" y2="{ty}" stroke="{stroke}" '
            f'stroke-width="1"/>'
        )
        parts.append(
            f'<text class="chart-tick" x="{left - 6}" y="{ty}" text-anchor="end" '
            f'dominant-baseline="middle" fill="#4b5366">{escape(show_tick(tick))}</text>'
        )
        tick += step
    parts.append("</g>")
    if unit:
        parts.append(
            f'<text class="chart-unit" x="{left - 6}" y="{top - 12}" text-anchor="end" '
            f'fill="#4b5366">{escape(unit)}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#6b7385" '
        f'stroke-width="1"/>'
    )

    # Category labels; thinned out when they would overlap.
    group = plot_w / max(count, 1)
    every_nth = max(1, math.ceil(60 / group))
    parts.append('<g class="chart-labels">')
    for index, label in enumerate(labels):
        if index % every_nth:
            continue
        cx = _fmt(left + group * (index + 0.5))
        parts.append(
            f'<text x="{cx}" y="{top + plot_h + 18}" text-anchor="middle" '
            f'fill="#4b5366">{escape(label)}</text>'
        )
    parts.append("</g>")

    # Bars.
    if bars:
        inner = group * 0.8
        bar_w = inner / len(bars)
        zero = y(Decimal(0))
        for b_index, series in enumerate(bars):
            parts.append(f'<g class="chart-bars" fill="{series.colour}">')
            for index, value in enumerate(series.values):
                if value is None:
                    continue
                x = left + group * index + (group - inner) / 2 + bar_w * b_index
                vy = y(value)
                top_y, h = (vy, zero - vy) if value >= 0 else (zero, vy - zero)
                parts.append(
                    f'<rect x="{_fmt(x + 0.5)}" y="{_fmt(top_y)}" '
                    f'width="{_fmt(max(bar_w - 1, 1))}" '
                    f'height="{_fmt(max(h, 0.5))}"><title>{escape(labels[index])} · '
                    f"{escape(series.label)}: {escape(show(value))}</title></rect>"
                )
            parts.append("</g>")

    # Lines (a gap where a value is None), with a marker per point.
    for series in lines:
        parts.append(f'<g class="chart-line" stroke="{series.colour}" fill="{series.colour}">')
        run: list[str] = []
        runs: list[list[str]] = []
        for index, value in enumerate(series.values):
            if value is None:
                if run:
                    runs.append(run)
                run = []
                continue
            run.append(f"{_fmt(left + group * (index + 0.5))},{_fmt(y(value))}")
        if run:
            runs.append(run)
        for points in runs:
            parts.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke-width="2.5" '
                f'stroke-linejoin="round"/>'
            )
        for index, value in enumerate(series.values):
            if value is None:
                continue
            parts.append(
                f'<circle cx="{_fmt(left + group * (index + 0.5))}" cy="{_fmt(y(value))}" r="3.5">'
                f"<title>{escape(labels[index])} · {escape(series.label)}: "
                f"{escape(show(value))}</title></circle>"
            )
        parts.append("</g>")

    # Legend, top left: squares for bars, a stroke with a dot for lines.
    parts.append('<g class="chart-legend">')
    lx = left
    for series in bars:
        parts.append(f'<rect x="{lx}" y="12" width="12" height="12" fill="{series.colour}"/>')
        parts.append(f'<text x="{lx + 17}" y="22" fill="#1d2330">{escape(series.label)}</text>')
        lx += 30 + _text_width(series.label)
    for series in lines:
        parts.append(
            f'<line x1="{lx}" y1="18" x2="{lx + 16}" y2="18" stroke="{series.colour}" '
            f'stroke-width="2.5"/><circle cx="{lx + 8}" cy="18" r="3.5" fill="{series.colour}"/>'
        )
        parts.append(f'<text x="{lx + 21}" y="22" fill="#1d2330">{escape(series.label)}</text>')
        lx += 34 + _text_width(series.label)
    parts.append("</g></svg>")

    formatted = [
        [label, *["" if s.values[i] is None else show(s.values[i]) for s in (*bars, *lines)]]  # type: ignore[arg-type]
        for i, label in enumerate(labels)
    ]
    return Chart(
        svg=mark_safe("".join(parts)),  # every text above is escaped
        title=title,
        labels=list(labels),
        bars=list(bars),
        lines=list(lines),
        unit=unit,
        formatted=formatted,
    )


def _text_width(text: str) -> int:
    """Rough width at 12px: CJK characters are about twice as wide as Latin ones."""
    return sum(12 if ord(ch) > 0x2E80 else 7 for ch in text)
