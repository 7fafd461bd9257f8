"""``manage.py flow_export <flow name> <file>``: write a flow to a file flow_import reads."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kundeflyt.flows.models import Flow
from kundeflyt.flows.services import flow_export


class Command(BaseCommand):
    help = "Write a flow to a JSON file that flow_import can read (- for standard output)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("flow", help="the name of the flow")
        parser.add_argument("file", help="the file to write, or - for standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            flow = Flow.objects.get(name=options["flow"])
        except Flow.DoesNotExist as exc:
            raise CommandError(
                _("There is no flow named “%(name)s”.") % {"name": options["flow"]}
            ) from exc
        text = json.dumps(flow_export(flow), ensure_ascii=False, indent=2) + "\n"
        if options["file"] == "-":
            sys.stdout.write(text)
            return
        try:
            Path(options["file"]).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(
                _("Could not write %(file)s: %(error)s") % {"file": options["file"], "error": exc}
            ) from exc
        self.stdout.write(
            _("Exported the flow “%(name)s” to %(file)s.")
            % {"name": flow.name, "file": options["file"]}
        )
