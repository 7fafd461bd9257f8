"""``manage.py placements_verify [--repair]``: rule 10, no customer is lost."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kundeflyt.common.actors import Process
from kundeflyt.handling.selectors import placements_out_of_reach
from kundeflyt.handling.services import lost_customers_repair

REPAIR = Process("placements_repair")
SHOWN = 50
TITLES = {
    "lost": "Lost (no one will ever be presented them)",
    "archived_responsible": "Personal follow-ups of archived users (reassign them)",
    "archived_corrector": "Waiting for correction by an archived user (withdraw it)",
    "attempts_used": "Available, but the campaign's attempts are used up",
}


class Command(BaseCommand):
    help = (
        "List customers that break rule 10: not final, blocked or anonymised, yet neither in "
        "their campaign's queue, nor with a follow-up, nor waiting for correction. Exits with "
        "status 1 when any is lost. Also lists customers reachable only in name. With "
        "--repair each lost customer becomes a shared follow-up due now (audited)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--repair",
            action="store_true",
            help="Make each lost customer a shared follow-up due now.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["repair"]:
            repaired = lost_customers_repair(REPAIR)
            self.stdout.write(f"Repaired {repaired} lost customers.")
        lost = 0
        for kind, title in TITLES.items():
            placements = placements_out_of_reach(kind).select_related(
                "customer", "campaign", "state", "follow_up_user"
            )
            count = placements.count()
            if kind == "lost":
                lost = count
            style = self.style.ERROR if kind == "lost" and count else self.style.WARNING
            self.stdout.write((style if count else self.style.SUCCESS)(f"{title}: {count}"))
            for placement in placements.order_by("campaign", "pk")[:SHOWN]:
                responsible = placement.follow_up_user or "–"
                self.stdout.write(
                    f"  {placement.pk} {placement.customer} · {placement.campaign} · "
                    f"{placement.state} · attempts {placement.attempts} · {responsible}"
                )
            if count > SHOWN:
                self.stdout.write(f"  … and {count - SHOWN} more.")
        if lost:
            raise CommandError(f"{lost} customers are lost: run with --repair.", returncode=1)
