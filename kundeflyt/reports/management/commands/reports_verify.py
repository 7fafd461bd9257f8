"""``manage.py reports_verify [--fix]``: recount the report rollups from the raw events."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kundeflyt.reports.rollup import rollup_verify

SHOWN = 50


class Command(BaseCommand):
    help = (
        "Recount the report rollups from the raw events (those included and not corrected) "
        "and list every row that differs; exits with status 1 when any does. With --fix the "
        "months that differ are recounted into the rollups."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--fix", action="store_true", help="Replace the rows that differ by the recount."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        differences = rollup_verify(fix=options["fix"])
        seconds = time.perf_counter() - started
        if not differences:
            self.stdout.write(
                self.style.SUCCESS(f"The rollups agree with the events ({seconds:.1f} s).")
            )
            return
        for difference in differences[:SHOWN]:
            self.stdout.write(str(difference))
        if len(differences) > SHOWN:
            self.stdout.write(f"… and {len(differences) - SHOWN} more.")
        outcome = "fixed" if options["fix"] else "not fixed: run with --fix"
        raise CommandError(
            f"{len(differences)} rollup rows differed from the events ({outcome}).", returncode=1
        )
