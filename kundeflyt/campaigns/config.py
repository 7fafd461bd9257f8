"""A campaign's configuration as the agent's loop reads it: the flow's outcomes, the options,
extra fields, products, links and segments, the CRM's fields, the colleagues who may take a
follow-up, and the data owner's webhooks. Read once per process and configuration version
(``kundeflyt.common.configuration``): the screen and the save ask for it on every request.

The objects are shared between requests and threads: read them, never change them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, users_with_perm
from kundeflyt.campaigns.models import (
    Campaign,
    CampaignLink,
    ExtraField,
    OutcomeOption,
    Product,
    Segment,
)
from kundeflyt.common.configuration import cached, config_version
from kundeflyt.crm.models import FieldDefinition
from kundeflyt.flows.models import Outcome
from kundeflyt.webhooks.models import Subscription


@dataclass(frozen=True)
class CampaignConfig:
    outcomes: tuple[Outcome, ...]  # the flow's, in its order, with their to_state
    offered_from: dict[int, frozenset[int]]  # outcome → the states it is offered from
    options: dict[int, tuple[OutcomeOption, ...]]  # outcome → its options here
    outcome_fields: dict[int, tuple[ExtraField, ...]]  # outcome → its extra fields here
    product_fields: tuple[ExtraField, ...]
    products: tuple[Product, ...]  # the active catalogue
    links: tuple[CampaignLink, ...]
    segments: tuple[Segment, ...]  # by priority
    card_fields: tuple[FieldDefinition, ...]  # the CRM's own fields
    workers: tuple[User, ...]  # who may be responsible for a follow-up (rule 3)
    webhooks: tuple[Subscription, ...]  # the data owner's active subscriptions

    def outcomes_from(self, state_id: int) -> list[Outcome]:
        return [o for o in self.outcomes if state_id in self.offered_from.get(o.pk, ())]

    def outcome_from(self, outcome_id: int, state_id: int) -> Outcome | None:
        return next((o for o in self.outcomes_from(state_id) if o.pk == outcome_id), None)


def campaign_config(campaign: Campaign, actor: object = None) -> CampaignConfig:
    """The campaign's configuration now; ``actor`` may carry the version read with it."""
    key = ("campaign", campaign.pk, campaign.flow_id, campaign.crm_id)
    return cached(key, config_version(actor), lambda: _load(campaign))


def _load(campaign: Campaign) -> CampaignConfig:
    outcomes = tuple(
        Outcome.objects.filter(flow=campaign.flow_id)
        .select_related("to_state")
        .order_by("position", "pk")
    )
    offered: dict[int, set[int]] = {o.pk: set() for o in outcomes}
    for outcome_id, state_id in Outcome.from_states.through.objects.filter(
        outcome__flow=campaign.flow_id
    ).values_list("outcome_id", "state_id"):
        offered[outcome_id].add(state_id)
    options: dict[int, list[OutcomeOption]] = {}
    for option in OutcomeOption.objects.filter(campaign=campaign.pk):
        options.setdefault(option.outcome_id, []).append(option)
    outcome_fields: dict[int, list[ExtraField]] = {}
    product_fields = []
    for extra in ExtraField.objects.filter(campaign=campaign.pk):
        if extra.applies_to == ExtraField.AppliesTo.PRODUCT:
            product_fields.append(extra)
        elif extra.outcome_id:
            outcome_fields.setdefault(extra.outcome_id, []).append(extra)
    return CampaignConfig(
        outcomes=outcomes,
        offered_from={pk: frozenset(states) for pk, states in offered.items()},
        options={pk: tuple(found) for pk, found in options.items()},
        outcome_fields={pk: tuple(found) for pk, found in outcome_fields.items()},
        product_fields=tuple(product_fields),
        products=tuple(Product.objects.filter(campaign=campaign.pk, active=True)),
        links=tuple(CampaignLink.objects.filter(campaign=campaign.pk)),
        segments=tuple(Segment.objects.filter(campaign=campaign.pk).order_by("priority", "pk")),
        card_fields=tuple(FieldDefinition.objects.filter(crm=campaign.crm_id)),
        workers=tuple(campaign_workers(campaign)),
        webhooks=tuple(
            Subscription.objects.filter(data_owner__crms=campaign.crm_id, is_active=True)
        ),
    )


def campaign_workers(campaign: Campaign) -> QuerySet[User]:
    """Users who may be responsible for a follow-up in the campaign (see rule 3)."""
    owner = campaign.crm.data_owner
    granted = Q(pk__in=owner.users.values("pk")) | Q(team__in=owner.teams.values("pk"))
    members = Q()
    if not campaign.visible_to_all:
        members = Q(pk__in=campaign.users.values("pk")) | Q(team__in=campaign.teams.values("pk"))
    return (
        users_with_perm(Perm.CUSTOMER_HANDLING)
        .filter(granted, members)
        .order_by("first_name", "last_name", "pk")
    )
