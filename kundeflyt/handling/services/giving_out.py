"""Giving out customers (issue 10): a selection of a data owner's customers goes to a campaign
and segment, available there, in batches; what cannot go is listed with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, has_perm
from kundeflyt.accounts.visibility import (
    campaigns_visible_to,
    customers_visible_to,
    data_owners_visible_to,
)
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.bounds import bounded_text
from kundeflyt.common.errors import DomainError, NotAllowed, NotFound
from kundeflyt.crm.models import CRM, Customer
from kundeflyt.handling.models import Placement, SavedSelection
from kundeflyt.handling.services.placements import Actor, refuse_if_held
from kundeflyt.handling.services.placing import placements_create
from kundeflyt.handling.services.supervision import move

BATCH = 500
GIVE_OUT_MAX = 100_000


@dataclass
class GiveOut:
    """What a give-out did: customers placed (they were in no campaign), moved (from another
    campaign or segment), and refused, each with its reason."""

    placed: int = 0
    moved: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)


def check_may_give_out(actor: Actor, campaign: Campaign, segment: Segment | None) -> None:
    if not (
        has_perm(actor, Perm.CAMPAIGN_SETUP) or has_perm(actor, Perm.EXTENDED_CUSTOMER_HANDLING)
    ):
        raise NotAllowed(
            _("Giving out customers needs campaign setup or extended customer handling.")
        )
    if not campaigns_visible_to(actor).filter(pk=campaign.pk).exists():
        raise NotFound(_("No such campaign."), field="campaign")
    if segment is not None and segment.campaign_id != campaign.pk:
        raise DomainError(_("The segment belongs to another campaign."), field="segment")


def customers_give_out(
    actor: Actor,
    *,
    customer_ids: Sequence[int],
    campaign: Campaign,
    segment: Segment | None = None,
) -> GiveOut:
    """Place each customer in ``campaign`` (and ``segment``, or the segment whose rule takes
    it), available there: customers in no campaign are placed, customers elsewhere are moved
    as D10 says (a final state too). Refused: customers someone has open, blocked and
    anonymised ones, customers of another CRM or out of sight, and those already there.

    Each batch of ``BATCH`` customers is one transaction, locked in key order, so a large
    give-out never holds the whole campaign; what was done before a failure stays done."""
    check_may_give_out(actor, campaign, segment)
    ids = sorted(set(customer_ids))
    if len(ids) > GIVE_OUT_MAX:
        raise DomainError(
            _("Give out at most %(n)s customers at a time.") % {"n": GIVE_OUT_MAX},
            field="customers",
        )
    result = GiveOut()
    for start in range(0, len(ids), BATCH):
        with transaction.atomic():
            _give_out_batch(actor, ids[start : start + BATCH], campaign, segment, result)
    return result


def _give_out_batch(
    actor: Actor,
    ids: list[int],
    campaign: Campaign,
    segment: Segment | None,
    result: GiveOut,
) -> None:
    now = timezone.now()
    visible = set(customers_visible_to(actor).filter(pk__in=ids).values_list("pk", flat=True))
    customers = {
        c.pk: c
        for c in Customer.objects.filter(pk__in=ids).select_for_update(of=("self",)).order_by("pk")
    }
    placements = {
        p.pk: p
        for p in Placement.objects.filter(pk__in=ids)
        .select_for_update(of=("self",))
        .select_related("campaign__crm", "state", "customer", "holder", "segment")
        .order_by("pk")
    }
    unplaced: list[Customer] = []
    for pk in ids:
        customer = customers.get(pk)
        if customer is None or pk not in visible or customer.crm_id != campaign.crm_id:
            result.refused.append((pk, _("Not found among the customers you see in this CRM.")))
            continue
        if customer.is_blocked:
            result.refused.append((pk, _("The customer's number is on the block list.")))
            continue
        if customer.anonymised_at is not None:
            result.refused.append((pk, _("The customer is anonymised.")))
            continue
        placement = placements.get(pk)
        if placement is None:
            unplaced.append(customer)
            continue
        try:
            refuse_if_held(placement, actor, now)
            if placement.campaign_id == campaign.pk and (
                segment is None or placement.segment_id == segment.pk
            ):
                raise DomainError(_("The customer is already there."), field="customer")
            move(actor, placement, campaign=campaign, segment=segment, now=now)
        except DomainError as error:
            result.refused.append((pk, error.message))
            continue
        result.moved += 1
    if unplaced:
        placements_create(actor, customers=unplaced, campaign=campaign, segment=segment)
        result.placed += len(unplaced)


@transaction.atomic(durable=True)
def selection_save(actor: User, *, crm: CRM, name: str, query: str) -> SavedSelection:
    """Save a filter of the CRM's customers by name (saving a name again replaces it)."""
    if not data_owners_visible_to(actor).filter(pk=crm.data_owner_id).exists():
        raise NotFound(_("No such CRM."), field="crm")
    name = bounded_text(name, field="name", max_length=120)
    if not name:
        raise DomainError(_("Give the selection a name."), field="name")
    query = bounded_text(query, field="query", max_length=2000)
    saved, _created = SavedSelection.objects.update_or_create(
        user=actor, crm=crm, name=name, defaults={"query": query}
    )
    return saved
