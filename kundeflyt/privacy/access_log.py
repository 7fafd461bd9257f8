"""Writing and reading the access log: every look at a customer's personal data leaves a
compact row (GDPR Art. 5(2) and 32: the controller can show who saw what)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from kundeflyt.accounts.models import User
from kundeflyt.exports.models import Export
from kundeflyt.privacy.models import AccessLogEntry

Kind = AccessLogEntry.Kind


def access_record(
    user: User | object,
    kind: str,
    customer_ids: Iterable[int] = (),
    *,
    export: Export | None = None,
) -> None:
    """Log that ``user`` saw these customers (or took ``export``). Processes and anonymous
    requests leave no row: a person looks, a process only works."""
    if not isinstance(user, User):
        return
    now = timezone.now()
    rows = [AccessLogEntry(user=user, at=now, kind=kind, customer_id=pk) for pk in customer_ids]
    if export is not None:
        rows.append(AccessLogEntry(user=user, at=now, kind=kind, export=export))
    if len(rows) == 1:
        rows[0].save(force_insert=True)  # one INSERT, without bulk_create's transaction
    elif rows:
        AccessLogEntry.objects.bulk_create(rows)


def access_log_of(customer_id: int) -> QuerySet[AccessLogEntry]:
    return (
        AccessLogEntry.objects.filter(customer_id=customer_id)
        .select_related("user")
        .order_by("-at", "-pk")
    )


def access_log_purge(now: dt.datetime | None = None) -> int:
    """Forget the rows older than ``ACCESS_LOG_DAYS``; returns how many."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.ACCESS_LOG_DAYS)
    deleted, _per_model = AccessLogEntry.objects.filter(at__lt=cutoff).delete()
    return deleted
