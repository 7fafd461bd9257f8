"""Before an import runs: the upload, the sheet, the mapping, the preview, the start, and
cancelling it. Each checks *campaign setup* and the CRM's data owner itself."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.actors import actor_fields
from kundeflyt.common.audit import audit
from kundeflyt.common.bounds import bounded_text
from kundeflyt.common.errors import Conflict, DomainError
from kundeflyt.common.fields import FieldType
from kundeflyt.crm.models import CRM
from kundeflyt.imports import files, storage
from kundeflyt.imports.cells import CleanRow, RowCleaner, Target, auto_mapping, normalised, targets
from kundeflyt.imports.models import (
    HEADER_LENGTH,
    ID_PREFIX_LENGTH,
    ImportBatch,
    ImportMapping,
    OnBlocked,
    OnDuplicate,
)
from kundeflyt.imports.services.common import Actor, check_may_import, check_target

PREVIEW_ROWS = 10
ID_PREFIX = re.compile(r"[A-Za-z0-9_.-]*")


def _draft(actor: Actor, batch: ImportBatch) -> ImportBatch:
    check_may_import(actor, batch.crm)
    if batch.status != ImportBatch.Status.DRAFT:
        raise Conflict(_("This import has already been started."), field="batch")
    return batch


def _shape(batch: ImportBatch) -> files.FileShape:
    return files.FileShape(
        kind=batch.file_kind,
        encoding=batch.encoding,
        delimiter=batch.delimiter,
        sheets=[batch.sheet] if batch.sheet else [],
    )


def _remembered(crm: CRM) -> dict[str, str]:
    saved = ImportMapping.objects.filter(crm=crm).first()
    return dict(saved.by_header) if saved else {}


def _first_sheet_with_rows(path: Path, shape: files.FileShape) -> str:
    for sheet in shape.sheets:
        try:
            files.header_and_rows(path, shape, sheet=sheet)
        except DomainError:
            continue
        return sheet
    raise DomainError(_("The spreadsheet has no rows."), field="file")


def import_upload(
    actor: Actor, *, crm: CRM, file_name: str, content: IO[bytes] | Any
) -> ImportBatch:
    """Keep an uploaded customer file as a new import that has not started: what kind of
    file it is, its first sheet with rows, its header, its rows counted (and capped), and
    the columns matched to the CRM's fields (the CRM's remembered mapping first). The file is
    read before the transaction starts, so no lock waits for it."""
    check_may_import(actor, crm)
    name = bounded_text(Path(str(file_name or "")).name, field="file", max_length=255)
    path, sha256, size = storage.spool_upload(content)
    try:
        shape = files.examine(path)
        sheet = _first_sheet_with_rows(path, shape) if shape.sheets else ""
        found = files.outline(path, shape, sheet=sheet)
        available = targets(list(crm.fields.all()))
        with transaction.atomic():
            batch = _create(actor, crm, name, sha256, size, shape, sheet, found, available)
            storage.store(batch, path)
    finally:
        path.unlink(missing_ok=True)
    return batch


def _create(
    actor: Actor,
    crm: CRM,
    name: str,
    sha256: str,
    size: int,
    shape: files.FileShape,
    sheet: str,
    found: files.Outline,
    available: list[Target],
) -> ImportBatch:
    return ImportBatch.objects.create(
        **actor_fields(actor),
        crm=crm,
        file_name=name or "file",
        file_sha256=sha256,
        file_size=size,
        file_kind=shape.kind,
        sheet=sheet[:HEADER_LENGTH],
        encoding=shape.encoding,
        delimiter=shape.delimiter,
        header_row=found.header_row,
        columns=found.header,
        samples=found.samples,
        rows_total=found.rows,
        mapping=_stored(auto_mapping(found.header, available, _remembered(crm))),
        rest_field=_remembered_rest(crm, available),
    )


def _remembered_rest(crm: CRM, available: list[Target]) -> str:
    saved = ImportMapping.objects.filter(crm=crm).first()
    if saved and any(t.key == saved.rest_field and t.type == FieldType.TEXT for t in available):
        return saved.rest_field
    return ""


def _stored(mapping: Mapping[int, str]) -> dict[str, str]:
    return {str(position): key for position, key in sorted(mapping.items())}


def mapping_of(batch: ImportBatch) -> dict[int, str]:
    return {int(position): key for position, key in (batch.mapping or {}).items()}


def mapping_by_headings(batch: ImportBatch, wanted: Mapping[str, str]) -> dict[int, str]:
    """A mapping given by column heading (``{"Kundenr": "customer_id"}``, headings matched as
    the automatic mapping matches them) as the import's column positions."""
    by_heading = {normalised(str(k)): v for k, v in wanted.items()}
    return {
        position: by_heading[normalised(heading)]
        for position, heading in enumerate(batch.columns)
        if by_heading.get(normalised(heading))
    }


