"""Putting customers into campaigns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.visibility import check_may_work
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.audit import audit
from kundeflyt.common.copying import copy_insert, copy_is_available
from kundeflyt.common.errors import DomainError
from kundeflyt.crm.field_filters import FieldFilter
from kundeflyt.crm.models import Customer
from kundeflyt.crm.services import customer_create
from kundeflyt.handling.models import Placement
from kundeflyt.handling.services.placements import Actor, placement_snapshot, set_by
from kundeflyt.handling.services.selection import select


def segment_rules(campaign: Campaign) -> list[tuple[Segment, FieldFilter]]:
    """The campaign's segments that take customers by a rule, in priority order. A rule that
    no longer fits the CRM's fields (a field removed since) takes no one."""
    definitions = list(campaign.crm.fields.all())
    rules = []
    for segment in campaign.segments.exclude(rule_field="").order_by("priority", "pk"):
        try:
            rule = segment.rule(definitions)
        except DomainError:
            continue
        if rule is not None:
            rules.append((segment, rule))
    return rules


def segment_for(
    fields: Mapping[str, Any], rules: Sequence[tuple[Segment, FieldFilter]]
) -> Segment | None:
    """The first segment, by priority, whose rule the customer's fields match (rule 4)."""
    return next((segment for segment, rule in rules if rule.matches(fields)), None)


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
    if segment is None:
        segment = segment_for(customer.fields, segment_rules(campaign))
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


def placements_create(
    actor: Actor,
    *,
    customers: Sequence[Customer],
    campaign: Campaign,
    segment: Segment | None = None,
) -> int:
    """Place many customers that are in no campaign at once (an import's piece, a give-out):
    available in ``campaign``, in ``segment`` or the segment whose rule takes each, with one
    audit row for the batch listing them. Called inside the caller's transaction. Returns
    how many were placed."""
    if any(c.crm_id != campaign.crm_id for c in customers):
        raise DomainError(
            _("The campaign belongs to another CRM than the customer."), field="campaign"
        )
    if segment is not None and segment.campaign_id != campaign.pk:
        raise DomainError(_("The segment belongs to another campaign."), field="segment")
    if not customers:
        return 0
    rules = [] if segment is not None else segment_rules(campaign)

    def segment_id(customer: Customer) -> int | None:
        chosen = segment or segment_for(customer.fields, rules)
        return chosen.pk if chosen else None

    entry = campaign.flow.entry_state()
    now = timezone.now()
    by = set_by(actor)
    same = {
        "campaign_id": campaign.pk,
        "state_id": entry.pk,
        "state_since": now,
        "waiting_since": now,
        "set_by_user_id": by["set_by_user"].pk if by["set_by_user"] else None,
        "set_by_process": by["set_by_process"],
    }
    if copy_is_available():
        rows = ((c.pk, segment_id(c)) for c in customers)
        copy_insert(Placement, ("customer_id", "segment_id"), rows, same=same)
    else:
        Placement.objects.bulk_create(
            Placement(customer_id=c.pk, segment_id=segment_id(c), **same) for c in customers
        )
    audit(
        actor,
        "placement.create_batch",
        campaign,
        after={
            "campaign": campaign.pk,
            "state": entry.pk,
            "segment": segment.pk if segment else None,
            "customers": [c.pk for c in customers],
        },
    )
    return len(customers)


@transaction.atomic
def customer_add(
    actor: Actor,
    *,
    campaign: Campaign,
    segment: Segment | None = None,
    take: bool = False,
    **customer: Any,
) -> Customer:
    """Create a customer in the campaign's CRM (``crm.services.customer_create`` checks every
    field) and place it in the campaign, available; with ``take`` it becomes the user's
    current customer too (D3). All or nothing."""
    if segment is not None and segment.campaign_id != campaign.pk:
        raise DomainError(_("The segment belongs to another campaign."), field="segment")
    if isinstance(actor, User):
        check_may_work(actor, campaign)
    created = customer_create(actor, crm=campaign.crm, **customer)
    placement_create(actor, customer=created, campaign=campaign, segment=segment)
    if take:
        if not isinstance(actor, User):
            raise DomainError(_("Only a user can take a customer."), field="customer")
        select(actor, customer_id=created.pk, manual=True)
    return created
