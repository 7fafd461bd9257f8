"""Background work of calls and SMS (``make run`` starts a worker)."""

from __future__ import annotations

from django_tasks import task

from kundeflyt.telephony import services


@task()
def sms_send_task(sms_id: int) -> None:
    """One attempt at an SMS (``services.sms_attempt``), which schedules a retry if it may."""
    services.sms_attempt(sms_id)


@task()
def sms_due_task() -> None:
    """The scheduled sweep (``kundeflyt/schedule.py``): retries that are due, lost sendings,
    bulk SMS whose calling hours have come or whose worker was lost."""
    from kundeflyt.telephony.bulk import batches_due_send

    services.sms_due_send()
    batches_due_send()


@task()
def sms_batch_task(batch_id: int) -> None:
    """Send a bulk SMS's next messages (``bulk.batch_send``)."""
    from kundeflyt.telephony.bulk import batch_send

    batch_send(batch_id)


@task()
def call_place_task(call_id: int) -> None:
    """Place a click-to-call through the provider (``calls.call_place``)."""
    from kundeflyt.telephony.calls import call_place

    call_place(call_id)