def import_sheet_choose(actor: Actor, *, batch: ImportBatch, sheet: str) -> ImportBatch:
    """Read another sheet of the spreadsheet: its header, its rows, a new automatic mapping."""
    _draft(actor, batch)
    if batch.file_kind == "csv":
        raise DomainError(_("A CSV file has no sheets."), field="sheet")
    with storage.spooled(batch) as path:
        if sheet not in files.sheet_names(path):
            raise DomainError(_("Choose one of the file's sheets."), field="sheet")
        found = files.outline(path, _shape(batch), sheet=sheet)
    available = targets(list(batch.crm.fields.all()))
    batch.sheet = sheet
    batch.header_row = found.header_row
    batch.columns = found.header
    batch.samples = found.samples
    batch.rows_total = found.rows
    batch.mapping = _stored(auto_mapping(found.header, available, _remembered(batch.crm)))
    with transaction.atomic():
        ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.DRAFT).update(
            sheet=sheet[:HEADER_LENGTH],
            header_row=found.header_row,
            columns=found.header,
            samples=found.samples,
            rows_total=found.rows,
            mapping=batch.mapping,
        )
    return batch


# --- The mapping ------------------------------------------------------------------------------


def mapping_clean(
    batch: ImportBatch,
    mapping: Mapping[int, str],
    *,
    rest_field: str = "",
    generate_ids: bool = False,
) -> dict[int, str]:
    """The mapping checked against the file and the CRM: known columns and fields, no field
    filled by two columns (but the name, from first and last name), a customer id (or ids
    made by the import), every required field, and a text field for the columns left over."""
    available = {t.key: t for t in targets(list(batch.crm.fields.all()))}
    width = len(batch.columns)
    cleaned: dict[int, str] = {}
    for position, key in mapping.items():
        if not key:
            continue
        if not 0 <= position < width:
            raise DomainError(_("The file has no such column."), field="mapping")
        if key not in available:
            raise DomainError(
                _("“%(key)s” is not a field of this CRM.") % {"key": str(key)[:60]},
                field=f"column_{position}",
            )
        if key != "name" and key in cleaned.values():
            raise DomainError(
                _("Two columns go to %(field)s. Choose one of them.")
                % {"field": available[key].label},
                field=f"column_{position}",
            )
        cleaned[position] = key
    if "customer_id" not in cleaned.values() and not generate_ids:
        raise DomainError(
            _(
                "No column is the customer id. Choose the column, or let the import make ids "
                "with a prefix."
            ),
            field="mapping",
        )
    for target in available.values():
        if target.required and target.definition and target.key not in cleaned.values():
            raise DomainError(
                _("%(field)s is required, but no column goes to it.") % {"field": target.label},
                field="mapping",
            )
    if rest_field:
        rest = available.get(rest_field)
        if rest is None or rest.type != FieldType.TEXT:
            raise DomainError(_("Choose a text field for the other columns."), field="rest_field")
        if rest_field in cleaned.values():
            raise DomainError(
                _("%(field)s already gets a column; choose another field for the other columns.")
                % {"field": rest.label},
                field="rest_field",
            )
    return cleaned


def row_cleaner(
    batch: ImportBatch, mapping: Mapping[int, str], *, rest_field: str, generate_ids: bool
) -> RowCleaner:
    return RowCleaner(
        batch.columns,
        mapping,
        targets(list(batch.crm.fields.all())),
        rest_field=rest_field,
        generate_ids=generate_ids,
    )


@dataclass(frozen=True)
class PreviewRow:
    number: int
    row: CleanRow


@dataclass(frozen=True)
class Preview:
    targets: list[Target]  # the fields that get a value, in the CRM's order
    rows: list[PreviewRow]


def import_preview(
    actor: Actor,
    *,
    batch: ImportBatch,
    mapping: Mapping[int, str],
    rest_field: str = "",
    generate_ids: bool = False,
    rows: int = PREVIEW_ROWS,
) -> Preview:
    """The first rows as they will be stored, each cell checked by the card's validators,
    with the reason beside every cell that would be refused. Writes nothing."""
    _draft(actor, batch)
    cleaned = mapping_clean(batch, mapping, rest_field=rest_field, generate_ids=generate_ids)
    cleaner = row_cleaner(batch, cleaned, rest_field=rest_field, generate_ids=generate_ids)
    shown: list[PreviewRow] = []
    with storage.spooled(batch) as path:
        _number, _header, stream = files.header_and_rows(path, _shape(batch), sheet=batch.sheet)
        for number, cells in stream:
            shown.append(PreviewRow(number, cleaner.clean(cells)))
            if len(shown) >= rows:
                break
    wanted = set(cleaned.values()) | ({rest_field} if rest_field else set())
    return Preview([t for t in targets(list(batch.crm.fields.all())) if t.key in wanted], shown)


