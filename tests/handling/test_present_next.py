"""Presenting the next customer (rule 3): follow-ups first, then by segment priority."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from kundeflyt.handling.models import Placement
from kundeflyt.handling.services import (
    AfterSave,
    customer_present_next,
    customer_select,
    outcome_register,
)
from tests.world import World


def _present(world: World, user=None, segment=None) -> int | None:  # type: ignore[no-untyped-def]
    selection = customer_present_next(user or world.agent, campaign=world.campaign, segment=segment)
    return selection.customer_id if selection else None


def _work(world: World) -> int | None:
    """Take the next customer and register a final outcome, as an agent working the list."""
    selection = customer_present_next(world.agent, campaign=world.campaign)
    if selection is None:
        return None
    outcome_register(
        world.agent,
        customer_id=selection.customer_id,
        token=selection.token,
        outcome_id=world.outcome("refused").pk,
        comment="Nei takk",
        then=AfterSave.NEXT_FROM_LIST,
    )
    return selection.customer_id


def _follow_up(customer_id: int, *, minutes: int, user=None) -> None:  # type: ignore[no-untyped-def]
    Placement.objects.filter(pk=customer_id).update(
        follow_up_at=timezone.now() + dt.timedelta(minutes=minutes), follow_up_user=user
    )


def test_order_is_my_followups_then_shared_then_available_by_segment_priority(
    world: World,
) -> None:
    cold = world.customer("cold", segment=world.cold)
    hot = world.customer("hot", segment=world.hot)
    unsegmented = world.customer("none")
    shared_due = world.customer("shared", segment=world.cold)
    _follow_up(shared_due.pk, minutes=-5)
    mine_due = world.customer("mine", segment=world.cold)
    _follow_up(mine_due.pk, minutes=-1, user=world.agent)
    others_due = world.customer("others")
    _follow_up(others_due.pk, minutes=-60, user=world.agent2)
    later = world.customer("later")
    _follow_up(later.pk, minutes=60)

    order = [_work(world) for _ in range(6)]

    assert order == [mine_due.pk, shared_due.pk, hot.pk, cold.pk, unsegmented.pk, None]
    # The other agent's personal follow-up is theirs alone.
    assert _present(world, world.agent2) == others_due.pk


def test_a_customer_held_by_another_is_never_presented(world: World) -> None:
    held = world.customer(1)
    free = world.customer(2)
    customer_select(world.agent2, customer_id=held.pk)
    assert _present(world) == free.pk
    assert _present(world) is None


def test_working_a_segment_presents_only_that_segment(world: World) -> None:
    world.customer("hot", segment=world.hot)
    cold = world.customer("cold", segment=world.cold)
    assert _present(world, segment=world.cold) == cold.pk


def test_attempt_rules_hold_customers_back(world: World) -> None:
    world.campaign.max_attempts = 3
    world.campaign.min_minutes_between_attempts = 30
    world.campaign.save()
    tried_out = world.customer(1)
    Placement.objects.filter(pk=tried_out.pk).update(attempts=3)
    too_soon = world.customer(2)
    Placement.objects.filter(pk=too_soon.pk).update(
        attempts=1, last_attempt_at=timezone.now() - dt.timedelta(minutes=10)
    )
    rested = world.customer(3)
    Placement.objects.filter(pk=rested.pk).update(
        attempts=1, last_attempt_at=timezone.now() - dt.timedelta(minutes=31)
    )
    assert _present(world) == rested.pk
    assert _present(world) is None


def test_waiting_time_orders_customers_in_the_same_segment(world: World) -> None:
    newer = world.customer(1)
    older = world.customer(2)
    Placement.objects.filter(pk=older.pk).update(
        waiting_since=timezone.now() - dt.timedelta(days=1)
    )
    assert _present(world) == older.pk
    assert _present(world) == newer.pk


def test_asking_for_the_next_skips_and_releases_the_current_customer(world: World) -> None:
    first = world.customer(1)
    second = world.customer(2)
    assert _present(world) == first.pk
    assert _present(world) == second.pk
    assert Placement.objects.get(pk=first.pk).holder is None
    assert Placement.objects.filter(holder=world.agent).count() == 1
    assert _present(world) == first.pk
