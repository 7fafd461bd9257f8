"""Reading customer files: CSV the way Norwegian Excel writes it, XLSX and ODS.

- **CSV**: separated by ``;``, ``,`` or tab (``csv.Sniffer`` on a sample, then the most
  frequent of the three in the first line, then ``;``), in UTF-8 with or without a BOM,
  UTF-16 with a BOM (Excel's "Unicode text"), or Windows-1252 when the file is not UTF-8.
  Rows are read one at a time from disk, never the whole file into memory.
- **XLSX and ODS** through python-calamine. They are zip files: the sizes the zip declares
  are checked before anything is unpacked, and then checked again while unpacking (a zip
  can lie about them), so a small file that unpacks to gigabytes is refused at once.

Every refusal is a ``DomainError`` naming the field ``file``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from python_calamine import CalamineWorkbook

from kundeflyt.common.errors import DomainError
from kundeflyt.imports.models import HEADER_LENGTH, MAX_COLUMNS, FileKind

Cell = str | int | float | bool | dt.date | dt.datetime | dt.time | dt.timedelta | None
Row = list[Cell]

DELIMITERS = ";,\t"
SAMPLE_BYTES = 64 * 1024
BLOCK = 1024 * 1024
# A spreadsheet may unpack to this many times the largest file accepted, and no more:
# calamine holds a sheet in memory, so the unpacked size bounds the worker's memory.
UNPACKED_FACTOR = 4
MAX_ZIP_ENTRIES = 5_000

ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def refuse(message: str) -> DomainError:
    return DomainError(message, field="file")


@dataclass
class FileShape:
    """What a file is and how to read it."""

    kind: str
    encoding: str = ""
    delimiter: str = ""
    sheets: list[str] = field(default_factory=list)


def max_unpacked_bytes() -> int:
    return int(settings.IMPORT_MAX_BYTES) * UNPACKED_FACTOR


# --- What kind of file ------------------------------------------------------------------------


def examine(path: Path) -> FileShape:
    """The file's kind and how to read it; refuses files that are not a customer list this
    reader can read, or that would unpack to more than it may."""
    size = path.stat().st_size
    if size == 0:
        raise refuse(_("The file is empty."))
    if size > settings.IMPORT_MAX_BYTES:
        raise refuse(
            _("The file is too large: at most %(mb)s MB.")
            % {"mb": settings.IMPORT_MAX_BYTES // (1024 * 1024)}
        )
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if head.startswith(OLE_MAGIC):
        raise refuse(
            _("This is an old Excel file (XLS). Save it as an Excel workbook (XLSX) or as CSV.")
        )
    if head.startswith(b"PK\x03\x04"):
        return _examine_zip(path)
    encoding = _csv_encoding(path, head)
    return FileShape(kind=FileKind.CSV, encoding=encoding, delimiter=_delimiter(head, encoding))


def _examine_zip(path: Path) -> FileShape:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                raise refuse(_("The file holds too many parts to be a spreadsheet."))
            limit = max_unpacked_bytes()
            if sum(e.file_size for e in entries) > limit:
                raise _too_big_unpacked(limit)
            names = {e.filename for e in entries}
            if "mimetype" in names and archive.read("mimetype").strip() == ODS_MIMETYPE:
                kind = FileKind.ODS
            elif "xl/workbook.xml" in names:
                kind = FileKind.XLSX
            else:
                raise refuse(_("The file is a zip archive, but not an XLSX or ODS spreadsheet."))
            # The declared sizes can lie: unpack once, counting, and stop at the limit. A
            # part that unpacks past its declared size fails its CRC check.
            unpacked = 0
            for entry in entries:
                with archive.open(entry) as part:
                    while chunk := part.read(BLOCK):
                        unpacked += len(chunk)
                        if unpacked > limit:
                            raise _too_big_unpacked(limit)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError):
        raise refuse(_("The spreadsheet is damaged and cannot be read.")) from None
    return FileShape(kind=kind, sheets=sheet_names(path))


def _too_big_unpacked(limit: int) -> DomainError:
    return refuse(
        _("The spreadsheet unpacks to more than %(mb)s MB. Save it as CSV, or split it.")
        % {"mb": limit // (1024 * 1024)}
    )


def _csv_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in head:
        raise refuse(_("The file is not a text file (CSV), an XLSX or an ODS spreadsheet."))
    elif _decodes(path, "utf-8"):
        encoding = "utf-8"
    else:
        encoding = "cp1252"  # what Norwegian Excel writes as "CSV (semikolondelt)"
    if not _decodes(path, encoding):
        raise refuse(_("The file's characters cannot be read. Save it as CSV UTF-8."))
    return encoding


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes, read a megabyte at a time."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as handle:
            while block := handle.read(BLOCK):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _delimiter(head: bytes, encoding: str) -> str:
    text = head.decode(encoding, errors="ignore")
    # Whole lines only: a sample cut inside a quoted field confuses the sniffer.
    if len(head) == SAMPLE_BYTES and "\n" in text:
        text = text[: text.rindex("\n")]
    try:
        found = csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
    except csv.Error:
        found = ""
    if found in DELIMITERS and found:
        return found
    first = _unquoted(text.splitlines()[0] if text else "")
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _unquoted(line: str) -> str:
    return re.sub(r'"[^"]*"', "", line)


# --- Reading rows -------------------------------------------------------------------------------


def sheet_names(path: Path) -> list[str]:
    """The worksheets of a spreadsheet, in the workbook's order."""
    try:
        with CalamineWorkbook.from_path(str(path)) as workbook:
            return list(workbook.sheet_names)
    except Exception:  # calamine raises its own kinds for every damaged file
        raise refuse(_("The spreadsheet is damaged and cannot be read.")) from None


