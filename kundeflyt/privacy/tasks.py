"""Scheduled work of privacy (``kundeflyt/schedule.py``)."""

from __future__ import annotations

from django_tasks import task

from kundeflyt.privacy.access_log import access_log_purge
from kundeflyt.privacy.register import register_run
from kundeflyt.privacy.retention import retention_run


@task()
def retention_task() -> None:
    retention_run()


@task()
def access_log_purge_task() -> None:
    access_log_purge()


@task()
def register_load_task(load_id: int) -> None:
    """Load an uploaded Reservasjonsregisteret file (``register.register_run``)."""
    register_run(load_id=load_id)
