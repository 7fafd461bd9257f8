"""Products offered and sold, and meetings booked: each a list of its own for a client's
CRM, drawn from the registrations the user may count, with the same filters and rules."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from pydantic import BaseModel

from kundeflyt.api.paging import Paging, page_of
from kundeflyt.api.problems import REFUSALS
from kundeflyt.api.routes.registrations import (
    RegistrationFilters,
    meeting_out,
    product_line_out,
    registrations_for,
)
from kundeflyt.api.schemas import Id, MeetingOut, Moment, ProductLineOut
from kundeflyt.handling.models import Meeting, ProductLine

router = Router(tags=["registrations"])


def _registration_of(row: dict[str, Any]) -> dict[str, Any]:
    """Where a product line or meeting (a row of ``LINE`` or ``MEETING``) came from."""
    return {
        "registration": row["event_id"],
        "customer": row["customer_id"],
        "customer_id": row["customer__customer_id"],
        "campaign": row["campaign_id"],
        "registered_at": row["event__registered_at"],
    }


class ProductLinesQuery(Paging, RegistrationFilters):
    product: Id | None = None
    status: Literal["offered", "sold"] | None = None


class ProductLineRow(ProductLineOut):
    """A product line as a registration shows it, with the registration it came with."""

    registration: int
    customer: int
    customer_id: str
    campaign: int
    registered_at: dt.datetime
    counts_in_reports: bool  # false once its registration is corrected


LINE = (
    "pk",
    "event_id",
    "customer_id",
    "customer__customer_id",
    "campaign_id",
    "product_id",
    "status",
    "quantity",
    "unit_price",
    "currency",
    "extra_values",
    "event__registered_at",
    "event__included_in_reports",
    "event__is_corrected",
)


class ProductLinePage(BaseModel):
    items: list[ProductLineRow]
    next: str | None


@router.get(
    "/product-lines",
    response={200: ProductLinePage, **REFUSALS},
    summary="Products offered and sold",
)
def product_lines_list(request: HttpRequest, query: Query[ProductLinesQuery]) -> HttpResponse:
    """Every product offered or sold in the registrations the list of registrations gives
    for the same filters (`from`, `to`, `campaign`, `changed_since` and the rest), oldest
    first, `limit` at a time; `product` and `status` (`offered`, `sold`) narrow it. A line
    of a corrected registration comes with `counts_in_reports` false. Needs *reporting*;
    prices are shown with *revenue*.

    ```
    curl -H "Authorization: Bearer $TOKEN" \\
      "https://kundeflyt.example/api/v1/product-lines?status=sold&from=2026-11-01&to=2026-11-30"
    ```
    """
    events, scope = registrations_for(request, query)
    lines = ProductLine.objects.filter(event__in=events.values("pk"))
    if query.product is not None:
        lines = lines.filter(product_id=query.product)
    if query.status is not None:
        lines = lines.filter(status=query.status)
    rows = lines.values(*LINE)
    found, following = page_of(request, rows, query)
    page = ProductLinePage(
        items=[
            ProductLineRow(
                **product_line_out(row, scope.revenue),
                **_registration_of(row),
                counts_in_reports=row["event__included_in_reports"]
                and not row["event__is_corrected"],
            )
            for row in found
        ],
        next=following,
    )
    return HttpResponse(page.model_dump_json(), content_type="application/json")


class MeetingsQuery(Paging, RegistrationFilters):
    starts_from: Moment | None = None
    starts_before: Moment | None = None


class MeetingRow(MeetingOut):
    """A meeting as a registration shows it, with the registration it was booked in."""

    registration: int
    customer: int
    customer_id: str
    campaign: int
    booked_by: int | None  # people are named only with *individual results*
    registered_at: dt.datetime
    deleted_at: dt.datetime | None  # set when the booking was taken back


MEETING = (
    "pk",
    "event_id",
    "customer_id",
    "customer__customer_id",
    "campaign_id",
    "starts_at",
    "duration_minutes",
    "place",
    "with_whom",
    "booked_by_id",
    "event__registered_at",
    "deleted_at",
)


class MeetingPage(BaseModel):
    items: list[MeetingRow]
    next: str | None


@router.get("/meetings", response={200: MeetingPage, **REFUSALS}, summary="Meetings booked")
def meetings_list(request: HttpRequest, query: Query[MeetingsQuery]) -> HttpResponse:
    """Every meeting booked in the registrations the list of registrations gives for the
    same filters (`from` and `to` are the days they were booked), oldest first, `limit` at
    a time; `starts_from` and `starts_before` keep those starting in that span. A meeting
    taken back since comes with `deleted_at`: with `changed_since`, a sync learns of it.
    Needs *reporting*.

    ```
    curl -H "Authorization: Bearer $TOKEN" \\
      "https://kundeflyt.example/api/v1/meetings?starts_from=2026-12-01T00:00:00%2B01:00"
    ```
    """
    booked, scope = registrations_for(request, query.model_copy(update={"changed_since": None}))
    meetings = Meeting.objects.filter(event__in=booked.values("pk"))
    if query.changed_since is not None:
        # Booked or corrected since, or taken back since (from an older registration).
        changed, _same = registrations_for(request, query, scope)
        meetings = meetings.filter(
            Q(event__in=changed.values("pk")) | Q(deleted_at__gte=query.changed_since)
        )
    if query.starts_from is not None:
        meetings = meetings.filter(starts_at__gte=query.starts_from)
    if query.starts_before is not None:
        meetings = meetings.filter(starts_at__lt=query.starts_before)
    rows = meetings.values(*MEETING)
    found, following = page_of(request, rows, query)
    page = MeetingPage(
        items=[
            MeetingRow(
                **meeting_out(row),
                **_registration_of(row),
                booked_by=row["booked_by_id"] if scope.individual else None,
                deleted_at=row["deleted_at"],
            )
            for row in found
        ],
        next=following,
    )
    return HttpResponse(page.model_dump_json(), content_type="application/json")
