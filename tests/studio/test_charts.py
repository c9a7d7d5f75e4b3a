"""The server-side SVG chart helper."""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest

from studio.charts import Series, axis_range, bar_line_chart, format_number, nice_step

SVG = "{http://www.w3.org/2000/svg}"
D = Decimal


def chart(**kwargs):
    defaults = {
        "labels": ["2026-01", "2026-02", "2026-03"],
        "bars": [
            Series("Revenue", [D(1000), D(2500), D(0)]),
            Series("Costs", [D(400), D(900), D(300)]),
        ],
        "lines": [Series("Margin", [D(600), D(1600), D(-300)])],
        "title": "Revenue & costs",
        "unit": "CNY",
    }
    return bar_line_chart(**{**defaults, **kwargs})


def parse(result) -> ET.Element:
    return ET.fromstring(str(result.svg))


def test_chart_is_valid_accessible_svg():
    root = parse(chart(description="Per month <in CNY>"))

    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title_id, _desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}title").text == "Revenue & costs"
    assert root.find(f"{SVG}desc").text == "Per month <in CNY>"
    assert root.get("viewBox") == "0 0 760 340"


def test_bars_lines_legend_and_tooltips():
    root = parse(chart())

    bars = [g for g in root.iter(f"{SVG}g") if g.get("class") == "chart-bars"]
    assert [len(g.findall(f"{SVG}rect")) for g in bars] == [3, 3]
    assert bars[0].get("fill") != bars[1].get("fill")
    line = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "chart-line")
    assert len(line.findall(f"{SVG}polyline")) == 1
    assert len(line.findall(f"{SVG}circle")) == 3
    tips = [t.text for t in root.iter(f"{SVG}title")]
    assert "2026-02 · Revenue: 2,500" in tips
    assert "2026-03 · Margin: -300" in tips
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "chart-legend")
    assert [t.text for t in legend.iter(f"{SVG}text")] == ["Revenue", "Costs", "Margin"]
    assert any(t.text == "CNY" for t in root.iter(f"{SVG}text"))


def test_axis_has_gridlines_at_round_values_including_zero_and_negatives():
    root = parse(chart())
    grid = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "chart-grid")
    ticks = [t.text for t in grid.iter(f"{SVG}text")]

    # -300 … 2,500 on round steps of 1,000.
    assert ticks == ["-1,000", "0", "1,000", "2,000", "3,000"]
    assert len(grid.findall(f"{SVG}line")) == len(ticks)


def test_taller_values_are_higher_and_negative_bars_hang_below_zero():
    root = parse(chart(lines=[]))
    rects = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "chart-bars").findall(
        f"{SVG}rect"
    )
    heights = [float(r.get("height")) for r in rects]
    assert heights[1] > heights[0] > heights[2]

    neg = parse(chart(bars=[Series("Margin", [D(-100), D(100), D(50)])], lines=[]))
    r_neg, r_pos, _ = next(
        g for g in neg.iter(f"{SVG}g") if g.get("class") == "chart-bars"
    ).findall(f"{SVG}rect")
    assert float(r_neg.get("y")) == pytest.approx(
        float(r_pos.get("y")) + float(r_pos.get("height")), abs=0.2
    )


def test_none_values_leave_gaps():
    root = parse(
        chart(bars=[Series("Revenue", [D(1), None, D(3)])], lines=[Series("M", [D(1), None, D(2)])])
    )
    bars = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "chart-bars")
    assert len(bars.findall(f"{SVG}rect")) == 2
    line = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "chart-line")
    assert len(line.findall(f"{SVG}polyline")) == 2


def test_text_is_escaped_and_no_style_or_script():
    result = chart(
        title="<script>alert(1)</script>",
        labels=["a&b", "<i>", '"q"'],
        bars=[Series("x<y", [D(1), D(2), D(3)])],
        lines=[],
    )
    svg = str(result.svg)
    assert "<script" not in svg
    assert "style=" not in svg
    assert "<i>" not in svg
    parse(result)  # still well-formed


def test_all_zero_or_empty_series_still_draw():
    parse(chart(bars=[Series("Revenue", [D(0), D(0), D(0)])], lines=[]))
    parse(bar_line_chart(labels=[], bars=[Series("Revenue", [])], title="Empty"))


def test_series_must_match_the_labels():
    with pytest.raises(ValueError, match="2 values, not 3"):
        chart(bars=[Series("Revenue", [D(1), D(2)])])


def test_custom_value_format_and_data_table_rows():
    result = chart(value_format=lambda v: f"¥{v:,.2f}")
    assert result.formatted[1] == ["2026-02", "¥2,500.00", "¥900.00", "¥1,600.00"]
    grid = next(g for g in parse(result).iter(f"{SVG}g") if g.get("class") == "chart-grid")
    assert [t.text for t in grid.iter(f"{SVG}text")][-1] == "3,000"  # ticks stay short
    custom = chart(tick_format=lambda v: f"{v / 1000:g}k")
    grid = next(g for g in parse(custom).iter(f"{SVG}g") if g.get("class") == "chart-grid")
    assert [t.text for t in grid.iter(f"{SVG}text")][-1] == "3k"
    assert [s.label for s in result.series] == ["Revenue", "Costs", "Margin"]
    assert "¥2,500.00" in str(result.svg)


def test_many_labels_are_thinned_so_they_do_not_overlap():
    labels = [f"2026-{m:02d}" for m in range(1, 13)] * 3
    root = parse(
        bar_line_chart(labels=labels, bars=[Series("R", [D(1)] * 36)], title="t", width=500)
    )
    group = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "chart-labels")
    assert 0 < len(group.findall(f"{SVG}text")) < 36


def test_cjk_labels_survive():
    root = parse(chart(title="收入与成本", bars=[Series("开票收入", [D(1), D(2), D(3)])], lines=[]))
    assert root.find(f"{SVG}title").text == "收入与成本"


@pytest.mark.parametrize(
    ("span", "step"),
    [(D(10), D(2)), (D(2500), D(500)), (D("0.7"), D("0.2")), (D(12345), D(2500)), (D(0), D(1))],
)
def test_nice_step(span, step):
    assert nice_step(span) == step


def test_axis_range_contains_zero_and_values():
    assert axis_range([D(120), D(880)]) == (D(0), D(1000), D(200))
    low, high, step = axis_range([D(-30), D(70)])
    assert low <= -30
    assert high >= 70
    assert low % step == 0
    assert axis_range([]) == (D(0), D(1), D("0.2"))


def test_format_number():
    assert format_number(D("1234567.5")) == "1,234,568"
    assert format_number(D("0.5"), D("0.25")) == "0.50"
    assert format_number(D(2500), D("2.5E+3")) == "2,500"


def test_studio_charts_imports_neither_orders_nor_billing():
    tree = ast.parse(Path("studio/charts.py").read_text())
    names = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)] + [
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    ]
    assert not [n for n in names if n and re.match(r"(orders|billing)\b", n)]
