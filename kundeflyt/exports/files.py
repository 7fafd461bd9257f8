"""An export as a file: CSV streamed in pieces, XLSX through a write-only workbook, into a
response or into a file of the export directory."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any

from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import translation
from django.utils.translation import get_language

from kundeflyt.exports.selectors import Listing
from kundeflyt.reports.exports import csv_chunks, csv_style, xlsx_write

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


class Counter:
    """Counts the rows written and tells ``progress`` every thousand."""

    def __init__(self, progress: Callable[[int], None] | None = None) -> None:
        self.done = 0
        self.progress = progress

    def __call__(self, done: int) -> None:
        self.done = done
        if self.progress is not None:
            self.progress(done)


def csv_rows(listing: Listing, counter: Counter | None = None) -> Iterator[list[Any]]:
    """The header and the rows of the first sheet."""
    yield [c.label for c in listing.sheets[0].columns]
    for done, (_sheet, values) in enumerate(listing.rows(False), start=1):
        yield values
        if counter is not None:
            counter.done = done
            if done % 1000 == 0:
                counter(done)


def write_file(
    listing: Listing,
    fmt: str,
    target: IO[bytes],
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the whole export to ``target`` (CSV in the style of the active language);
    returns its number of rows."""
    if fmt == "xlsx":
        return xlsx_write(target, listing.sheets, listing.rows(True), progress=progress)
    counter = Counter(progress)
    for chunk in csv_chunks(csv_rows(listing, counter), csv_style(get_language())):
        target.write(chunk)
    return counter.done


def response(listing: Listing, fmt: str) -> HttpResponseBase:
    """The export as a download: CSV streams as its rows are read (a million rows are never
    in memory); XLSX is written to a temporary file first, then sent from it."""
    name = f"{listing.file_stem}.{fmt}"
    if fmt == "xlsx":
        # Deleted when the response closes it, after the last byte is sent.
        spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        xlsx_write(spool, listing.sheets, listing.rows(True))
        spool.seek(0)
        return FileResponse(spool, as_attachment=True, filename=name, content_type=XLSX)
    streamed = StreamingHttpResponse(_in_language(listing, get_language()), content_type=CSV)
    streamed["Content-Disposition"] = f'attachment; filename="{name}"'
    return streamed


def _in_language(listing: Listing, language: str | None) -> Iterator[bytes]:
    """The CSV pieces, written in the request's language also while the server sends them
    (after the view and its middleware have returned)."""
    with translation.override(language):
        yield from csv_chunks(csv_rows(listing), csv_style(language))
