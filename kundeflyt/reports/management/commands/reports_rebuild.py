"""``manage.py reports_rebuild``: recount every report rollup from the raw events."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from kundeflyt.reports.rollup import rollup_rebuild


class Command(BaseCommand):
    help = (
        "Throw the report rollups away and recount them from the raw events, in one "
        "transaction; registrations made meanwhile wait and are counted after it."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        summary = rollup_rebuild()
        seconds = time.perf_counter() - started
        rows = ", ".join(f"{name} {count}" for name, count in summary.rows.items())
        self.stdout.write(self.style.SUCCESS(f"Rollups rebuilt in {seconds:.1f} s: {rows} rows."))
