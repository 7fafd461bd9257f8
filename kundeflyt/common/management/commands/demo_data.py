"""``manage.py demo_data``: the demo that ``make run`` starts with (see kundeflyt/demo.py)."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Create the demo data owner Nordlys Energi AS with its campaigns, users, customers and "
        "90 days of history, then print the demo logins. Does nothing more when it is there."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--customers",
            type=int,
            default=2000,
            help="How many customers to create, 60 %% businesses and 40 %% consumers "
            "(default 2000).",
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="Seed for the made-up data (default 1)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Imported here: the demo needs Faker, which only the development install brings.
        from kundeflyt.demo import DATA_OWNER_NAME, SITE_URL, demo_build

        if options["customers"] < 0:
            raise CommandError("--customers must be 0 or more.")
        started = time.perf_counter()
        summary = demo_build(customers=options["customers"], seed=options["seed"])
        seconds = time.perf_counter() - started
        if summary.created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo data created in {seconds:.1f} s: {DATA_OWNER_NAME} with "
                    f"{summary.customers} customers, {summary.events} events, "
                    f"{summary.product_lines} product lines, {summary.meetings} meetings and "
                    f"{summary.personal_follow_ups_due} personal follow-ups due."
                )
            )
        else:
            self.stdout.write(f"The demo data is already there ({DATA_OWNER_NAME}).")
        self.stdout.write(
            f"\nOpen {SITE_URL} and log in as one of the demo users "
            f"(the administration is at {SITE_URL}admin/):\n"
        )
        width = max(len("username"), *(len(login.username) for login in summary.logins))
        self.stdout.write(f"  {'username':<{width}}  {'password':<8}  role")
        for login in summary.logins:
            self.stdout.write(f"  {login.username:<{width}}  {login.password:<8}  {login.role}")
