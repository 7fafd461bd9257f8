"""Where a customer is worked (rule 4): its status, and placing or moving it between the
campaigns and segments of its CRM, from the version of the status the client read."""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Header, Router, Schema
from ninja.errors import HttpError

from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import campaigns_visible_to, customers_visible_to
from kundeflyt.api.auth import user_of
from kundeflyt.api.problems import REFUSALS, VERSIONED_WRITE_REFUSALS
from kundeflyt.api.routes.customers import customer_out, with_status
from kundeflyt.api.schemas import Id, StatusOut
from kundeflyt.campaigns.models import Segment
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.handling.models import Placement
from kundeflyt.handling.services import customer_move, customer_place

router = Router(tags=["customers"])

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The status's `ETag` as read: a stale one answers 412."),
]


class MoveIn(Schema):
    campaign: Id | None = None  # another campaign of the customer's CRM
    segment: Id | None = None  # a segment of that campaign (or of its own); else the rules


def _status(request: HttpRequest, response: HttpResponse, customer_id: int) -> StatusOut:
    found = with_status(customers_visible_to(user_of(request))).filter(pk=customer_id).first()
    if found is None:
        raise NotFound(_("No such customer."), field="customer")
    status = customer_out(found).status
    if status is None:
        raise NotFound(_("The customer is in no campaign."), field="customer")
    response["ETag"] = f'"{status.version}"'
    return status


@router.get(
    "/customers/{customer_id}/status",
    response={200: StatusOut, **REFUSALS},
    summary="Where a customer is worked",
)
def customer_status(request: HttpRequest, response: HttpResponse, customer_id: Id) -> StatusOut:
    """The customer's campaign, segment, state, follow-up, responsible user and holder, with
    its `ETag` to move it with; 404 while it is in no campaign. Needs *customer handling*."""
    require(user_of(request), Perm.CUSTOMER_HANDLING)
    return _status(request, response, customer_id)


@router.post(
    "/customers/{customer_id}/move",
    response={200: StatusOut, **VERSIONED_WRITE_REFUSALS},
    summary="Place or move a customer",
)
def customer_relocate(
    request: HttpRequest,
    response: HttpResponse,
    customer_id: Id,
    body: MoveIn,
    if_match: IfMatch = None,
) -> StatusOut:
    """Rule 4. To another `campaign` of its CRM the customer becomes available there and
    loses its follow-up; it lands in `segment`, or in the segment whose field rule takes it,
    or in none. With only a `segment` it moves within its campaign and keeps its state. A
    customer in no campaign is placed (a `campaign` is needed; no version). A placed one
    needs its status's `ETag` as `If-Match`: 412 if the status changed since, 409 while
    someone has the customer open. Needs *extended customer handling*.

    ```
    curl -X POST -H "Authorization: Bearer $TOKEN" -H 'If-Match: "12"' \\
      -H "Content-Type: application/json" \\
      https://kundeflyt.example/api/v1/customers/42/move -d '{"campaign": 3}'
    ```
    """
    user = user_of(request)
    require(user, Perm.EXTENDED_CUSTOMER_HANDLING)
    campaign = None
    if body.campaign is not None:
        campaign = campaigns_visible_to(user).filter(pk=body.campaign).first()
        if campaign is None:
            raise NotFound(_("No such campaign."), field="campaign")
    segment = None
    if body.segment is not None:
        visible = campaigns_visible_to(user)
        segment = Segment.objects.filter(pk=body.segment, campaign__in=visible).first()
        if segment is None:
            raise NotFound(_("No such segment."), field="segment")
    placed = Placement.objects.filter(
        pk=customer_id, customer__in=customers_visible_to(user)
    ).exists()
    if not placed:
        if campaign is None:
            raise DomainError(_("Choose the campaign to place the customer in."), field="campaign")
        customer_place(user, customer_id=customer_id, campaign=campaign, segment=segment)
    else:
        if not if_match:
            raise HttpError(428, _("Send the status's ETag as If-Match."))
        customer_move(
            user,
            customer_id=customer_id,
            campaign=campaign,
            segment=segment,
            version=_version(if_match),
        )
    return _status(request, response, customer_id)


def _version(if_match: str) -> int:
    """The version an If-Match names; one that names none can match nothing (412)."""
    text = if_match.removeprefix("W/").strip('"')
    return int(text) if text.isdigit() and len(text) < 19 else -1
