"""Customer files in through the API: start an import with a file, follow its progress."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import BaseModel, Field

from kundeflyt.api.auth import user_of
from kundeflyt.api.paging import Paging, page_of
from kundeflyt.api.problems import REFUSALS, WRITE_REFUSALS
from kundeflyt.api.schemas import Id, Moment
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.imports import services
from kundeflyt.imports.models import ImportBatch, OnBlocked, OnDuplicate
from kundeflyt.imports.selectors import batch_for, batches_of, crm_for_import

router = Router(tags=["imports"])


class ImportOut(BaseModel):
    id: int
    crm: int
    file_name: str
    created_at: dt.datetime
    status: str  # draft, queued, running, done, cancelled, failed, undone
    campaign: int | None
    segment: int | None
    rows_total: int
    rows_done: int
    created: int
    placed: int
    updated: int
    duplicates: int
    blocked: int
    rejected: int
    finished_at: dt.datetime | None
    failure: str


class ImportPage(BaseModel):
    items: list[ImportOut]
    next: str | None


class ImportIn(Schema):
    crm: Id
    campaign: Id | None = None  # place the new customers there…
    segment: Id | None = None  # …in this segment (else the segments' field rules decide)
    # {"column heading": "field key"}; left out, the CRM's remembered mapping and the
    # headings decide, as on the import page.
    mapping: Annotated[str, Field(max_length=20_000)] = ""
    on_duplicate: OnDuplicate = OnDuplicate.SKIP
    match_phone: bool = False
    generate_ids: Annotated[str, Field(max_length=20)] = ""  # a prefix for rows without an id
    on_blocked: OnBlocked = OnBlocked.CREATE


class ImportsQuery(Paging):
    crm: Id
    changed_since: Moment | None = None


def import_out(batch: ImportBatch) -> ImportOut:
    return ImportOut(
        id=batch.pk,
        crm=batch.crm_id,
        file_name=batch.file_name,
        created_at=batch.created_at,
        status=batch.status,
        campaign=batch.campaign_id,
        segment=batch.segment_id,
        rows_total=batch.rows_total,
        rows_done=batch.rows_done,
        created=batch.created_count,
        placed=batch.placed_count,
        updated=batch.updated_count,
        duplicates=batch.duplicate_count,
        blocked=batch.blocked_count,
        rejected=batch.rejected_count,
        finished_at=batch.finished_at,
        failure=batch.failure,
    )


@router.post("/imports", response={202: ImportOut, **WRITE_REFUSALS}, summary="Import a file")
def import_new(
    request: HttpRequest, file: File[UploadedFile], body: Form[ImportIn]
) -> Status[ImportOut]:
    """Bring a customer file (CSV, XLSX or ODS, as on the import page) into the CRM, and
    into a campaign and segment if given: every cell checked as the card checks it,
    duplicates by customer id (and phone with `match_phone`) skipped or used to update,
    blocked numbers never placed. The import runs in the background: follow it with
    `GET /imports/{id}`. Needs *campaign setup*.

    ```
    curl -H "Authorization: Bearer $TOKEN" -F file=@kunder.csv -F crm=1 -F campaign=3 \\
      -F 'mapping={"Kundenr": "customer_id", "Navn": "name", "Mobil": "phone1"}' \\
      https://kundeflyt.example/api/v1/imports
    ```
    """
    user = user_of(request)
    crm = crm_for_import(user, body.crm)
    campaign = segment = None
    if body.campaign is not None:
        campaign = Campaign.objects.filter(crm=crm, pk=body.campaign).first()
        if campaign is None:
            raise NotFound(_("No such campaign in this CRM."), field="campaign")
    if body.segment is not None:
        segment = Segment.objects.filter(campaign=campaign, pk=body.segment).first()
        if campaign is None or segment is None:
            raise NotFound(_("No such segment in this campaign."), field="segment")
    wanted = _mapping(body.mapping)
    batch = services.import_upload(user, crm=crm, file_name=file.name or "", content=file)
    try:
        mapping = (
            services.mapping_by_headings(batch, wanted) if wanted else services.mapping_of(batch)
        )
        started = services.import_start(
            user,
            batch=batch,
            mapping=mapping,
            campaign=campaign,
            segment=segment,
            on_duplicate=body.on_duplicate,
            match_phone=body.match_phone,
            id_prefix=body.generate_ids,
            on_blocked=body.on_blocked,
        )
    except DomainError:
        services.import_discard(user, batch=batch)  # no draft is left for a refusal
        raise
    started.refresh_from_db()
    return Status(202, import_out(started))


def _mapping(text: str) -> dict[str, str]:
    if not text:
        return {}
    try:
        wanted = json.loads(text)
    except ValueError:
        wanted = None
    if not isinstance(wanted, dict) or not all(isinstance(v, str) for v in wanted.values()):
        raise DomainError(
            _('The mapping is a JSON object: {"column heading": "field key"}.'), field="mapping"
        )
    return {str(k): v for k, v in wanted.items()}


@router.get("/imports/{import_id}", response={200: ImportOut, **REFUSALS}, summary="An import")
def import_get(request: HttpRequest, import_id: Id) -> ImportOut:
    """An import's progress and, when it is done, what it did. Needs *campaign setup*.

    ```
    curl -H "Authorization: Bearer $TOKEN" https://kundeflyt.example/api/v1/imports/15
    ```
    """
    return import_out(batch_for(user_of(request), import_id))


@router.get("/imports", response={200: ImportPage, **REFUSALS}, summary="A CRM's imports")
def imports_list(request: HttpRequest, query: Query[ImportsQuery]) -> ImportPage:
    """The CRM's imports, oldest first, a page at a time. `changed_since` keeps those started
    or finished since then. Needs *campaign setup*.

    ```
    curl -H "Authorization: Bearer $TOKEN" "https://kundeflyt.example/api/v1/imports?crm=1&changed_since=2026-11-29T00:00:00Z"
    ```
    """
    user = user_of(request)
    crm = crm_for_import(user, query.crm)
    batches = batches_of(user, crm)
    if query.changed_since is not None:
        since = query.changed_since
        batches = batches.filter(Q(created_at__gte=since) | Q(finished_at__gte=since))
    found, following = page_of(request, batches, query)
    return ImportPage(items=[import_out(b) for b in found], next=following)
