"""Reading customer files: every format a client sends, and the files that must be refused."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from django.test import override_settings

from kundeflyt.common.errors import DomainError
from kundeflyt.imports import files
from tests.imports.sheets import csv_bytes, ods_bytes, xlsx_bytes

ROWS = [
    ["Kundenr", "Navn", "Adresse", "Mobil"],
    ["1001", "Kari Ærlig", "Storgata 1; 2. etasje", "912 34 567"],
    ["1002", "Øystein Å", 'Gata "på hjørnet", Oslo', "+47 41234567"],
]


def write(tmp_path: Path, content: bytes, name: str = "kunder.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def read_all(path: Path, sheet: str = "") -> tuple[files.FileShape, list[str], list[list[str]]]:
    shape = files.examine(path)
    _number, header, stream = files.header_and_rows(path, shape, sheet=sheet)
    return shape, header, [[files.cell_text(c) for c in row] for _n, row in stream]


@pytest.mark.parametrize(
    ("delimiter", "encoding", "expected_encoding"),
    [
        (";", "utf-8-sig", "utf-8-sig"),  # Excel's "CSV UTF-8"
        (";", "utf-8", "utf-8"),
        (";", "cp1252", "cp1252"),  # Norwegian Excel's "CSV (semikolondelt)"
        (",", "utf-8", "utf-8"),
        ("\t", "utf-16", "utf-16"),  # Excel's "Unicode text"
        ("\t", "cp1252", "cp1252"),
    ],
)
def test_csv_in_every_separator_and_character_set_reads_the_same(
    tmp_path: Path, delimiter: str, encoding: str, expected_encoding: str
) -> None:
    path = write(tmp_path, csv_bytes(ROWS, delimiter=delimiter, encoding=encoding))

    shape, header, rows = read_all(path)

    assert (shape.kind, shape.encoding, shape.delimiter) == ("csv", expected_encoding, delimiter)
    assert header == ROWS[0]
    assert rows == ROWS[1:]  # æøå, quoted separators and quotes inside fields intact


def test_a_single_column_file_falls_back_to_semicolons(tmp_path: Path) -> None:
    path = write(tmp_path, b"Kundenr\r\n1\r\n2\r\n")

    shape, header, rows = read_all(path)

    assert shape.delimiter == ";"
    assert (header, rows) == (["Kundenr"], [["1"], ["2"]])


def test_empty_rows_are_skipped_and_rows_keep_their_numbers_in_the_file(tmp_path: Path) -> None:
    content = csv_bytes([["Kundenr", "Navn"], ["1", "A"], ["", ""], [" ", ""], ["2", "B"]])
    path = write(tmp_path, content)
    shape = files.examine(path)

    number, _header, stream = files.header_and_rows(path, shape)

    assert number == 1
    assert [(n, row) for n, row in stream] == [(2, ["1", "A"]), (5, ["2", "B"])]
    assert files.outline(path, shape) == files.Outline(
        1, ["Kundenr", "Navn"], 2, [["1", "2"], ["A", "B"]]
    )


def test_xlsx_with_several_sheets_reads_the_chosen_sheet_with_typed_cells(tmp_path: Path) -> None:
    content = xlsx_bytes(
        {
            "Forside": [["Kundeliste fra Kunde AS"]],
            "Kunder": [
                ["Kundenr", "Navn", "Født", "Telefon"],
                [1001, "Kari Ærlig", dt.datetime(1980, 2, 1), 91234567],
                [None, None, None, None],
                [1002, "Øystein", 29252, "41234567"],  # a date stored as its serial
            ],
        }
    )
    path = write(tmp_path, content, "kunder.xlsx")

    shape = files.examine(path)
    number, header, stream = files.header_and_rows(path, shape, sheet="Kunder")
    rows = list(stream)

    assert (shape.kind, shape.sheets) == ("xlsx", ["Forside", "Kunder"])
    assert (number, header) == (1, ["Kundenr", "Navn", "Født", "Telefon"])
    assert [n for n, _row in rows] == [2, 4]
    assert rows[0][1][:2] == [1001.0, "Kari Ærlig"]
    assert rows[0][1][2] in (dt.datetime(1980, 2, 1), dt.date(1980, 2, 1))


def test_ods_reads_like_xlsx(tmp_path: Path) -> None:
    content = ods_bytes(
        {"Kunder": [["Kundenr", "Navn", "Født"], [1001, "Kari Å", dt.date(1980, 2, 1)]]}
    )
    path = write(tmp_path, content, "kunder.ods")

    shape, header, rows = read_all(path, sheet="Kunder")

    assert (shape.kind, shape.sheets) == ("ods", ["Kunder"])
    assert header == ["Kundenr", "Navn", "Født"]
    assert rows == [["1001", "Kari Å", "1980-02-01"]]


def test_a_missing_sheet_is_refused_naming_the_sheet(tmp_path: Path) -> None:
    path = write(tmp_path, xlsx_bytes({"Kunder": [["Kundenr"], [1]]}), "k.xlsx")

    with pytest.raises(DomainError) as refused:
        list(files.rows(path, files.examine(path), sheet="Ark9"))

    assert refused.value.field == "sheet"


@override_settings(IMPORT_MAX_BYTES=1000)
def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, b"Kundenr\r\n" + b"1\r\n" * 600)

    with pytest.raises(DomainError, match="too large"):
        files.examine(path)


@override_settings(IMPORT_MAX_ROWS=3)
def test_a_file_over_the_row_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, csv_bytes([["Kundenr"], ["1"], ["2"], ["3"], ["4"]]))

    with pytest.raises(DomainError, match="more than 3 rows"):
        files.outline(path, files.examine(path))


@override_settings(IMPORT_MAX_BYTES=100_000)
def test_an_xlsx_that_unpacks_to_a_huge_size_is_refused_before_it_is_read(tmp_path: Path) -> None:
    # A zip bomb: 20 MB of zeros packs into some 20 kB.
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 20_000_000)
    path = write(tmp_path, bomb.getvalue(), "bomb.xlsx")
    assert path.stat().st_size < 100_000

    with pytest.raises(DomainError, match="unpacks to more than"):
        files.examine(path)


@override_settings(IMPORT_MAX_BYTES=100_000)
def test_a_zip_that_lies_about_its_sizes_is_refused_too(tmp_path: Path) -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 5_000_000)
    data = bytearray(bomb.getvalue())
    # Declare 1,000 bytes instead of 5,000,000 in the local and central headers.
    real = (5_000_000).to_bytes(4, "little")
    data = bytearray(bytes(data).replace(real, (1000).to_bytes(4, "little")))
    path = write(tmp_path, bytes(data), "liar.xlsx")

    with pytest.raises(DomainError):
        files.examine(path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old Excel file"),
        (b"PK\x03\x04not really a zip", "damaged"),
        (b"Kundenr\x00\x00\x01", "not a text file"),
    ],
)
def test_files_that_are_no_customer_list_are_refused_with_the_reason(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    with pytest.raises(DomainError, match=reason) as refused:
        files.examine(write(tmp_path, content))

    assert refused.value.field == "file"


def test_a_zip_that_is_no_spreadsheet_is_refused(tmp_path: Path) -> None:
    archive_bytes = io.BytesIO()
    with zipfile.ZipFile(archive_bytes, "w") as archive:
        archive.writestr("readme.txt", "hei")

    with pytest.raises(DomainError, match="not an XLSX or ODS"):
        files.examine(write(tmp_path, archive_bytes.getvalue(), "x.zip"))


def test_an_unclosed_quote_or_huge_field_is_refused_naming_the_row(tmp_path: Path) -> None:
    content = b"Kundenr;Navn\r\n1;" + b"x" * 200_000 + b"\r\n"
    path = write(tmp_path, content)

    with pytest.raises(DomainError, match="Row 2"):
        list(files.rows(path, files.examine(path)))


def test_a_file_with_too_many_columns_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, csv_bytes([[f"c{i}" for i in range(250)], ["1"] * 250]))

    with pytest.raises(DomainError, match="250 columns"):
        files.header_and_rows(path, files.examine(path))
