"""The jobs that run by the clock, and the scheduler every worker process runs.

django-tasks runs work but has no clock of its own, so each worker (``manage.py worker``, which
``make run`` and ``make serve`` start) also runs an APScheduler background scheduler. When a
job is due, the scheduler claims its slot in the database (``ScheduledRun``) and enqueues the
job's task: with many workers on many servers, only the first claim enqueues, so a job runs
once per slot.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from kundeflyt.common.models import ScheduledRun

logger = logging.getLogger(__name__)
OSLO = ZoneInfo("Europe/Oslo")
GRACE_SECONDS = 300  # a job whose worker was busy or asleep still runs this late


@dataclass(frozen=True)
class Job:
    name: str
    task: str  # the import path of a django-tasks task that takes no arguments
    cron: dict[str, str]  # CronTrigger's fields, in Oslo time


JOBS = (
    # Retention (GDPR Art. 5(1)(e)): customers inactive past their CRM's period, at night.
    Job("retention", "kundeflyt.privacy.tasks.retention_task", {"hour": "2", "minute": "30"}),
    # The access log is kept ACCESS_LOG_DAYS.
    Job(
        "access-log", "kundeflyt.privacy.tasks.access_log_purge_task", {"hour": "3", "minute": "0"}
    ),
    # Webhook messages whose worker was lost, or whose retry the backend could not defer.
    Job("webhooks-due", "kundeflyt.webhooks.tasks.deliveries_due_task", {"minute": "*/5"}),
    # SMS whose retry the backend could not defer; sendings a lost worker left half-way.
    Job("sms-due", "kundeflyt.telephony.tasks.sms_due_task", {"minute": "*"}),
    # Files of expired exports; idempotency keys past their day.
    Job("exports-purge", "kundeflyt.exports.tasks.exports_purge_task", {"minute": "15"}),
    Job("idempotency", "kundeflyt.api.tasks.idempotency_keys_purge_task", {"minute": "45"}),
)


def job_run(job: Job, slot: dt.datetime) -> bool:
    """Enqueue ``job`` for ``slot`` unless another worker already did. Returns whether this
    call enqueued it."""
    try:
        with transaction.atomic():
            ScheduledRun.objects.create(job=job.name, slot=slot, enqueued_at=timezone.now())
            transaction.on_commit(lambda: import_string(job.task).enqueue())
    except IntegrityError:
        return False
    logger.info("scheduled job %s enqueued for %s", job.name, slot.isoformat())
    return True


def latest_slot(trigger: CronTrigger, now: dt.datetime) -> dt.datetime:
    """The trigger's last fire time at or before ``now`` (within the grace time): the same in
    every worker, however late each one woke up."""
    slot, moment = now, now - dt.timedelta(seconds=GRACE_SECONDS + 60)
    while (due := trigger.get_next_fire_time(None, moment)) is not None and due <= now:
        slot, moment = due, due + dt.timedelta(seconds=1)
    return slot.replace(second=0, microsecond=0)


def _fire(job: Job, trigger: CronTrigger) -> None:
    # The scheduler's thread has a connection of its own, which outlives any one request.
    close_old_connections()
    try:
        job_run(job, latest_slot(trigger, dt.datetime.now(OSLO)))
    finally:
        close_old_connections()


def scheduler_start() -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=OSLO, daemon=True)
    for job in JOBS:
        trigger = CronTrigger(timezone=OSLO, **job.cron)
        scheduler.add_job(
            _fire,
            trigger,
            args=(job, trigger),
            id=job.name,
            misfire_grace_time=GRACE_SECONDS,
            coalesce=True,
            max_instances=1,
        )
    scheduler.start()
    return scheduler
