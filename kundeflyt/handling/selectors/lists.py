"""Lists of customers in campaigns: one filter set, always given the user, for the campaign
lists today and the data owner's customer handling, exports, bulk actions and the API later.

``PlacementFilter.from_query`` reads the filters from a query string (refusing what it cannot
read, naming the parameter); ``placements_filtered`` applies them among what the user sees.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.visibility import Actor, campaigns_visible_to
from kundeflyt.campaigns.models import Campaign
from kundeflyt.common.errors import DomainError
from kundeflyt.crm.field_filters import FieldFilter, bounded_filter_text, field_filter
from kundeflyt.crm.models import FieldDefinition
from kundeflyt.handling.models import Placement
from kundeflyt.handling.selectors.reach import REACH
from kundeflyt.handling.selectors.search import customers_matching

UNSEGMENTED = "none"
FOLLOW_UP_CHOICES = ("due", "later", "none")


@dataclass(frozen=True)
class PlacementFilter:
    campaign: int | None = None
    segment: int | str | None = None  # a segment id, or UNSEGMENTED
    state: int | None = None
    follow_up: str = ""  # one of FOLLOW_UP_CHOICES, or "" for any
    responsible: int | None = None
    reach: str = ""  # a key of reach.REACH, or "" for any
    query: str = ""
    fields: tuple[FieldFilter, ...] = field(default=())

    @classmethod
    def from_query(
        cls, data: Mapping[str, Any], definitions: Sequence[FieldDefinition]
    ) -> PlacementFilter:
        """Read the filters of a list page or API call. Field filters are written
        ``field=<key>&op=<operator>&value=…`` (``low``/``high`` for a range)."""
        segment: int | str | None = data.get("segment") or None
        if segment != UNSEGMENTED:
            segment = _id(data, "segment")
        follow_up = data.get("follow_up") or ""
        if follow_up and follow_up not in FOLLOW_UP_CHOICES:
            raise DomainError(_("Choose a follow-up filter from the list."), field="follow_up")
        reach = data.get("reach") or ""
        if reach and reach not in REACH:
            raise DomainError(_("Choose a filter from the list."), field="reach")
        query = bounded_filter_text(data.get("q"), "q")
        fields: tuple[FieldFilter, ...] = ()
        if data.get("field"):
            fields = (field_filter(data, definitions),)
        return cls(
            campaign=_id(data, "campaign"),
            segment=segment,
            state=_id(data, "state"),
            follow_up=follow_up,
            responsible=_id(data, "responsible"),
            reach=reach,
            query=query,
            fields=fields,
        )

    @classmethod
    def for_campaign(cls, data: Mapping[str, Any], campaign: Campaign) -> PlacementFilter:
        """The filters of a campaign's own list: its CRM's fields, held to that campaign."""
        filters = cls.from_query(data, list(campaign.crm.fields.all()))
        return replace(filters, campaign=campaign.pk)


def _id(data: Mapping[str, Any], name: str) -> int | None:
    raw = data.get(name)
    if raw in (None, ""):
        return None
    text = str(raw)
    if not re.fullmatch(r"[0-9]{1,18}", text):
        raise DomainError(_("Choose from the list."), field=name)
    return int(text)


def placements_filtered(actor: Actor, filters: PlacementFilter) -> QuerySet[Placement]:
    """The placements in campaigns the actor may see that match every filter."""
    placements = Placement.objects.filter(campaign__in=campaigns_visible_to(actor))
    if filters.campaign is not None:
        placements = placements.filter(campaign_id=filters.campaign)
    if filters.segment == UNSEGMENTED:
        placements = placements.filter(segment__isnull=True)
    elif filters.segment is not None:
        placements = placements.filter(segment_id=filters.segment)
    if filters.state is not None:
        placements = placements.filter(state_id=filters.state)
    now = timezone.now()
    match filters.follow_up:
        case "due":
            placements = placements.filter(follow_up_at__lte=now)
        case "later":
            placements = placements.filter(follow_up_at__gt=now)
        case "none":
            placements = placements.filter(follow_up_at__isnull=True)
    if filters.responsible is not None:
        placements = placements.filter(follow_up_user_id=filters.responsible)
    if filters.reach:
        placements = placements.filter(REACH[filters.reach])
    if filters.query:
        placements = placements.filter(customer__in=customers_matching(actor, filters.query))
    for condition in filters.fields:
        placements = placements.filter(condition.q())
    return placements
