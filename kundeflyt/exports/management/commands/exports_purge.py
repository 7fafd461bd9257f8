"""Delete the files of expired exports (run it from cron, e.g. hourly; every new export does
it too)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kundeflyt.exports.services import export_files_purge


class Command(BaseCommand):
    help = "Delete the files of exports whose download time has passed."

    def handle(self, *args: Any, **options: Any) -> None:
        count = export_files_purge()
        self.stdout.write(f"{count} expired export file(s) deleted.")
