"""Where a customer is worked (rule 4) and when it is followed up (D9): its status, placing
or moving it between the campaigns and segments of its CRM, the follow-ups, and changing one,
each from the version of the status the client read."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import BaseModel

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, has_perm, require
from kundeflyt.accounts.visibility import campaigns_visible_to, customers_visible_to
from kundeflyt.api.auth import user_of
from kundeflyt.api.paging import Paging, page_of
from kundeflyt.api.problems import REFUSALS, VERSIONED_WRITE_REFUSALS
from kundeflyt.api.routes.customers import customer_out, with_status
from kundeflyt.api.schemas import CustomerKey, Id, Moment, StatusOut
from kundeflyt.api.versions import IfMatch, etag, sent_version
from kundeflyt.campaigns.models import Segment
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.handling.models import Placement
from kundeflyt.handling.selectors import PlacementFilter, my_follow_ups, placements_filtered
from kundeflyt.handling.services import customer_move, customer_place, follow_up_set

router = Router(tags=["customers"])


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
    response["ETag"] = etag(status.version)
    return status


@router.get(
    "/customers/{customer_id}/status",
    response={200: StatusOut, **REFUSALS},
    summary="Where a customer is worked",
)
def customer_status(
    request: HttpRequest, response: HttpResponse, customer_id: CustomerKey
) -> StatusOut:
    """The customer's campaign, segment, state, follow-up, responsible user and holder, with
    its `ETag` to move it with; 404 while it is in no campaign. Needs *customer handling*.

    ```
    curl -H "Authorization: Bearer $TOKEN" https://kundeflyt.example/api/v1/customers/4711/status
    ```
    """
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
    customer_id: CustomerKey,
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
        customer_move(
            user,
            customer_id=customer_id,
            campaign=campaign,
            segment=segment,
            version=_version(if_match),
        )
    return _status(request, response, customer_id)


def _version(if_match: str | None) -> int:
    """The status's version an If-Match names; one that names none can match nothing (412)."""
    text = sent_version(if_match, _("Send the status's ETag as If-Match."))
    return int(text) if text.isdigit() and len(text) < 19 else -1


class FollowUpsQuery(Paging):
    campaign: Id | None = None
    responsible: Id | None = None  # the responsible user (with extended customer handling)
    due: bool | None = None  # true: due now; false: later; leave out for both
    changed_since: Moment | None = None


class FollowUpOut(BaseModel):
    customer: int
    campaign: int
    segment: int | None
    state_key: str
    follow_up_at: dt.datetime
    follow_up_user: int | None  # None: shared in the campaign
    version: int


class FollowUpPage(BaseModel):
    items: list[FollowUpOut]
    next: str | None


class FollowUpIn(Schema):
    at: Moment | None  # null clears it (a customer in an available state only)
    user: Id | None = None  # the responsible user; leave it out or null for a shared one


@router.get(
    "/follow-ups", response={200: FollowUpPage, **REFUSALS}, summary="Follow-ups, a page at a time"
)
def follow_ups_list(request: HttpRequest, query: Query[FollowUpsQuery]) -> HttpResponse:
    """The customers with a follow-up, in customer order: the user's own follow-ups, or with
    *extended customer handling* every follow-up in the campaigns the user may see, by
    `campaign` and `responsible`. `due=true` keeps those due now, `due=false` the later ones.
    `changed_since` keeps those whose placement changed since then (a new `version`: a
    registration, a new time or user, a move); a follow-up cleared since is no longer listed.
    Needs *customer handling*.

    ```
    curl -H "Authorization: Bearer $TOKEN" "https://kundeflyt.example/api/v1/follow-ups?due=true"
    ```
    """
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    if has_perm(user, Perm.EXTENDED_CUSTOMER_HANDLING):
        followed = placements_filtered(
            user, PlacementFilter(campaign=query.campaign, responsible=query.responsible)
        ).filter(follow_up_at__isnull=False, is_final=False)
    else:
        followed = my_follow_ups(user)
        if query.campaign is not None:
            followed = followed.filter(campaign_id=query.campaign)
    if query.due is not None:
        now = timezone.now()
        due = {"follow_up_at__lte": now} if query.due else {"follow_up_at__gt": now}
        followed = followed.filter(**due)
    if query.changed_since is not None:
        followed = followed.filter(changed_at__gte=query.changed_since)
    found, following = page_of(request, followed.select_related("state"), query)
    page = FollowUpPage(
        items=[
            FollowUpOut(
                customer=p.pk,
                campaign=p.campaign_id,
                segment=p.segment_id,
                state_key=p.state.key,
                follow_up_at=p.follow_up_at,
                follow_up_user=p.follow_up_user_id,
                version=p.version,
            )
            for p in found
            if p.follow_up_at is not None
        ],
        next=following,
    )
    return HttpResponse(page.model_dump_json(), content_type="application/json")


@router.put(
    "/customers/{customer_id}/follow-up",
    response={200: StatusOut, **VERSIONED_WRITE_REFUSALS},
    summary="Change a customer's follow-up",
)
def follow_up_change(
    request: HttpRequest,
    response: HttpResponse,
    customer_id: CustomerKey,
    body: FollowUpIn,
    if_match: IfMatch = None,
) -> StatusOut:
    """When the customer is followed up (`at`, in the future) and by whom (`user`, one who
    works the campaign; none for a shared follow-up), as D9 on the customer's details. `at`
    null clears it and puts a customer in an available state back in the queue; one in a
    follow-up state keeps it. Send the status's `ETag` as `If-Match`. Needs *extended
    customer handling*.

    ```
    curl -X PUT -H "Authorization: Bearer $TOKEN" -H 'If-Match: "7"' \\
      -H "Content-Type: application/json" -d '{"at": "2026-12-01T10:00:00+01:00", "user": 12}' \\
      https://kundeflyt.example/api/v1/customers/4711/follow-up
    ```
    """
    user = user_of(request)
    require(user, Perm.EXTENDED_CUSTOMER_HANDLING)
    if not customers_visible_to(user).filter(pk=customer_id).exists():
        raise NotFound(_("No such customer."), field="customer")
    version = _version(if_match)
    follow_up_set(
        user,
        customer_id=customer_id,
        follow_up_at=body.at,
        responsible=responsible_user(body.user, field="user"),
        version=version,
    )
    return _status(request, response, customer_id)


def responsible_user(pk: int | None, *, field: str) -> User | None:
    """The user a follow-up is given to (None: shared); the service checks that they may
    work the campaign."""
    if pk is None:
        return None
    found = User.objects.filter(pk=pk).first()
    if found is None:
        raise DomainError(_("Choose a user who works this campaign."), field=field)
    return found
