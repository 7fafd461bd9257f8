"""Bar and line charts as inline SVG, drawn on the server: no script, no build step, no CDN.

Labels are escaped; the figures come from the same table the page shows and exports.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils.formats import date_format, number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from kundeflyt.reports.selectors import Table

COLOURS = ("#1d4ed8", "#059669", "#b45309", "#7c3aed")
MAX_BARS = 30
AXIS_FONT_SIZE = 11  # .chart-axis in reports.css, in the picture's own units
LABEL_GAP = 8  # the least room between two axis labels

Number = int | float | Decimal


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float, Decimal)) else 0.0


def _label(value: Any) -> str:
    if isinstance(value, dt.date):
        return date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


def _figure(value: Number) -> str:
    return number_format(value, decimal_pos=None, use_l10n=True, force_grouping=True)


def text_width(text: str, size: float = AXIS_FONT_SIZE) -> float:
    """A generous estimate of how wide ``text`` is drawn: 0.6 em a character, wider than the
    digits, dots and slashes of a date in any common sans-serif."""
    return len(text) * size * 0.6


def axis_labels(count: int, spacing: float, width: float) -> list[int]:
    """The indexes of the ``count`` points, ``spacing`` apart, that get a label ``width`` wide.

    The first label starts at its point and the last ends at its point (so both stay inside
    the picture); the others are centred. The step keeps a centred label clear of the first,
    hence one and a half labels apart; only the label before the last can still be too close
    to the last, and it gives way. (First and last meet only on a plot under two labels wide.)
    """
    if count < 2:
        return list(range(count))
    step = max(1, math.ceil((1.5 * width + LABEL_GAP) / spacing))
    shown = list(range(0, count - 1, step))
    if shown[-1] != 0 and (count - 1 - shown[-1]) * spacing < 1.5 * width + LABEL_GAP:
        shown.pop()
    return [*shown, count - 1]


def bar_chart(title: str, labels: Sequence[str], values: Sequence[Number]) -> SafeString:
    """Horizontal bars, one per label, each with its figure at the end."""
    labels, values = list(labels)[:MAX_BARS], list(values)[:MAX_BARS]
    row, top, width, label_width = 24, 6, 720, 230
    height = top * 2 + row * max(len(labels), 1)
    largest = max((_number(v) for v in values), default=0) or 1
    room = width - label_width - 70
    parts = [
        f'<svg class="chart bar-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMinYMin meet" '
        f'style="max-height:{height}px"><title>{escape(title)}</title>'
    ]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + index * row
        length = max(_number(value) / largest * room, 0)
        short = label if len(label) <= 32 else label[:31] + "…"
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end" class="chart-label">'
            f"{escape(short)}</text>"
            f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" '
            f'rx="2" fill="{COLOURS[0]}"><title>{escape(label)}: {escape(_figure(value))}'
            f"</title></rect>"
            f'<text x="{label_width + length + 6:.1f}" y="{y + 16}" class="chart-value">'
            f"{escape(_figure(value))}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text in it went through escape()


def line_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[Number]]]
) -> SafeString:
    """One line per series over the labels (days), with a y axis of four steps and a legend."""
    width, height, left, right, top, bottom = 720, 240, 48, 12, 28, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    largest = max((_number(v) for _, values in series for v in values), default=0) or 1
    count = len(labels)

    def x(i: int) -> float:
        return left + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y(v: Number) -> float:
        return top + plot_h - _number(v) / largest * plot_h

    parts = [
        f'<svg class="chart line-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>"
    ]
    for step in range(5):
        value = largest * step / 4
        gy = y(value)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{gy:.1f}" y2="{gy:.1f}" '
            f'class="chart-grid"/><text x="{left - 6}" y="{gy + 4:.1f}" text-anchor="end" '
            f'class="chart-axis">{escape(_figure(round(value)))}</text>'
        )
    widest = max((text_width(label) for label in labels), default=0.0)
    for i in axis_labels(count, plot_w / max(count - 1, 1), widest):
        # The first and last labels keep inside the picture.
        anchor = "start" if i == 0 and count > 1 else "end" if i == count - 1 else "middle"
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="{anchor}" '
            f'class="chart-axis">{escape(labels[i])}</text>'
        )
    for n, (name, values) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        for i, v in enumerate(values):
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}">'
                f"<title>{escape(labels[i])}: {escape(name)} {escape(_figure(v))}</title>"
                f"</circle>"
            )
        parts.append(
            f'<rect x="{left + n * 170}" y="6" width="12" height="12" fill="{colour}"/>'
            f'<text x="{left + n * 170 + 18}" y="16" class="chart-label">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text in it went through escape()


def table_chart(table: Table) -> SafeString:
    """The chart a table asks for, drawn from its rows (the figures the page shows)."""
    chart = table.chart
    if chart is None or not table.rows:
        return mark_safe("")
    label_at = table.column(chart.label)
    labels = [_label(row[label_at]) for row in table.rows]
    if chart.kind == "bar":
        at = table.column(chart.values[0])
        return bar_chart(table.title, labels, [row[at] or 0 for row in table.rows])
    series = []
    for key in chart.values:
        at = table.column(key)
        series.append((table.columns[at].label, [row[at] or 0 for row in table.rows]))
    return line_chart(table.title, labels, series)
