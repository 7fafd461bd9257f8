"""Reads of the imports app, always for a user: the CRMs they may import into, their
batches, the targets a batch can go to, and its rejected rows (also as a file in the
original layout)."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext as _
from openpyxl import Workbook

from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import campaigns_visible_to, data_owners_visible_to
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.crm.models import CRM
from kundeflyt.imports import files, storage
from kundeflyt.imports.models import FileKind, ImportBatch, ImportRowError
from kundeflyt.imports.services.common import Actor


def crms_for_import(actor: Actor) -> QuerySet[CRM]:
    """The CRMs of the data owners the actor sees, when they may import (*campaign setup*)."""
    require(actor, Perm.CAMPAIGN_SETUP)
    return CRM.objects.filter(data_owner__in=data_owners_visible_to(actor)).select_related(
        "data_owner"
    )


def crm_for_import(actor: Actor, crm_id: int) -> CRM:
    crm = crms_for_import(actor).filter(pk=crm_id).first()
    if crm is None:
        raise NotFound(_("No such CRM."), field="crm")
    return crm


def batches_of(actor: Actor, crm: CRM) -> QuerySet[ImportBatch]:
    crm_for_import(actor, crm.pk)
    return ImportBatch.objects.filter(crm=crm).select_related("actor_user", "campaign", "segment")


def latest_batches(actor: Actor, per_crm: int) -> QuerySet[ImportBatch]:
    """The latest ``per_crm`` imports of each CRM the actor may import into, in one query."""
    rank = Window(
        RowNumber(), partition_by=F("crm_id"), order_by=[F("created_at").desc(), F("pk").desc()]
    )
    return (
        ImportBatch.objects.filter(crm__in=crms_for_import(actor))
        .annotate(rank=rank)
        .filter(rank__lte=per_crm)
        .select_related("actor_user")
        .order_by("crm_id", "rank")
    )


def batch_for(actor: Actor, batch_id: int) -> ImportBatch:
    """The batch, if the actor may import into its CRM; otherwise as if it did not exist."""
    batch = (
        ImportBatch.objects.filter(pk=batch_id, crm__in=crms_for_import(actor))
        .select_related("crm__data_owner", "campaign", "segment", "actor_user", "undone_by")
        .first()
    )
    if batch is None:
        raise NotFound(_("No such import."), field="batch")
    return batch


@dataclass(frozen=True)
class Destination:
    """Where an import can put its customers: the CRM only, a campaign, or one of its
    segments. ``value`` is the form's: ``""``, ``c<id>`` or ``c<id>s<id>``."""

    value: str
    label: str
    campaign: Campaign | None = None
    segment: Segment | None = None


def destinations(actor: Actor, crm: CRM) -> list[Destination]:
    found = [Destination("", _("Only the CRM: no campaign"))]
    campaigns = campaigns_visible_to(actor).filter(crm=crm).prefetch_related("segments")
    for campaign in campaigns.order_by("name"):
        found.append(Destination(f"c{campaign.pk}", str(campaign), campaign))
        for segment in campaign.segments.all():
            found.append(
                Destination(
                    f"c{campaign.pk}s{segment.pk}", f"{campaign} › {segment}", campaign, segment
                )
            )
    return found


def destination(actor: Actor, crm: CRM, value: str) -> Destination:
    """The destination a form chose; refused naming the field when it is not offered."""
    if not re.fullmatch(r"(c\d{1,18}(s\d{1,18})?)?", value or ""):
        raise DomainError(_("Choose where the customers go."), field="target")
    chosen = next((d for d in destinations(actor, crm) if d.value == (value or "")), None)
    if chosen is None:
        raise DomainError(_("Choose where the customers go."), field="target")
    return chosen


def rejected_rows(batch: ImportBatch) -> QuerySet[ImportRowError]:
    return ImportRowError.objects.filter(batch=batch).order_by("row", "pk")


# --- The rejected rows as a file ----------------------------------------------------------------

RISKY = re.compile(r"[=@\t\r]|[+-](?![\d\s().,]*$)")


def safe_cell(text: str) -> str:
    """A cell that a spreadsheet would run as a formula (=, @, or + and - before anything but
    a number) is written as text, with a leading apostrophe."""
    return "'" + text if text and RISKY.match(text) else text


def _with_reasons(batch: ImportBatch, path: Path) -> Iterator[list[str]]:
    """The rejected rows in the file's own layout, each with its reasons in a last column:
    the file and the errors are both read in row order and merged, so memory stays flat."""
    shape = files.FileShape(
        kind=batch.file_kind,
        encoding=batch.encoding,
        delimiter=batch.delimiter,
        sheets=[batch.sheet] if batch.sheet else [],
    )
    _number, header, stream = files.header_and_rows(path, shape, sheet=batch.sheet)
    yield [*header, _("Error")]
    errors = rejected_rows(batch).values_list("row", "column", "reason").iterator()
    pending = next(errors, None)
    for number, cells in stream:
        while pending is not None and pending[0] < number:
            pending = next(errors, None)
        reasons = []
        while pending is not None and pending[0] == number:
            reasons.append(f"{pending[1]}: {pending[2]}" if pending[1] else pending[2])
            pending = next(errors, None)
        if reasons:
            texts = [files.cell_text(c) for c in cells]
            texts += [""] * (len(header) - len(texts))
            yield [*texts, " | ".join(reasons)]
        if pending is None:
            break


def rejected_file(batch: ImportBatch) -> tuple[Path, str, str]:
    """The rejected rows as a file in the original layout with an error column: CSV with the
    file's separator (UTF-8 with a BOM) for a CSV, XLSX for a spreadsheet. Returns a temporary
    file (the caller removes it), its download name and its content type."""
    stem = Path(batch.file_name).stem or "import"
    out = tempfile.NamedTemporaryFile(prefix="kf-rejected-", delete=False)  # noqa: SIM115
    path = Path(out.name)
    try:
        with out, storage.spooled(batch) as source:
            lines = _with_reasons(batch, source)
            if batch.file_kind == FileKind.CSV:
                text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
                writer = csv.writer(text, delimiter=batch.delimiter or ";", lineterminator="\r\n")
                for line in lines:
                    writer.writerow([safe_cell(v) for v in line])
                text.flush()
                text.detach()
                name, kind = f"{stem}-rejected.csv", "text/csv; charset=utf-8"
            else:
                workbook = Workbook(write_only=True)
                sheet: Any = workbook.create_sheet(batch.sheet[:31] or "Ark1")
                for line in lines:
                    sheet.append([_text_cell(sheet, v) for v in line])
                workbook.save(out)
                name = f"{stem}-rejected.xlsx"
                kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, name, kind


def _text_cell(sheet: Any, value: str) -> Any:
    """Every cell as text, never a formula (openpyxl would take “=…” for one)."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell
