"""CSV and XLSX files: every report table, and the customer and registration exports.

A CSV file is written the way a spreadsheet program in the user's language opens it with a
double click: Norwegian Excel takes the comma for the decimal sign, so it separates fields by
semicolons and reads dates as dd.mm.yyyy.

No text cell can run as a formula (OWASP's CSV injection): in a CSV file a text that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a ``'`` in front; in an XLSX
file it is written as a string cell, marked as quoted text, so that editing it in Excel does
not turn it into a formula either. Numbers stay numbers: a negative amount is a number, not a
text.

The exports stream: ``csv_chunks`` yields the file in pieces as its rows come, and
``xlsx_write`` writes a write-only workbook (openpyxl keeps no row in memory) to a file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from kundeflyt.reports.selectors import Column, Table

NUMBER_FORMATS = {"int": "#,##0", "percent": "0.0", "decimal": "0.0", "money": "#,##0.00"}
DATE_FORMATS = {"date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm:ss"}
BOM = "\ufeff"
# OWASP: what a spreadsheet may read as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_576  # Excel's rows per sheet, the header included


def table_lines(table: Table) -> list[list[Any]]:
    """Header, rows and the total row: what both files hold."""
    lines = [[c.label for c in table.columns], *table.rows]
    if table.total is not None:
        lines.append(table.total)
    return lines


@dataclass(frozen=True)
class CsvStyle:
    """Field separator, decimal sign and date and time formats of a CSV file."""

    delimiter: str
    decimal: str
    date: str  # a strftime format
    datetime: str = "%Y-%m-%d %H:%M:%S"


ENGLISH_CSV = CsvStyle(delimiter=",", decimal=".", date="%Y-%m-%d")
NORWEGIAN_CSV = CsvStyle(delimiter=";", decimal=",", date="%d.%m.%Y", datetime="%d.%m.%Y %H:%M:%S")


def csv_style(language: str | None) -> CsvStyle:
    """The style for one of the languages of the settings: Norwegian for nb, else English."""
    return NORWEGIAN_CSV if language == "nb" else ENGLISH_CSV


def formula_safe(text: str) -> str:
    """A text no spreadsheet runs as a formula: quoted with ``'`` when it starts like one."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell_text(value: Any, style: CsvStyle) -> str:
    """A value as CSV text in ``style``: whole numbers plain (no thousands separator), other
    numbers in positional notation with the style's decimal sign, nothing for None, and text
    that could start a formula quoted."""
    if type(value) is str:  # the most common cell first
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime(style.datetime)
    if isinstance(value, dt.date):
        return value.strftime(style.date)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        value = Decimal(repr(value))  # the shortest decimal that reads back as this float
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", style.decimal)
    return formula_safe(str(value))


def csv_chunks(
    rows: Iterable[Sequence[Any]], style: CsvStyle, *, rows_per_chunk: int = 500
) -> Iterator[bytes]:
    """A CSV file in UTF-8 with a byte-order mark (so spreadsheet programs read æ, ø and å
    right), yielded in pieces of ``rows_per_chunk`` rows: the file is never whole in memory."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=style.delimiter, lineterminator="\r\n")
    waiting = 0
    for row in rows:
        writer.writerow([cell_text(v, style) for v in row])
        waiting += 1
        if waiting >= rows_per_chunk:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
            waiting = 0
    if out.tell():
        yield out.getvalue().encode("utf-8")


def table_csv(table: Table, *, language: str | None) -> bytes:
    """One report table in the CSV style of ``language``."""
    return b"".join(csv_chunks(table_lines(table), csv_style(language)))


def sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Report"


def _xlsx_text(value: Any) -> str:
    """Text as a worksheet takes it: no control characters, at most 32,767 characters."""
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))[:32767]


def _quoted(cell: Any) -> None:
    """A text that starts like a formula stays text: a string cell with Excel's quote prefix."""
    cell.data_type = "s"
    cell.quotePrefix = True


def table_xlsx(table: Table) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = sheet_title(table.title)
    for r, line in enumerate(table_lines(table), start=1):
        for c, value in enumerate(line, start=1):
            if value is not None and not isinstance(value, int | float | Decimal | dt.date):
                value = _xlsx_text(value)
            cell = sheet.cell(row=r, column=c, value=value if value != "" else None)
            if isinstance(value, str) and value.startswith(FORMULA_STARTS):
                _quoted(cell)
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


# --- Streamed workbooks ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    """One sheet of a streamed workbook: its title and columns."""

    title: str
    columns: Sequence[Column]


class _SheetWriter:
    """Appends rows to one write-only sheet, typed by its columns."""

    def __init__(self, workbook: Workbook, sheet: Sheet) -> None:
        self.sheet: WriteOnlyWorksheet = workbook.create_sheet(sheet_title(sheet.title))
        self.sheet.freeze_panes = "A2"
        for c, column in enumerate(sheet.columns, start=1):
            width = 20 if column.kind in DATE_FORMATS else len(column.label) + 4
            self.sheet.column_dimensions[get_column_letter(c)].width = max(10, min(40, width))
        self.formats = [
            NUMBER_FORMATS.get(c.kind) or DATE_FORMATS.get(c.kind) for c in sheet.columns
        ]
        header = []
        for column in sheet.columns:
            cell = WriteOnlyCell(self.sheet, value=_xlsx_text(column.label))
            cell.font = Font(bold=True)
            if cell.value.startswith(FORMULA_STARTS):
                _quoted(cell)
            header.append(cell)
        self.sheet.append(header)
        self.rows = 1

    def append(self, values: Sequence[Any]) -> None:
        if self.rows >= XLSX_MAX_ROWS:
            raise ValueError("an XLSX sheet holds at most 1,048,576 rows")
        row: list[Any] = []
        for value, number_format in zip(values, self.formats, strict=True):
            if value is None or value == "":
                row.append(None)
            elif isinstance(value, bool):
                row.append(str(value))
            elif isinstance(value, int | float | Decimal | dt.date):
                if number_format is None or number_format == NUMBER_FORMATS["int"]:
                    row.append(value)
                else:
                    cell = WriteOnlyCell(self.sheet, value=value)
                    cell.number_format = number_format
                    row.append(cell)
            else:
                text = _xlsx_text(value)
                if text.startswith(FORMULA_STARTS):
                    cell = WriteOnlyCell(self.sheet, value=text)
                    _quoted(cell)
                    row.append(cell)
                else:
                    row.append(text)
        self.sheet.append(row)
        self.rows += 1


def xlsx_write(
    target: IO[bytes],
    sheets: Sequence[Sheet],
    rows: Iterable[tuple[int, Sequence[Any]]],
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write ``rows`` (each with the index of its sheet) to a write-only workbook in
    ``target``; returns the number of rows of the first sheet. ``progress`` is told that count
    every thousand rows. Datetimes must be naive (local time): Excel knows no time zones."""
    workbook = Workbook(write_only=True)
    writers = [_SheetWriter(workbook, sheet) for sheet in sheets]
    written = 0
    for index, values in rows:
        writers[index].append(values)
        if index == 0:
            written += 1
            if progress is not None and written % 1000 == 0:
                progress(written)
    workbook.save(target)
    return written
