"""The import's background task (Django's tasks API, run by ``manage.py db_worker``)."""

from __future__ import annotations

from django_tasks import task

from kundeflyt.imports import services


@task()
def run_import(batch_id: int) -> str:
    """Run a started import; see ``services.running``."""
    return services.run_import(batch_id)
