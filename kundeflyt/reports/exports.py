"""Every report table as CSV and as XLSX, with the numbers the page shows.

A CSV file is written the way a spreadsheet program in the user's language opens it with a
double click: Norwegian Excel takes the comma for the decimal sign, so it separates fields by
semicolons and reads dates as dd.mm.yyyy.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from kundeflyt.reports.selectors import Table

NUMBER_FORMATS = {"int": "#,##0", "percent": "0.0", "decimal": "0.0", "money": "#,##0.00"}


def table_lines(table: Table) -> list[list[Any]]:
    """Header, rows and the total row: what both files hold."""
    lines = [[c.label for c in table.columns], *table.rows]
    if table.total is not None:
        lines.append(table.total)
    return lines


@dataclass(frozen=True)
class CsvStyle:
    """Field separator, decimal sign and date format of a CSV file."""

    delimiter: str
    decimal: str
    date: str  # a strftime format


ENGLISH_CSV = CsvStyle(delimiter=",", decimal=".", date="%Y-%m-%d")
NORWEGIAN_CSV = CsvStyle(delimiter=";", decimal=",", date="%d.%m.%Y")


def csv_style(language: str | None) -> CsvStyle:
    """The style for one of the languages of the settings: Norwegian for nb, else English."""
    return NORWEGIAN_CSV if language == "nb" else ENGLISH_CSV


def cell_text(value: Any, style: CsvStyle) -> str:
    """A value as CSV text in ``style``: whole numbers plain (no thousands separator), other
    numbers in positional notation with the style's decimal sign, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.strftime(style.date)
    if isinstance(value, float):
        value = Decimal(repr(value))  # the shortest decimal that reads back as this float
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", style.decimal)
    return str(value)


def table_csv(table: Table, *, language: str | None) -> bytes:
    """UTF-8 with a byte-order mark, so that spreadsheet programs read æ, ø and å right, in the
    CSV style of ``language``."""
    style = csv_style(language)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=style.delimiter, lineterminator="\r\n")
    for line in table_lines(table):
        writer.writerow([cell_text(v, style) for v in line])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Report"


def table_xlsx(table: Table) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = sheet_title(table.title)
    for r, line in enumerate(table_lines(table), start=1):
        for c, value in enumerate(line, start=1):
            cell = sheet.cell(row=r, column=c, value=value if value != "" else None)
            column = table.columns[c - 1]
            if r == 1 or (table.total is not None and line is table.total):
                cell.font = Font(bold=True)
            elif column.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[column.kind]
            elif column.kind == "date":
                cell.number_format = "yyyy-mm-dd"
    for c, column in enumerate(table.columns, start=1):
        letter = sheet.cell(row=1, column=c).column_letter
        sheet.column_dimensions[letter].width = max(12, min(40, len(column.label) + 4))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
