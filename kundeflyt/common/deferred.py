"""Background work that waits: a task enqueued to run at a later time."""

from __future__ import annotations

import datetime as dt
from typing import Any


def can_defer(task: Any) -> bool:
    """Whether the task backend can hold a task until a later time (the database backend
    can; the immediate backend of the tests runs it at once)."""
    return bool(task.get_backend().supports_defer)


def enqueue(task: Any, *args: Any, at: dt.datetime | None = None) -> None:
    """Enqueue ``task`` with ``args``, to run at ``at`` when given. A backend that cannot
    wait gets nothing then: the caller's scheduled sweep runs what has come due."""
    if at is not None:
        if not can_defer(task):
            return
        task = task.using(run_after=at)
    task.enqueue(*args)
