"""``manage.py customers_import FILE --crm …``: import a customer file from the command line,
through the same services as the pages, acting as the process ``import``."""

from __future__ import annotations

import json
import shutil
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.errors import DomainError
from kundeflyt.crm.models import CRM
from kundeflyt.imports import selectors, services
from kundeflyt.imports.models import ImportBatch, OnBlocked, OnDuplicate
from kundeflyt.imports.services import IMPORTER


def _one(rows: QuerySet[Any], value: str, what: str) -> Any:
    """The row named by ``value``: its id, or its exact name."""
    query = Q(name=value) | Q(pk=int(value)) if value.isdigit() else Q(name=value)
    found = list(rows.filter(query)[:2])
    if len(found) != 1:
        raise CommandError(
            _("No single %(what)s “%(value)s”.") % {"what": what, "value": value}
            if found
            else _("No %(what)s “%(value)s”.") % {"what": what, "value": value}
        )
    return found[0]


class Command(BaseCommand):
    help = (
        "Import customers from a CSV, XLSX or ODS file into a CRM, and optionally a campaign. "
        "Runs here and now (or, with --background, in the worker) as the process “import”."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="the CSV, XLSX or ODS file")
        parser.add_argument("--crm", required=True, help="the CRM: its id or its name")
        parser.add_argument("--campaign", help="place the new customers here (id or name)")
        parser.add_argument("--segment", help="…in this segment of the campaign (id or name)")
        parser.add_argument("--sheet", help="the spreadsheet's sheet (default: the first)")
        parser.add_argument(
            "--mapping",
            default="saved",
            help="“saved”: the CRM's remembered mapping and the headers (the default); or a "
            'JSON file mapping headers to fields, e.g. {"Kundenr": "customer_id"}',
        )
        parser.add_argument("--rest-field", default="", help="a text field for other columns")
        parser.add_argument("--on-duplicate", choices=OnDuplicate.values, default=OnDuplicate.SKIP)
        parser.add_argument(
            "--match-phone", action="store_true", help="a shared phone number is a duplicate"
        )
        parser.add_argument(
            "--generate-ids", metavar="PREFIX", default="", help="ids for rows without one"
        )
        parser.add_argument("--blocked", choices=OnBlocked.values, default=OnBlocked.CREATE)
        parser.add_argument(
            "--background", action="store_true", help="hand the run to the worker and return"
        )
        parser.add_argument("--rejected", metavar="PATH", help="write the rejected rows here")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("Could not read %(file)s.") % {"file": path})
        crm = _one(CRM.objects.all(), options["crm"], "CRM")
        campaign = segment = None
        if options["campaign"]:
            campaign = _one(Campaign.objects.filter(crm=crm), options["campaign"], "campaign")
        if options["segment"]:
            if campaign is None:
                raise CommandError(_("--segment needs --campaign."))
            segment = _one(Segment.objects.filter(campaign=campaign), options["segment"], "segment")
        try:
            with path.open("rb") as content:
                batch = services.import_upload(
                    IMPORTER, crm=crm, file_name=path.name, content=content
                )
            if options["sheet"]:
                batch = services.import_sheet_choose(IMPORTER, batch=batch, sheet=options["sheet"])
            batch = services.import_start(
                IMPORTER,
                batch=batch,
                mapping=self._mapping(batch, options["mapping"]),
                rest_field=options["rest_field"],
                campaign=campaign,
                segment=segment,
                on_duplicate=options["on_duplicate"],
                match_phone=options["match_phone"],
                id_prefix=options["generate_ids"],
                on_blocked=options["blocked"],
                enqueue=options["background"],
            )
        except DomainError as error:
            raise CommandError(str(error)) from error
        if options["background"]:
            self.stdout.write(
                _("Import %(id)s of %(rows)s rows is waiting for the worker.")
                % {"id": batch.pk, "rows": batch.rows_total}
            )
            return
        services.run_import(batch.pk)
        batch.refresh_from_db()
        self._report(batch, options["rejected"])

    def _mapping(self, batch: ImportBatch, choice: str) -> dict[int, str]:
        if choice == "saved":
            return services.mapping_of(batch)
        try:
            wanted = json.loads(Path(choice).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CommandError(
                _("Could not read the mapping %(file)s: %(error)s")
                % {"file": choice, "error": error}
            ) from error
        if not isinstance(wanted, dict) or not all(isinstance(v, str) for v in wanted.values()):
            raise CommandError(_('The mapping is a JSON object: {"column heading": "field key"}.'))
        return services.mapping_by_headings(batch, wanted)

    def _report(self, batch: ImportBatch, rejected: str | None) -> None:
        self.stdout.write(
            _(
                "Import %(id)s: %(status)s. %(rows)s rows: %(created)s created (%(placed)s "
                "placed), %(updated)s updated, %(duplicates)s duplicates skipped, %(blocked)s on "
                "the block list, %(rejected)s rejected."
            )
            % {
                "id": batch.pk,
                "status": batch.get_status_display(),
                "rows": batch.rows_done,
                "created": batch.created_count,
                "placed": batch.placed_count,
                "updated": batch.updated_count,
                "duplicates": batch.duplicate_count,
                "blocked": batch.blocked_count,
                "rejected": batch.rejected_count,
            }
        )
        if batch.failure:
            raise CommandError(batch.failure)
        if rejected and batch.rejected_count:
            made, _name, _kind = selectors.rejected_file(batch)
            shutil.move(made, rejected)
            self.stdout.write(_("The rejected rows are in %(file)s.") % {"file": rejected})
