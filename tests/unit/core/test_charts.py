"""The SVG charts: what is drawn is what was given, every text is escaped, and a series that
does not fit its labels is refused."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from vardeild.core.charts import PALETTE, Series, bar_chart, colour_for, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (our own output, parsed to prove it is well formed)


def test_bar_chart_draws_one_segment_per_nonzero_value_with_its_value() -> None:
    labels = ["1.11", "2.11", "3.11"]
    series = [Series("A", [2, 0, 1], "#111111", "member-a"), Series("B", [1, 3, 0], "#222222")]
    root = _parse(bar_chart(labels, series))
    rects = root.findall(f"{SVG}rect")
    assert [(r.get("class"), r.get("data-value")) for r in rects] == [
        ("bar member-a", "2"),
        ("bar", "1"),
        ("bar", "3"),
        ("bar member-a", "1"),
    ]
    titles = [r.find(f"{SVG}title").text for r in rects]  # type: ignore[union-attr]
    assert titles == ["A 1.11: 2", "B 1.11: 1", "B 2.11: 3", "A 3.11: 1"]


def test_stacked_bars_are_as_tall_as_their_totals() -> None:
    series = [Series("A", [2, 4], "#111111"), Series("B", [2, 0], "#222222")]
    root = _parse(bar_chart(["x", "y"], series))
    heights = [float(r.get("height", "0")) for r in root.findall(f"{SVG}rect")]
    # Both bars total 4: the first is two segments of 2, the second one of 4.
    assert heights[0] == pytest.approx(heights[1])
    assert heights[0] + heights[1] == pytest.approx(heights[2])
    assert heights[2] > 0


def test_line_chart_has_a_point_per_value_and_a_polyline_per_series() -> None:
    labels = [f"d{i}" for i in range(5)]
    series = [Series("P1", [0, 1, 2, 3, 4], "#b00020", "trend-P1"), Series("P2", [1] * 5, "#000")]
    root = _parse(line_chart(labels, series, points=True))
    lines = root.findall(f"{SVG}polyline")
    assert [line.get("class") for line in lines] == ["trend-P1", ""]
    assert all(len(line.get("points", "").split()) == 5 for line in lines)
    circles = root.findall(f"{SVG}circle")
    assert len(circles) == 10
    assert circles[4].find(f"{SVG}title").text == "P1 d4: 4"  # type: ignore[union-attr]
    # The highest value reaches the top of the plot; zero sits on the axis.
    ys = [float(c.get("cy", "0")) for c in circles[:5]]
    assert ys == sorted(ys, reverse=True)


def test_text_is_escaped() -> None:
    evil = '<script>alert("x")</script>'
    svg = bar_chart([evil], [Series(evil, [1], '"><script>', evil)])
    assert "<script>" not in svg
    _parse(svg)
    assert "<script>" not in line_chart([evil], [Series(evil, [1], "#000")])


def test_a_series_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="2 values for 3"):
        bar_chart(["a", "b", "c"], [Series("A", [1, 2], "#000")])
    with pytest.raises(ValueError, match="0 values for 1"):
        line_chart(["a"], [Series("A", [], "#000")])


def test_empty_data_still_draws_axes() -> None:
    svg = bar_chart(["a", "b"], [Series("A", [0, 0], "#000")])
    assert "<rect" not in svg
    assert re.search(r">0</text>", svg)


def test_colours_cycle_through_the_palette() -> None:
    assert colour_for(0) == PALETTE[0]
    assert colour_for(len(PALETTE)) == PALETTE[0]
    assert colour_for(1) != colour_for(0)