# --- Start and cancel -------------------------------------------------------------------------


def _id_prefix(raw: str) -> str:
    prefix = bounded_text(raw, field="id_prefix", max_length=ID_PREFIX_LENGTH)
    if not ID_PREFIX.fullmatch(prefix):
        raise DomainError(
            _("Use letters A–Z, digits, “-”, “_” and “.” in the prefix."), field="id_prefix"
        )
    return prefix


def _remember(batch: ImportBatch, mapping: Mapping[int, str], rest_field: str) -> None:
    by_header = {
        normalised(batch.columns[position]): key
        for position, key in mapping.items()
        if normalised(batch.columns[position])
    }
    ImportMapping.objects.update_or_create(
        crm=batch.crm,
        defaults={"by_header": by_header, "rest_field": rest_field, "updated_at": timezone.now()},
    )


def import_start(
    actor: Actor,
    *,
    batch: ImportBatch,
    mapping: Mapping[int, str],
    rest_field: str = "",
    campaign: Campaign | None = None,
    segment: Segment | None = None,
    on_duplicate: str = OnDuplicate.SKIP,
    match_phone: bool = False,
    id_prefix: str = "",
    on_blocked: str = OnBlocked.CREATE,
    enqueue: bool = True,
) -> ImportBatch:
    """Start an import: every choice checked, the mapping remembered for the CRM, and the
    run handed to the background worker once this has committed. With ``enqueue=False`` the
    caller runs it (``run_import``) itself, as the command line does."""
    with transaction.atomic(durable=True):
        batch = ImportBatch.objects.select_related("crm").get(pk=batch.pk)
        _draft(actor, batch)
        check_target(actor, batch.crm, campaign, segment)
        if on_duplicate not in OnDuplicate.values:
            raise DomainError(_("Choose what to do with duplicates."), field="on_duplicate")
        if on_blocked not in OnBlocked.values:
            raise DomainError(_("Choose what to do with blocked numbers."), field="on_blocked")
        prefix = _id_prefix(id_prefix)
        cleaned = mapping_clean(batch, mapping, rest_field=rest_field, generate_ids=bool(prefix))
        started = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.DRAFT).update(
            status=ImportBatch.Status.QUEUED,
            mapping=_stored(cleaned),
            rest_field=rest_field,
            campaign=campaign,
            segment=segment,
            on_duplicate=on_duplicate,
            match_phone=match_phone,
            id_prefix=prefix,
            on_blocked=on_blocked,
        )
        if not started:
            raise Conflict(_("This import has already been started."), field="batch")
        _remember(batch, cleaned, rest_field)
        batch.refresh_from_db()
        audit(
            actor,
            "import.start",
            batch,
            after={
                "file": batch.file_name,
                "sha256": batch.file_sha256,
                "crm": batch.crm_id,
                "campaign": campaign.pk if campaign else None,
                "segment": segment.pk if segment else None,
                "rows": batch.rows_total,
            },
        )
    if enqueue:
        from kundeflyt.imports.tasks import run_import

        run_import.enqueue(batch.pk)
        batch.refresh_from_db()
    return batch


@transaction.atomic
def import_discard(actor: Actor, *, batch: ImportBatch) -> None:
    """Throw away an import that never started, with its file: a start refused through the
    API leaves nothing behind."""
    with transaction.atomic():
        found = ImportBatch.objects.select_for_update().select_related("crm").get(pk=batch.pk)
        _draft(actor, found).delete()


def import_cancel(actor: Actor, *, batch: ImportBatch) -> ImportBatch:
    """Stop an import: one that waits never runs; one that runs stops after the rows it is
    writing, and what it committed stays (the batch says how far it came)."""
    check_may_import(actor, batch.crm)
    now = timezone.now()
    waiting = ImportBatch.objects.filter(
        pk=batch.pk, status__in=[ImportBatch.Status.DRAFT, ImportBatch.Status.QUEUED]
    ).update(status=ImportBatch.Status.CANCELLED, cancel_requested=True, finished_at=now)
    if not waiting:
        running = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.RUNNING).update(
            cancel_requested=True
        )
        if not running:
            raise Conflict(_("The import has already finished."), field="batch")
    audit(actor, "import.cancel", batch, after={"status": "cancel_requested"})
    batch.refresh_from_db()
    return batch
