"""The clock of scheduled jobs: every worker runs it, and a job runs once per slot however
many workers do."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from apscheduler.triggers.cron import CronTrigger

from kundeflyt.common.models import ScheduledRun
from kundeflyt.schedule import JOBS, OSLO, job_run, latest_slot, scheduler_start

pytestmark = pytest.mark.django_db


def test_a_slot_is_run_once_however_many_workers_reach_it(
    django_capture_on_commit_callbacks: Any,
) -> None:
    job = next(j for j in JOBS if j.name == "retention")
    slot = dt.datetime(2026, 12, 1, 2, 30, tzinfo=OSLO)
    with mock.patch("kundeflyt.schedule.import_string") as task_of:
        with django_capture_on_commit_callbacks(execute=True):
            first = job_run(job, slot)
        with django_capture_on_commit_callbacks(execute=True):
            second = job_run(job, slot)

    assert (first, second) == (True, False)
    task_of.assert_called_once_with("kundeflyt.privacy.tasks.retention_task")
    assert task_of.return_value.enqueue.call_count == 1
    assert ScheduledRun.objects.get().slot == slot


def test_the_slot_is_the_triggers_time_however_late_a_worker_wakes() -> None:
    trigger = CronTrigger(timezone=OSLO, hour="2", minute="30")
    for late in (0, 1, 59, 240):
        now = dt.datetime(2026, 12, 1, 2, 30, tzinfo=OSLO) + dt.timedelta(seconds=late)
        assert latest_slot(trigger, now) == dt.datetime(2026, 12, 1, 2, 30, tzinfo=OSLO)
    every_five = CronTrigger(timezone=OSLO, minute="*/5")
    now = dt.datetime(2026, 12, 1, 10, 7, 30, tzinfo=OSLO)
    assert latest_slot(every_five, now) == dt.datetime(2026, 12, 1, 10, 5, tzinfo=OSLO)


def test_every_job_names_a_task_that_exists() -> None:
    from django.utils.module_loading import import_string

    for job in JOBS:
        assert hasattr(import_string(job.task), "enqueue"), job.name


def test_the_scheduler_holds_every_job() -> None:
    scheduler = scheduler_start()
    try:
        assert {j.id for j in scheduler.get_jobs()} == {j.name for j in JOBS}
    finally:
        scheduler.shutdown(wait=False)


@pytest.mark.parametrize(
    ("options", "clock"),
    [
        ({"reload": False, "batch": False}, True),
        ({"reload": False, "batch": True}, False),  # a batch run works off the queue and stops
        ({"reload": True, "batch": False}, False),  # the reloader's parent only watches files
    ],
)
def test_the_worker_command_starts_the_clock_in_the_working_process(
    options: dict[str, bool], clock: bool
) -> None:
    from kundeflyt.common.management.commands.worker import Command

    with (
        mock.patch("kundeflyt.schedule.scheduler_start") as start,
        mock.patch("django_tasks_db.management.commands.db_worker.Command.handle") as work,
    ):
        Command().handle(**options)
    assert (start.call_count, work.call_count) == (int(clock), 1)
