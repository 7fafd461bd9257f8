"""``manage.py worker``: the background worker (django-tasks-db's ``db_worker``) with the clock
that enqueues scheduled jobs (``kundeflyt/schedule.py``) running beside it in the same process.
Takes every option of ``db_worker``."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DbWorker


class Command(DbWorker):
    help = "Run background tasks, and enqueue the scheduled jobs when they are due."

    def handle(self, *args: Any, **options: Any) -> None:
        # With --reload the command runs twice: a parent that watches files and a child that
        # works. Only the working process keeps the clock.
        working = not options.get("reload") or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true"
        if working and settings.SCHEDULER_ENABLED and not options.get("batch"):
            from kundeflyt.schedule import scheduler_start

            scheduler_start()
        super().handle(*args, **options)