def rows(path: Path, shape: FileShape, *, sheet: str = "") -> Iterator[tuple[int, Row]]:
    """Every row that is not empty, with its row number in the file (1 for the first line
    or the spreadsheet's first row), the header included."""
    if shape.kind == FileKind.CSV:
        yield from _csv_rows(path, shape)
    else:
        yield from _sheet_rows(path, sheet or (shape.sheets[0] if shape.sheets else ""))


def _csv_rows(path: Path, shape: FileShape) -> Iterator[tuple[int, Row]]:
    # csv's own field limit (128 KiB) bounds a row's memory; longer fields are refused.
    with path.open(encoding=shape.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=shape.delimiter or ";", strict=False)
        number = 0
        try:
            for record in reader:
                number += 1
                if any(cell.strip() for cell in record):
                    yield number, list(record)
        except csv.Error:
            raise refuse(
                _("Row %(row)s cannot be read: a field is too long or a quote is not closed.")
                % {"row": number + 1}
            ) from None


def _sheet_rows(path: Path, sheet: str) -> Iterator[tuple[int, Row]]:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception:
        raise refuse(_("The spreadsheet is damaged and cannot be read.")) from None
    with workbook:
        if sheet not in workbook.sheet_names:
            raise DomainError(
                _("The spreadsheet has no sheet “%(sheet)s”.") % {"sheet": sheet[:HEADER_LENGTH]},
                field="sheet",
            )
        try:
            data = workbook.get_sheet_by_name(sheet)
        except Exception:
            raise refuse(_("The spreadsheet is damaged and cannot be read.")) from None
        # calamine's rows start at the sheet's first row, so the index is the row number.
        for index, record in enumerate(data.iter_rows(), start=1):
            if any(not _empty(cell) for cell in record):
                yield index, list(record)


def _empty(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def header_and_rows(
    path: Path, shape: FileShape, *, sheet: str = ""
) -> tuple[int, list[str], Iterator[tuple[int, Row]]]:
    """The header (the first row that is not empty) with its row number, and the rows after
    it. Refuses a file without data or with more columns than an import reads."""
    stream = rows(path, shape, sheet=sheet)
    first = next(stream, None)
    if first is None:
        raise refuse(_("The file has no rows."))
    number, header = first
    while header and _empty(header[-1]):
        header.pop()
    if len(header) > MAX_COLUMNS:
        raise refuse(
            _("The file has %(n)s columns; an import reads at most %(max)s.")
            % {"n": len(header), "max": MAX_COLUMNS}
        )
    return number, [cell_text(c)[:HEADER_LENGTH] for c in header], stream


@dataclass
class Outline:
    """The header's row number, the header, how many data rows follow it, and the first
    values of each column (to help whoever maps the columns)."""

    header_row: int
    header: list[str]
    rows: int
    samples: list[list[str]]


SAMPLE_ROWS = 3
SAMPLE_LENGTH = 40


def outline(path: Path, shape: FileShape, *, sheet: str = "") -> Outline:
    """The file's outline, in one pass; refuses a file with more than ``IMPORT_MAX_ROWS``
    rows."""
    number, header, stream = header_and_rows(path, shape, sheet=sheet)
    limit = int(settings.IMPORT_MAX_ROWS)
    samples: list[list[str]] = [[] for _ in header]
    count = 0
    for _number, row in stream:
        count += 1
        if count <= SAMPLE_ROWS:
            for position, values in enumerate(samples):
                text = cell_text(row[position]) if position < len(row) else ""
                if text:
                    values.append(text[:SAMPLE_LENGTH])
        if count > limit:
            raise refuse(
                _("The file has more than %(n)s rows. Split it into smaller files.")
                % {"n": f"{limit:,}".replace(",", " ")}
            )
    return Outline(number, header, count, samples)


def cell_text(cell: Cell) -> str:
    """A cell as the user would read it in the file."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() and abs(cell) < 1e15 else repr(cell)
    if isinstance(cell, dt.datetime):
        return cell.isoformat(sep=" ")
    if isinstance(cell, dt.date | dt.time):
        return cell.isoformat()
    return str(cell).strip()


def write_csv(header: list[str], records: Iterator[list[str]], *, delimiter: str) -> bytes:
    """A small CSV file (rejected rows to hand back), UTF-8 with a BOM so Excel reads æøå."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter or ";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(records)
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")
