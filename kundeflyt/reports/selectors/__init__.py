"""Report queries, always given the requesting user (DESIGN.md rules 6 and 9).

Every figure comes from the rollups in ``models.py``, which count exactly the events that are
included and not corrected, under their *counts for* user and *counts at* day. Only campaigns
the user may see are counted; without *individual results* nobody is named and people are
summed per team; without *revenue* no amount of money is shown. The number of queries of a
report does not grow with the events: each table is one ``GROUP BY`` over a rollup, and the
names in it are looked up once.

One module per report family (``activity``, ``outcomes``, ``products``, ``meetings``,
``status``, ``calls``), what they share in ``scope``, the filters' choices in ``choices``;
every public name is imported from here.
"""

from __future__ import annotations

from collections.abc import Callable

from kundeflyt.accounts.models import User
from kundeflyt.reports.selectors.activity import ACTIVITY, activity_report
from kundeflyt.reports.selectors.calls import calls_report
from kundeflyt.reports.selectors.choices import FilterChoices, filter_choices
from kundeflyt.reports.selectors.meetings import meetings_report
from kundeflyt.reports.selectors.outcomes import outcomes_report
from kundeflyt.reports.selectors.products import PRODUCTS, products_report
from kundeflyt.reports.selectors.scope import (
    UNSEGMENTED,
    Chart,
    Column,
    Report,
    ReportFilter,
    Scope,
    Table,
    money,
    per_hour,
    percent,
    report_scope,
)
from kundeflyt.reports.selectors.status import status_report

__all__ = [
    "ACTIVITY",
    "PRODUCTS",
    "REPORTS",
    "UNSEGMENTED",
    "Chart",
    "Column",
    "FilterChoices",
    "Report",
    "ReportFilter",
    "Scope",
    "Table",
    "activity_report",
    "calls_report",
    "filter_choices",
    "meetings_report",
    "money",
    "outcomes_report",
    "per_hour",
    "percent",
    "products_report",
    "report_scope",
    "status_report",
]

REPORTS: dict[str, Callable[[User, ReportFilter], Report]] = {
    "activity": activity_report,
    "outcomes": outcomes_report,
    "products": products_report,
    "meetings": meetings_report,
    "status": status_report,
    "calls": calls_report,
}
