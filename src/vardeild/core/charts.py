"""Charts as inline SVG, drawn on the server: a line chart and a stacked bar chart of counts over
labelled steps (days, weeks).

The portal and the reports need no script and no network to show a chart, and a PDF made from
the same HTML gets the same picture. Every text is escaped here; colours are presentation
attributes (not `style`), so a strict Content-Security-Policy lets the chart through. Each
point and bar carries a class and a `<title>` (read by screen readers and shown on hover), so
tests and people can tell what was drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

# Distinguishable colours, dark enough for white paper; a series past the last repeats them.
PALETTE = (
    "#1f5f99",
    "#b00020",
    "#2e7d32",
    "#d35400",
    "#6a1b9a",
    "#00838f",
    "#c9a400",
    "#7f8c8d",
)


@dataclass(frozen=True)
class Series:
    """One line or one layer of bars: its name (the legend), a value per label, its colour and
    the class its marks carry."""

    name: str
    values: Sequence[int]
    colour: str
    css: str = ""


@dataclass(frozen=True)
class Frame:
    """The chart's size and margins, in SVG units."""

    width: int = 640
    height: int = 220
    left: int = 40
    bottom: int = 30
    top: int = 10
    right: int = 10

    def y(self, value: float, peak: int) -> float:
        """Return the y coordinate of value on an axis from 0 to peak."""
        return self.top + (self.height - self.top - self.bottom) * (1 - value / peak)


def colour_for(index: int) -> str:
    """Return the palette's colour for the index-th series."""
    return PALETTE[index % len(PALETTE)]


def _open(frame: Frame, label: str, peak: int, css: str) -> list[str]:
    zero = frame.y(0, peak)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class={quoteattr(css)} '
        f'width="{frame.width}" height="{frame.height}" '
        f'viewBox="0 0 {frame.width} {frame.height}" role="img" aria-label={quoteattr(label)}>',
        f'<line x1="{frame.left}" y1="{zero:.1f}" x2="{frame.width - frame.right}" '
        f'y2="{zero:.1f}" stroke="#999"/>',
        f'<line x1="{frame.left}" y1="{frame.top}" x2="{frame.left}" y2="{zero:.1f}" '
        'stroke="#999"/>',
        f'<text x="{frame.left - 6}" y="{frame.top + 8}" font-size="9" '
        f'text-anchor="end">{peak}</text>',
        f'<text x="{frame.left - 6}" y="{zero:.1f}" font-size="9" text-anchor="end">0</text>',
    ]


def _labels(frame: Frame, labels: Sequence[str], xs: Sequence[float], every: int) -> list[str]:
    parts = []
    for index, (text, x) in enumerate(zip(labels, xs, strict=True)):
        # The last step is labelled too, unless it would crowd the label just before it.
        last = index == len(labels) - 1 and index % every >= max(1, every // 2)
        if index % every == 0 or last:
            parts.append(
                f'<text x="{x:.1f}" y="{frame.height - 12}" font-size="8" '
                f'text-anchor="middle">{escape(text)}</text>'
            )
    return parts


def _legend(frame: Frame, series: Sequence[Series], spacing: int) -> list[str]:
    return [
        f'<text x="{frame.left + 10 + n * spacing}" y="{frame.height - 1}" font-size="9" '
        f"fill={quoteattr(s.colour)}>{escape(s.name)}</text>"
        for n, s in enumerate(series)
    ]


def _check(labels: Sequence[str], series: Sequence[Series]) -> None:
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(labels)}")


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    frame: Frame = Frame(),
    label_every: int = 2,
    legend_spacing: int = 50,
    label: str = "trend",
    points: bool = False,
) -> str:
    """Return an SVG line chart: one polyline per series over the labels (with a circle per
    value when points is True). Raises ValueError if a series' length differs from the
    labels'."""
    _check(labels, series)
    peak = max([1] + [v for s in series for v in s.values])
    step = (frame.width - frame.left - frame.right) / max(1, len(labels) - 1)
    xs = [frame.left + i * step for i in range(len(labels))]
    parts = _open(frame, label, peak, "chart chart-line")
    parts += _labels(frame, labels, xs, max(1, label_every))
    for s in series:
        coords = " ".join(
            f"{x:.1f},{frame.y(v, peak):.1f}" for x, v in zip(xs, s.values, strict=True)
        )
        parts.append(
            f'<polyline class={quoteattr(s.css)} fill="none" stroke={quoteattr(s.colour)} '
            f'stroke-width="2" points="{coords}"/>'
        )
        if points:
            for x, v, text in zip(xs, s.values, labels, strict=True):
                parts.append(
                    f'<circle class={quoteattr(f"point {s.css}".strip())} cx="{x:.1f}" '
                    f'cy="{frame.y(v, peak):.1f}" r="2.5" fill={quoteattr(s.colour)}>'
                    f"<title>{escape(f'{s.name} {text}: {v}')}</title></circle>"
                )
    parts += _legend(frame, series, legend_spacing)
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    frame: Frame = Frame(),
    label_every: int = 1,
    legend_spacing: int = 110,
    label: str = "bars",
    legend: bool = True,
) -> str:
    """Return an SVG stacked bar chart: a bar per label, one segment (a `rect` of class
    `bar`) per series with a value above 0, its title naming the series, label and value;
    without legend, the caller shows which colour is which. Raises ValueError if a series'
    length differs from the labels'."""
    _check(labels, series)
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    peak = max([1, *totals])
    slot = (frame.width - frame.left - frame.right) / max(1, len(labels))
    width = max(1.0, slot * 0.7)
    xs = [frame.left + slot * (i + 0.5) for i in range(len(labels))]
    parts = _open(frame, label, peak, "chart chart-bar")
    parts += _labels(frame, labels, xs, max(1, label_every))
    for i, (x, text) in enumerate(zip(xs, labels, strict=True)):
        below = 0
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            y_top = frame.y(below + value, peak)
            height = frame.y(below, peak) - y_top
            below += value
            parts.append(
                f'<rect class={quoteattr(f"bar {s.css}".strip())} x="{x - width / 2:.1f}" '
                f'y="{y_top:.1f}" width="{width:.1f}" height="{height:.1f}" '
                f'fill={quoteattr(s.colour)} data-value="{value}">'
                f"<title>{escape(f'{s.name} {text}: {value}')}</title></rect>"
            )
    if legend:
        parts += _legend(frame, series, legend_spacing)
    parts.append("</svg>")
    return "".join(parts)
