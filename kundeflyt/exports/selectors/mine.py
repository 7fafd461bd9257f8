"""A user's own exports: the list, one export's page and its progress. Nobody sees another
user's export; it is refused as if it did not exist."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.common.errors import NotFound
from kundeflyt.exports.models import Export


def exports_of(actor: User) -> QuerySet[Export]:
    return Export.objects.filter(user=actor).order_by("-created_at", "-id")


def export_of(actor: User, export_id: int) -> Export:
    found = exports_of(actor).filter(pk=export_id).first()
    if found is None:
        raise NotFound(_("No such export."), field="export")
    return found


def export_progress(export: Export, *, stalled_after: dt.timedelta) -> dict[str, Any]:
    """Rows a second so far, and whether a running export has stopped moving, for its page."""
    now = timezone.now()
    rate = None
    if export.started_at and export.rows_done:
        end = export.finished_at or now
        seconds = max((end - export.started_at).total_seconds(), 0.001)
        rate = round(export.rows_done / seconds)
    stalled = (
        export.status == Export.Status.RUNNING
        and export.progress_at is not None
        and export.progress_at < now - stalled_after
    )
    return {"rate": rate, "stalled": stalled}
