"""The line chart of a long period labels its days without one label running into the next,
keeps the first and the last day labelled, and keeps every label inside the picture."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from itertools import pairwise

import pytest
from django.utils import translation

from kundeflyt.reports.charts import table_chart, text_width
from kundeflyt.reports.selectors import Chart, Column, Table

FIRST = dt.date(2025, 1, 1)


def days_table(days: int) -> Table:
    """An activity-per-day table over ``days`` days, as the activity report builds it."""
    return Table(
        "days",
        "Activity per day",
        [Column("day", "Day", "date"), Column("outcomes", "Outcomes", "int")],
        [[FIRST + dt.timedelta(days=n), n % 7] for n in range(days)],
        chart=Chart("line", "day", ("outcomes",)),
    )


def day_labels(svg: str) -> tuple[float, list[tuple[str, float, float]]]:
    """The picture's width and its x-axis labels as (text, left edge, right edge), left to right,
    with the width the chart estimates for each."""
    root = ET.fromstring(svg)
    width = float(root.attrib["viewBox"].split()[2])
    axis = [t for t in root.iter("text") if t.attrib.get("class") == "chart-axis"]
    bottom = max(float(t.attrib["y"]) for t in axis)  # the y axis' figures sit higher
    labels = []
    for t in axis:
        if float(t.attrib["y"]) != bottom:
            continue
        text, x = t.text or "", float(t.attrib["x"])
        w = text_width(text)
        left = {"start": x, "middle": x - w / 2, "end": x - w}[t.attrib["text-anchor"]]
        labels.append((text, left, left + w))
    return width, sorted(labels, key=lambda label: label[1])


@pytest.mark.parametrize("language", ["nb", "en"])
@pytest.mark.parametrize("days", [1, 2, 7, 31, 90, 365])
def test_day_labels_never_overlap_and_the_first_and_last_day_are_labelled(
    days: int, language: str
) -> None:
    with translation.override(language):
        width, labels = day_labels(str(table_chart(days_table(days))))
    shown = "%d.%m.%Y" if language == "nb" else "%m/%d/%Y"
    last = FIRST + dt.timedelta(days=days - 1)

    assert labels[0][0] == FIRST.strftime(shown) and labels[-1][0] == last.strftime(shown)
    assert len(labels) >= min(days, 5)  # thinned, not bare
    for (text, _, right), (following, left, _) in pairwise(labels):
        assert right <= left, f"{text} runs into {following} ({days} days)"
    assert labels[0][1] >= 0 and labels[-1][2] <= width
    if days == 7:
        assert len(labels) == 7  # a week has room for every day
