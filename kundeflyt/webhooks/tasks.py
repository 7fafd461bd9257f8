"""Background work of the webhooks: sending a message (``make run`` starts a worker)."""

from __future__ import annotations

from django_tasks import task

from kundeflyt.webhooks import services


@task()
def deliver_task(delivery_id: int) -> None:
    """One attempt at a message (``services.delivery_attempt``), which schedules the next."""
    services.delivery_attempt(delivery_id)


@task()
def deliveries_due_task() -> None:
    """The scheduled sweep (``kundeflyt/schedule.py``): messages that are due and not sent."""
    services.deliveries_due_send()
