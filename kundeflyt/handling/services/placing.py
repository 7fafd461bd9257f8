"""Putting customers into campaigns."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.audit import audit
from kundeflyt.common.errors import DomainError
from kundeflyt.crm.models import Customer
from kundeflyt.crm.services import customer_create
from kundeflyt.handling.models import Placement
from kundeflyt.handling.services.placements import Actor, placement_snapshot, set_by


def placement_create(
    actor: Actor, *, customer: Customer, campaign: Campaign, segment: Segment | None = None
) -> Placement:
    """Put a customer that is in no campaign into ``campaign``, available there (rule 10: in
    the queue). Called inside the creator's transaction (customer creation, import)."""
    if campaign.crm_id != customer.crm_id:
        raise DomainError(
            _("The campaign belongs to another CRM than the customer."), field="campaign"
        )
    if segment is not None and segment.campaign_id != campaign.pk:
        raise DomainError(_("The segment belongs to another campaign."), field="segment")
    now = timezone.now()
    placement = Placement.objects.create(
        customer=customer,
        campaign=campaign,
        segment=segment,
        state=campaign.flow.entry_state(),
        state_since=now,
        waiting_since=now,
        **set_by(actor),
    )
    audit(
        actor,
        "placement.create",
        placement,
        after=placement_snapshot(placement),
        customer_id=customer.pk,
    )
    return placement


@transaction.atomic
def customer_add(
    actor: Actor, *, campaign: Campaign, segment: Segment | None = None, **customer: Any
) -> Customer:
    """Create a customer in the campaign's CRM (``crm.services.customer_create`` checks every
    field) and place it in the campaign, available: both or neither."""
    created = customer_create(actor, crm=campaign.crm, **customer)
    placement_create(actor, customer=created, campaign=campaign, segment=segment)
    return created
