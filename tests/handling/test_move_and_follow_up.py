"""Moving customers (rule 4) and changing follow-ups (D9)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kundeflyt.common.errors import Conflict, DomainError, NotAllowed
from kundeflyt.common.models import AuditEntry
from kundeflyt.handling.models import Event, Placement
from kundeflyt.handling.services import (
    customer_move,
    customer_present_next,
    customer_select,
    follow_up_change,
    follow_up_reassign,
    outcome_register,
)
from tests.factories import CampaignFactory, CRMFactory, SegmentFactory
from tests.world import World


def later(hours: int = 3) -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=hours)


def in_offer_with_follow_up(world: World) -> int:
    """A customer in the follow-up state "offer", with a personal follow-up for the agent."""
    customer = world.customer(1, segment=world.hot)
    placement = Placement.objects.get(pk=customer.pk)
    Placement.objects.filter(pk=customer.pk).update(
        state=world.campaign.flow.states.get(key="offer"),
        follow_up_at=later(),
        follow_up_user=world.agent,
        attempts=2,
    )
    assert placement.state.key == "available"
    return customer.pk


def test_moving_to_another_campaign_makes_it_available_and_unsegmented(world: World) -> None:
    customer_id = in_offer_with_follow_up(world)
    Event.objects.none()
    target = CampaignFactory(crm=world.crm, name="Gjenvinning")

    customer_move(world.supervisor, customer_id=customer_id, campaign=target)

    placement = Placement.objects.get(pk=customer_id)
    assert placement.campaign == target and placement.segment is None
    assert placement.state == target.flow.entry_state()
    assert placement.follow_up_at is None and placement.follow_up_user is None
    assert placement.attempts == 0
    assert placement.set_by_user == world.supervisor
    entry = AuditEntry.objects.get(action="customer.move")
    assert entry.before["campaign"] == world.campaign.pk and entry.after["campaign"] == target.pk
    # Presented to the target campaign's agents at once.
    selection = customer_present_next(world.agent2, campaign=target)
    assert selection is not None and selection.customer_id == customer_id


def test_moving_to_another_segment_keeps_the_state(world: World) -> None:
    customer_id = in_offer_with_follow_up(world)
    customer_move(world.supervisor, customer_id=customer_id, segment=world.cold)
    placement = Placement.objects.get(pk=customer_id)
    assert placement.segment == world.cold
    assert placement.state.key == "offer" and placement.follow_up_user == world.agent


def test_moves_across_crms_or_data_owners_are_refused(world: World) -> None:
    customer_id = in_offer_with_follow_up(world)
    other_crm_same_owner = CampaignFactory(
        crm=CRMFactory(data_owner=world.crm.data_owner, kind="b2c")
    )
    other_owner = CampaignFactory()
    for target in (other_crm_same_owner, other_owner):
        with pytest.raises(DomainError, match="within their own CRM") as refused:
            customer_move(world.supervisor, customer_id=customer_id, campaign=target)
        assert refused.value.field == "campaign"
    with pytest.raises(DomainError):
        customer_move(
            world.supervisor, customer_id=customer_id, segment=SegmentFactory(campaign=other_owner)
        )
    assert Placement.objects.get(pk=customer_id).campaign == world.campaign
    assert not AuditEntry.objects.filter(action="customer.move").exists()


def test_moving_needs_extended_customer_handling(world: World) -> None:
    customer_id = in_offer_with_follow_up(world)
    with pytest.raises(NotAllowed):
        customer_move(world.agent, customer_id=customer_id, segment=world.cold)


def test_a_customer_open_in_someones_screen_stays_put(world: World) -> None:
    customer = world.customer(2)
    customer_select(world.agent, customer_id=customer.pk)
    with pytest.raises(Conflict, match="Kari Nordmann has this customer open"):
        customer_move(world.supervisor, customer_id=customer.pk, segment=world.cold)


def test_a_move_cuts_a_lapsed_selection_so_the_late_registration_is_refused(
    world: World,
) -> None:
    customer = world.customer(2)
    selection = customer_select(world.agent, customer_id=customer.pk)
    Placement.objects.filter(pk=customer.pk).update(
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    customer_move(world.supervisor, customer_id=customer.pk, segment=world.cold)
    with pytest.raises(Conflict):
        outcome_register(
            world.agent,
            customer_id=customer.pk,
            token=selection.token,
            outcome_id=world.outcome("no_answer").pk,
        )
    assert not Event.objects.exists()


def test_follow_up_time_and_responsible_user_can_be_changed(world: World) -> None:
    customer_id = in_offer_with_follow_up(world)
    when = later(24)

    follow_up_change(world.supervisor, customer_id=customer_id, follow_up_at=when)
    follow_up_reassign(world.supervisor, customer_id=customer_id, responsible=world.agent2)

    placement = Placement.objects.get(pk=customer_id)
    assert placement.follow_up_at == when and placement.follow_up_user == world.agent2
    actions = list(
        AuditEntry.objects.filter(customer_id=customer_id)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["followup.change", "followup.reassign"]


def test_bad_follow_up_changes_are_refused(world: World) -> None:
    customer_id = in_offer_with_follow_up(world)
    with pytest.raises(DomainError) as past:
        follow_up_change(
            world.supervisor,
            customer_id=customer_id,
            follow_up_at=timezone.now() - dt.timedelta(minutes=5),
        )
    assert past.value.field == "follow_up_at"
    from tests.factories import UserFactory

    with pytest.raises(DomainError) as stranger:
        follow_up_reassign(world.supervisor, customer_id=customer_id, responsible=UserFactory())
    assert stranger.value.field == "follow_up_user"
    with pytest.raises(NotAllowed):
        follow_up_change(world.agent, customer_id=customer_id, follow_up_at=later())
    placement = Placement.objects.get(pk=customer_id)
    assert placement.follow_up_user == world.agent
