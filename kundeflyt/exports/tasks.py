"""Background work of the exports (Django's tasks API; ``make run`` starts a worker)."""

from __future__ import annotations

from django_tasks import task

from kundeflyt.exports import services


@task()
def export_run_task(export_id: int) -> None:
    """Write a large export's file (``services.export_run``)."""
    services.export_run(export_id=export_id)


@task()
def exports_purge_task() -> None:
    """The scheduled purge (``kundeflyt/schedule.py``) of expired export files."""
    services.export_files_purge()
