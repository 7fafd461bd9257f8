"""Who the token is, and the setup it works in: data owners, CRMs and campaigns."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from ninja import Router

from kundeflyt.accounts.permissions import Perm, has_perm
from kundeflyt.accounts.visibility import campaigns_visible_to, data_owners_visible_to
from kundeflyt.api.auth import user_of
from kundeflyt.api.problems import REFUSALS
from kundeflyt.api.schemas import (
    CampaignOut,
    CrmOut,
    DataOwnerOut,
    FieldOut,
    Me,
    OutcomeOut,
    SegmentOut,
    StateOut,
)
from kundeflyt.campaigns.models import Segment
from kundeflyt.crm.models import CRM
from kundeflyt.flows.models import Outcome, State

router = Router(tags=["setup"])


@router.get("/me", response={200: Me, **REFUSALS}, summary="The token's user")
def me(request: HttpRequest) -> Me:
    """The user the token acts as, with the product permissions it holds.

    ```
    curl -H "Authorization: Bearer $TOKEN" https://kundeflyt.example/api/v1/me
    ```
    """
    user = user_of(request)
    return Me(
        id=user.pk,
        username=user.username,
        name=user.get_full_name() or user.username,
        language=user.language,
        permissions=[p.value for p in Perm if has_perm(user, p)],
    )


@router.get("/data-owners", response={200: list[DataOwnerOut], **REFUSALS}, summary="Data owners")
def data_owners(request: HttpRequest) -> list[DataOwnerOut]:
    """The data owners the user is granted.

    ```
    curl -H "Authorization: Bearer $TOKEN" https://kundeflyt.example/api/v1/data-owners
    ```
    """
    owners = data_owners_visible_to(user_of(request)).order_by("name", "pk")
    return [DataOwnerOut(id=o.pk, name=o.name) for o in owners]


@router.get("/crms", response={200: list[CrmOut], **REFUSALS}, summary="CRMs with their fields")
def crms(request: HttpRequest) -> list[CrmOut]:
    """The CRMs of those data owners, each with its information fields in card order.

    ```
    curl -H "Authorization: Bearer $TOKEN" https://kundeflyt.example/api/v1/crms
    ```
    """
    found = (
        CRM.objects.filter(data_owner__in=data_owners_visible_to(user_of(request)))
        .prefetch_related("fields")
        .order_by("data_owner__name", "name", "pk")
    )
    return [
        CrmOut(
            id=crm.pk,
            data_owner=crm.data_owner_id,
            name=crm.name,
            kind=crm.kind,
            fields=[
                FieldOut(
                    key=d.key,
                    label=d.label,
                    type=d.type,
                    required=d.required,
                    unique=d.unique,
                    choices=list(d.choices or []),
                )
                for d in crm.fields.all()
            ],
        )
        for crm in found
    ]


@router.get("/campaigns", response={200: list[CampaignOut], **REFUSALS}, summary="Campaigns")
def campaigns(request: HttpRequest) -> list[CampaignOut]:
    """The campaigns the user may see, with their segments by priority and their flow's
    states and outcomes.

    ```
    curl -H "Authorization: Bearer $TOKEN" https://kundeflyt.example/api/v1/campaigns
    ```
    """
    segments: QuerySet[Segment] = Segment.objects.order_by("priority", "pk")
    states: QuerySet[State] = State.objects.order_by("position", "pk")
    outcomes: QuerySet[Outcome] = Outcome.objects.order_by("position", "pk")
    found = (
        campaigns_visible_to(user_of(request))
        .select_related("flow")
        .prefetch_related(
            Prefetch("segments", queryset=segments),
            Prefetch("flow__states", queryset=states),
            Prefetch("flow__outcomes", queryset=outcomes),
        )
        .order_by("name", "pk")
    )
    return [
        CampaignOut(
            id=c.pk,
            crm=c.crm_id,
            name=c.name,
            presentation_mode=c.presentation_mode,
            segments=[
                SegmentOut(id=s.pk, name=s.name, priority=s.priority) for s in c.segments.all()
            ],
            states=[
                StateOut(id=s.pk, key=s.key, name=s.name, kind=s.kind) for s in c.flow.states.all()
            ],
            outcomes=[OutcomeOut(id=o.pk, key=o.key, name=o.name) for o in c.flow.outcomes.all()],
        )
        for c in found
    ]
