"""Scheduled work of the API (``kundeflyt/schedule.py``)."""

from __future__ import annotations

from django_tasks import task

from kundeflyt.api.idempotency import idempotency_keys_purge


@task()
def idempotency_keys_purge_task() -> None:
    idempotency_keys_purge()
