"""Showing report tables: cells formatted by their column's kind, and the table's chart."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import template
from django.utils.formats import date_format, number_format
from django.utils.safestring import SafeString

from kundeflyt.reports.charts import table_chart
from kundeflyt.reports.selectors import Column, Table

register = template.Library()


@register.filter
def cell(value: Any, column: Column) -> str:
    """A figure as the page shows it: grouped thousands, one decimal for rates, a dash for
    none."""
    if value is None:
        return "—"
    if isinstance(value, dt.date):
        return date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return str(value)
    if column.kind == "percent":
        return f"{number_format(value, 1, use_l10n=True)} %"
    if column.kind == "money":
        return number_format(value, 2, use_l10n=True, force_grouping=True)
    if column.kind == "decimal":
        return number_format(value, 1, use_l10n=True)
    return number_format(value, use_l10n=True, force_grouping=True)


@register.simple_tag
def report_chart(table: Table) -> SafeString:
    return table_chart(table)


@register.filter
def zip_columns(row: list[Any], columns: list[Column]) -> list[tuple[Any, Column]]:
    return list(zip(row, columns, strict=False))
