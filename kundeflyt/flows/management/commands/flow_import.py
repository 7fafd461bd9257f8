"""``manage.py flow_import <file> [--name X]``: create a flow from an exported file."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kundeflyt.common.actors import Process
from kundeflyt.common.errors import DomainError
from kundeflyt.flows.services import flow_file_parse, flow_import

FLOW_IMPORT = Process("flow-import")


class Command(BaseCommand):
    help = "Create a flow from a JSON file written by flow_export."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="the flow file to read")
        parser.add_argument("--name", help="the new flow's name, instead of the one in the file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            content = Path(options["file"]).read_bytes()
        except OSError as exc:
            raise CommandError(
                _("Could not read %(file)s: %(error)s") % {"file": options["file"], "error": exc}
            ) from exc
        try:
            flow = flow_import(FLOW_IMPORT, data=flow_file_parse(content), name=options["name"])
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("Imported the flow “%(name)s” with %(states)d states and %(outcomes)d outcomes.")
            % {"name": flow.name, "states": flow.states.count(), "outcomes": flow.outcomes.count()}
        )
