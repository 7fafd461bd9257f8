"""Exports out: every export is recorded (who, what, when, how many rows), small ones stream
at once, large ones run as a background task that writes a private file its maker may
download until it expires.

Files live in ``DATA_DIR / "exports"``, never under the static files, named by a random
token; the download view hands a file only to the user who asked for it. An expired file is
deleted (``export_files_purge``, run before every export and by ``manage.py
exports_purge``); its record stays.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.exports.files import write_file
from kundeflyt.exports.models import Export
from kundeflyt.exports.selectors import Listing, export_of
from kundeflyt.privacy.access_log import Kind as AccessKind
from kundeflyt.privacy.access_log import access_record
from kundeflyt.reports.exports import XLSX_MAX_ROWS

logger = logging.getLogger(__name__)

STREAM_MAX_ROWS = 50_000  # above this an export runs in the background
KEEP_HOURS = 24  # how long the file of a background export can be downloaded
STALLED = dt.timedelta(minutes=30)  # a thousand rows take well under a second


class Gone(DomainError):
    """What was there is deleted for good (an expired export's file)."""

    status = 410
    code = "gone"


def stream_max_rows() -> int:
    return int(getattr(settings, "EXPORT_STREAM_MAX_ROWS", STREAM_MAX_ROWS))


def keep_for() -> dt.timedelta:
    return dt.timedelta(hours=float(getattr(settings, "EXPORT_KEEP_HOURS", KEEP_HOURS)))


def exports_dir() -> Path:
    """The private directory of export files, made on first use, readable by its owner only."""
    path = Path(settings.DATA_DIR) / "exports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def check_fits(listing: Listing, fmt: str) -> None:
    """An XLSX sheet holds at most 1,048,575 rows below its header."""
    if fmt == Export.Format.XLSX and listing.count >= XLSX_MAX_ROWS:
        raise DomainError(
            _(
                "An XLSX sheet holds at most 1,048,575 rows, and %(n)s match. Choose CSV, or "
                "narrow the filters."
            )
            % {"n": listing.count},
            field="format",
        )


def export_begin(actor: User, *, listing: Listing, fmt: str, query: str, language: str) -> Export:
    """Record an export of ``listing``. Small ones are marked as streamed (the caller writes
    them into the response); large ones wait for the background task, which is queued here
    once the record is committed. ``query`` holds the export's filters (``export_query``),
    read again by the task."""
    if fmt not in Export.Format.values:
        raise DomainError(_("Choose CSV or XLSX."), field="format")
    check_fits(listing, fmt)
    export_files_purge()
    now = timezone.now()
    background = listing.count > stream_max_rows()
    export = Export.objects.create(
        user=actor,
        kind=listing.kind,
        format=fmt,
        query=query,
        language=language,
        description=listing.description[:300],
        status=Export.Status.WAITING if background else Export.Status.STREAMED,
        rows_total=listing.count,
        created_at=now,
        finished_at=None if background else now,
        download_name=f"{listing.file_stem}.{fmt}"[:200],
    )
    access_record(actor, AccessKind.EXPORT, export=export)
    if background:
        # The record is committed (views run without a transaction), so a worker finds it;
        # the immediate backend of the test run runs the task here, in this process.
        _enqueue(export.pk)
    return export


def _enqueue(export_id: int) -> None:
    from kundeflyt.exports.tasks import export_run_task

    export_run_task.enqueue(export_id)


def export_run(*, export_id: int) -> None:
    """The background task: write the export's file as its user, with progress, and mark it
    ready until ``keep_for()`` from now, or failed (a half-written file is removed)."""
    from kundeflyt.exports.forms import export_listing

    now = timezone.now()
    claimed = Export.objects.filter(pk=export_id, status=Export.Status.WAITING).update(
        status=Export.Status.RUNNING, started_at=now, progress_at=now
    )
    if not claimed:
        return  # already run, or gone
    export = Export.objects.select_related("user").get(pk=export_id)
    export_files_purge()
    token = secrets.token_urlsafe(24)
    path = exports_dir() / f"{token}.{export.format}"
    part = path.with_suffix(path.suffix + ".part")

    def progress(done: int) -> None:
        Export.objects.filter(pk=export_id).update(rows_done=done, progress_at=timezone.now())

    try:
        with translation.override(export.language):
            listing = export_listing(export.user, export.kind, QueryDict(export.query))
            with part.open("wb") as target:
                written = write_file(listing, export.format, target, progress=progress)
        os.replace(part, path)
    except Exception as error:  # any failure is the export's: shown on its page
        part.unlink(missing_ok=True)
        reason = error.message if isinstance(error, DomainError) else _("The export failed.")
        if not isinstance(error, DomainError):
            logger.exception("export %s failed", export_id)
        Export.objects.filter(pk=export_id).update(
            status=Export.Status.FAILED, finished_at=timezone.now(), error=reason[:500]
        )
        return
    finished = timezone.now()
    Export.objects.filter(pk=export_id).update(
        status=Export.Status.DONE,
        rows_done=written,
        rows_total=written,
        finished_at=finished,
        expires_at=finished + keep_for(),
        file_name=path.name,
    )


def export_file(actor: User, *, export_id: int) -> tuple[Export, Path]:
    """The file of the actor's own ready export; another user's export does not exist for
    them, and an expired one is gone."""
    export = export_of(actor, export_id)
    expired = export.expires_at is not None and export.expires_at <= timezone.now()
    if export.status == Export.Status.EXPIRED or (export.status == Export.Status.DONE and expired):
        raise Gone(_("This export has expired: its file is deleted. Export again."))
    path = exports_dir() / export.file_name if export.file_name else None
    if export.status != Export.Status.DONE or path is None or not path.is_file():
        raise NotFound(_("This export has no file to download."), field="export")
    return export, path


def export_files_purge(now: dt.datetime | None = None) -> int:
    """Delete the files of expired exports and mark them expired; returns how many. A running
    export that has not moved for ``STALLED`` lost its worker: it is marked failed, so its
    page stops waiting and says to export again."""
    now = now or timezone.now()
    Export.objects.filter(status=Export.Status.RUNNING, progress_at__lt=now - STALLED).update(
        status=Export.Status.FAILED,
        finished_at=now,
        error=_("The export stopped: its worker was stopped while it ran. Export again.")[:500],
    )
    expired = list(
        Export.objects.filter(status=Export.Status.DONE, expires_at__lte=now).values_list(
            "pk", "file_name"
        )
    )
    folder = Path(settings.DATA_DIR) / "exports"
    for _pk, name in expired:
        if name:
            (folder / name).unlink(missing_ok=True)
    if expired:
        Export.objects.filter(pk__in=[pk for pk, _name in expired]).update(
            status=Export.Status.EXPIRED, file_name=""
        )
    return len(expired)
