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
    follow_up_set,
    outcome_register,
)
from tests.factories import CampaignFactory, CRMFactory, SegmentFactory, UserFactory
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


def test_follow_up_time_and_responsible_user_change_together(world: World) -> None:
    customer_id = in_offer_with_follow_up(world)
    when = later(24)

    follow_up_set(
        world.supervisor, customer_id=customer_id, follow_up_at=when, responsible=world.agent2
    )

    placement = Placement.objects.get(pk=customer_id)
    assert placement.follow_up_at == when and placement.follow_up_user == world.agent2
    entry = AuditEntry.objects.filter(customer_id=customer_id).latest("id")
    assert entry.action == "followup.change"
    assert entry.before["follow_up_user"] == world.agent.pk
    assert entry.after["follow_up_user"] == world.agent2.pk


def test_a_refused_responsible_user_leaves_the_time_unchanged_too(world: World) -> None:
    """Item 2 of issue 8: time and responsible user are one change, so a refusal of either
    changes neither (they were two services in two transactions)."""
    customer_id = in_offer_with_follow_up(world)
    before = Placement.objects.get(pk=customer_id)
    stranger = UserFactory()

    with pytest.raises(DomainError) as refused:
        follow_up_set(
            world.supervisor, customer_id=customer_id, follow_up_at=later(48), responsible=stranger
        )

    assert refused.value.field == "follow_up_user"
    after = Placement.objects.get(pk=customer_id)
    assert (after.follow_up_at, after.follow_up_user_id, after.version) == (
        before.follow_up_at,
        before.follow_up_user_id,
        before.version,
    )
    assert not AuditEntry.objects.filter(action__startswith="followup.").exists()


def test_bad_follow_up_changes_are_refused(world: World) -> None:
    customer_id = in_offer_with_follow_up(world)
    with pytest.raises(DomainError) as past:
        follow_up_set(
            world.supervisor,
            customer_id=customer_id,
            follow_up_at=timezone.now() - dt.timedelta(minutes=5),
            responsible=world.agent,
        )
    assert past.value.field == "follow_up_at"
    with pytest.raises(NotAllowed):
        follow_up_set(
            world.agent, customer_id=customer_id, follow_up_at=later(), responsible=world.agent
        )
    placement = Placement.objects.get(pk=customer_id)
    assert placement.follow_up_user == world.agent


def test_clearing_the_follow_up_of_a_customer_worked_through_it_is_refused(world: World) -> None:
    """Rule 10: "Tilbud sendt" is worked only through its follow-up."""
    customer_id = in_offer_with_follow_up(world)
    with pytest.raises(DomainError, match="choose a new time") as refused:
        follow_up_set(
            world.supervisor, customer_id=customer_id, follow_up_at=None, responsible=None
        )
    assert refused.value.field == "follow_up_at"
    assert Placement.objects.get(pk=customer_id).follow_up_at is not None


def test_clearing_a_call_back_puts_an_available_customer_back_in_the_queue(world: World) -> None:
    customer = world.customer(3)
    Placement.objects.filter(pk=customer.pk).update(
        follow_up_at=later(), follow_up_user=world.agent
    )

    follow_up_set(world.supervisor, customer_id=customer.pk, follow_up_at=None, responsible=None)

    placement = Placement.objects.get(pk=customer.pk)
    assert placement.follow_up_at is None and placement.follow_up_user is None
    assert AuditEntry.objects.filter(action="followup.clear", customer_id=customer.pk).exists()
    selection = customer_present_next(world.agent2, campaign=world.campaign)
    assert selection is not None and selection.customer_id == customer.pk
