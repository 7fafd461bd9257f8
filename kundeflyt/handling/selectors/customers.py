"""A data owner's customers as a whole (issue 10): select them across campaigns, and in no
campaign, by any information field, to count them and give them out."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kundeflyt.accounts.permissions import Perm, has_perm
from kundeflyt.accounts.visibility import Actor, customers_visible_to
from kundeflyt.common.errors import DomainError, NotAllowed
from kundeflyt.crm.field_filters import FieldFilter, bounded_filter_text, field_filter
from kundeflyt.crm.models import CRM, Customer, FieldDefinition
from kundeflyt.handling.selectors.search import customers_matching
from kundeflyt.imports.models import ImportBatch

NO_CAMPAIGN = "none"
BLOCKED_CHOICES = ("yes", "no")
# The query parameters ``CustomerFilter.from_query`` reads: the page carries them on, and an
# export of the page's customers keeps them.
CUSTOMER_FILTER_PARAMS = (
    "campaign",
    "segment",
    "state",
    "blocked",
    "batch",
    "q",
    "field",
    "op",
    "value",
    "low",
    "high",
)


@dataclass(frozen=True)
class CustomerFilter:
    campaign: int | str | None = None  # a campaign id, or NO_CAMPAIGN
    segment: int | None = None
    state: int | None = None
    blocked: str = ""  # one of BLOCKED_CHOICES, or "" for either
    import_batch: int | None = None  # the import that created them
    query: str = ""
    fields: tuple[FieldFilter, ...] = ()

    @classmethod
    def from_query(
        cls, data: Mapping[str, Any], definitions: Sequence[FieldDefinition]
    ) -> CustomerFilter:
        """Read the filters of the data owner's customer page (the list's field filter
        parameters: ``field``, ``op``, ``value``, ``low``, ``high``)."""
        campaign: int | str | None = data.get("campaign") or None
        if campaign != NO_CAMPAIGN:
            campaign = _id(data, "campaign")
        blocked = data.get("blocked") or ""
        if blocked and blocked not in BLOCKED_CHOICES:
            raise DomainError(_("Choose a filter from the list."), field="blocked")
        fields: tuple[FieldFilter, ...] = ()
        if data.get("field"):
            fields = (field_filter(data, definitions),)
        return cls(
            campaign=campaign,
            segment=_id(data, "segment"),
            state=_id(data, "state"),
            blocked=blocked,
            import_batch=_id(data, "batch"),
            query=bounded_filter_text(data.get("q"), "q"),
            fields=fields,
        )


def _id(data: Mapping[str, Any], name: str) -> int | None:
    raw = data.get(name)
    if raw in (None, ""):
        return None
    text = str(raw)
    if not re.fullmatch(r"[0-9]{1,18}", text):
        raise DomainError(_("Choose from the list."), field=name)
    return int(text)


def check_may_handle_all(actor: Actor) -> None:
    """A CRM's customers as a whole, across campaigns and in none, are for *campaign setup*
    (who imports them) and *extended customer handling* (who gives them out)."""
    if not (
        has_perm(actor, Perm.CAMPAIGN_SETUP) or has_perm(actor, Perm.EXTENDED_CUSTOMER_HANDLING)
    ):
        raise NotAllowed(_("This needs campaign setup or extended customer handling."))


def customers_filtered(actor: Actor, crm: CRM, filters: CustomerFilter) -> QuerySet[Customer]:
    """The CRM's customers the actor sees that match every filter, in no campaign too."""
    customers = customers_visible_to(actor).filter(crm=crm)
    if filters.campaign == NO_CAMPAIGN:
        customers = customers.filter(placement__isnull=True)
    elif filters.campaign is not None:
        customers = customers.filter(placement__campaign_id=filters.campaign)
    if filters.segment is not None:
        customers = customers.filter(placement__segment_id=filters.segment)
    if filters.state is not None:
        customers = customers.filter(placement__state_id=filters.state)
    if filters.blocked:
        customers = customers.filter(is_blocked=filters.blocked == "yes")
    if filters.import_batch is not None:
        customers = customers.filter(import_batch_id=filters.import_batch)
    if filters.query:
        customers = customers.filter(pk__in=customers_matching(actor, filters.query).values("pk"))
    for condition in filters.fields:
        customers = customers.filter(condition.q(customer=""))
    return customers


def imports_into(crm: CRM, *, latest: int = 50) -> QuerySet[ImportBatch]:
    """The CRM's latest imports that brought customers in (not undone), to select those
    customers by."""
    return (
        ImportBatch.objects.filter(crm=crm, created_count__gt=0)
        .exclude(status=ImportBatch.Status.UNDONE)
        .only("pk", "file_name", "created_at", "created_count")[:latest]
    )
