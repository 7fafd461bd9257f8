"""Registering an outcome (rule 2): only the holder, only offered outcomes, all or nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from kundeflyt.campaigns.models import ExtraField, OutcomeOption, Product
from kundeflyt.common.errors import Conflict, DomainError
from kundeflyt.flows.models import Outcome
from kundeflyt.handling.models import Event, Meeting, Placement, ProductLine
from kundeflyt.handling.services import (
    AfterSave,
    MeetingInput,
    ProductInput,
    Selection,
    customer_select,
    outcome_register,
)
from tests.world import World


def soon(hours: int = 2) -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=hours)


@pytest.fixture
def taken(world: World) -> Selection:
    customer = world.customer(1, segment=world.hot)
    return customer_select(world.agent, customer_id=customer.pk)


def register(world: World, selection: Selection, key: str, **kwargs: Any) -> Event:
    return outcome_register(
        world.agent,
        customer_id=selection.customer_id,
        token=selection.token,
        outcome_id=world.outcome(key).pk,
        **kwargs,
    )


def unchanged(selection: Selection) -> bool:
    placement = Placement.objects.get(pk=selection.customer_id)
    return (
        not Event.objects.exists()
        and placement.version == selection.placement.version
        and placement.state_id == selection.placement.state_id
    )


def test_a_sale_writes_event_placement_and_products_together(
    world: World, taken: Selection
) -> None:
    product = Product.objects.create(campaign=world.campaign, name="Fastpris", price=Decimal("99"))

    event = register(
        world,
        taken,
        "sold",
        comment="Fornøyd kunde",
        products=[ProductInput(product.pk, quantity=2)],
    )

    placement = Placement.objects.get(pk=taken.customer_id)
    assert placement.state.key == "sold" and placement.is_final
    assert placement.set_by_user == world.agent
    assert event.from_state.key == "available" and event.to_state.key == "sold"
    assert event.segment == world.hot
    assert event.counts_for_user == world.agent and event.counts_at == event.registered_at
    line = ProductLine.objects.get(event=event)
    assert (line.status, line.quantity, line.total) == ("sold", 2, Decimal("198"))


def test_an_attempt_keeps_the_state_and_counts_the_attempt(world: World, taken: Selection) -> None:
    register(world, taken, "no_answer")
    placement = Placement.objects.get(pk=taken.customer_id)
    assert placement.state.key == "available"
    assert placement.attempts == 1 and placement.last_attempt_at is not None
    assert placement.follow_up_at is None


def test_a_personal_follow_up_goes_to_the_chosen_user(world: World, taken: Selection) -> None:
    when = soon()
    register(world, taken, "call_back", follow_up_at=when, follow_up_user=world.agent2)
    placement = Placement.objects.get(pk=taken.customer_id)
    assert placement.follow_up_at == when and placement.follow_up_user == world.agent2


def test_after_save_choices(world: World, taken: Selection) -> None:
    register(world, taken, "no_answer", then=AfterSave.STAY)
    assert Placement.objects.get(pk=taken.customer_id).holder == world.agent
    register(world, taken, "no_answer", then=AfterSave.MY_WORK)
    assert Placement.objects.get(pk=taken.customer_id).holder is None


def test_a_meeting_is_booked_with_its_outcome(world: World, taken: Selection) -> None:
    flow = world.campaign.flow
    meeting_outcome = Outcome.objects.create(
        flow=flow,
        key="meeting",
        name="Møte",
        to_state=flow.states.get(key="offer"),
        follow_up="required",
        books_meeting=True,
    )
    meeting_outcome.from_states.add(flow.states.get(key="available"))
    starts = soon(24)
    event = register(
        world,
        taken,
        "meeting",
        follow_up_at=soon(48),
        meeting=MeetingInput(starts_at=starts, place="Kontoret"),
    )
    meeting = Meeting.objects.get(event=event)
    assert meeting.starts_at == starts and meeting.booked_by == world.agent


@pytest.mark.parametrize(
    ("key", "kwargs", "field"),
    [
        ("refused", {}, "comment"),
        ("call_back", {}, "follow_up_at"),
        ("call_back", {"follow_up_at": timezone.now() - dt.timedelta(minutes=1)}, "follow_up_at"),
        ("no_answer", {"follow_up_at": soon()}, "follow_up_at"),
        ("sold", {}, "products"),
        ("sold", {"products": [ProductInput(999_999)]}, "products.0.product"),
        ("no_answer", {"meeting": MeetingInput(starts_at=soon())}, "meeting"),
        ("no_answer", {"extra": {"nope": 1}}, "nope"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(
    world: World, taken: Selection, key: str, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        register(world, taken, key, **kwargs)
    assert refused.value.field == field
    assert unchanged(taken)


def test_an_outcome_not_offered_from_the_state_is_refused(world: World, taken: Selection) -> None:
    product = Product.objects.create(campaign=world.campaign, name="Spot")
    register(
        world,
        taken,
        "offer_sent",
        follow_up_at=soon(),
        then=AfterSave.STAY,
        products=[ProductInput(product.pk)],
    )
    # "Offer sent" is offered from "available" only; the customer is in "offer" now.
    with pytest.raises(DomainError, match="not offered from the state “Tilbud sendt”") as refused:
        register(
            world, taken, "offer_sent", follow_up_at=soon(), products=[ProductInput(product.pk)]
        )
    assert refused.value.field == "outcome"
    assert Event.objects.count() == 1


def test_an_outcome_of_another_flow_is_refused(world: World, taken: Selection) -> None:
    from tests.factories import simple_flow

    foreign = Outcome.objects.get(flow=simple_flow("Other"), key="no_answer")
    with pytest.raises(DomainError) as refused:
        outcome_register(
            world.agent, customer_id=taken.customer_id, token=taken.token, outcome_id=foreign.pk
        )
    assert refused.value.field == "outcome"
    assert unchanged(taken)


def test_nothing_is_offered_from_a_final_state(world: World, taken: Selection) -> None:
    register(world, taken, "refused", comment="Nei", then=AfterSave.STAY)
    # Now in a final state: nothing is offered any more.
    with pytest.raises(DomainError, match="not offered from the state") as refused:
        register(world, taken, "no_answer")
    assert refused.value.field == "outcome"
    assert Event.objects.count() == 1


def test_outcome_options_must_be_picked_without_default(world: World, taken: Selection) -> None:
    refused_outcome = world.outcome("refused")
    price = OutcomeOption.objects.create(
        campaign=world.campaign, outcome=refused_outcome, label="For dyrt"
    )
    with pytest.raises(DomainError) as refused:
        register(world, taken, "refused", comment="Nei")
    assert refused.value.field == "option"
    assert unchanged(taken)
    event = register(world, taken, "refused", comment="Nei", option_id=price.pk)
    assert event.option == price


def test_required_extra_fields_are_checked_by_type(world: World, taken: Selection) -> None:
    ExtraField.objects.create(
        campaign=world.campaign,
        applies_to="outcome",
        outcome=world.outcome("refused"),
        key="competitor",
        label="Konkurrent",
        type="text",
        required=True,
    )
    ExtraField.objects.create(
        campaign=world.campaign,
        applies_to="outcome",
        outcome=world.outcome("refused"),
        key="price",
        label="Pris",
        type="number",
    )
    with pytest.raises(DomainError) as missing:
        register(world, taken, "refused", comment="Nei", extra={"price": "12"})
    assert missing.value.field == "competitor"
    with pytest.raises(DomainError) as wrong:
        register(world, taken, "refused", comment="Nei", extra={"competitor": "X", "price": "tolv"})
    assert wrong.value.field == "price"
    assert unchanged(taken)
    event = register(
        world, taken, "refused", comment="Nei", extra={"competitor": "Fjordkraft", "price": "12,5"}
    )
    assert event.extra_values == {"competitor": "Fjordkraft", "price": "12.5"}


def test_only_the_holder_registers(world: World, taken: Selection) -> None:
    with pytest.raises(Conflict):
        outcome_register(
            world.agent2,
            customer_id=taken.customer_id,
            token=taken.token,
            outcome_id=world.outcome("no_answer").pk,
        )
    assert unchanged(taken)


def test_a_holder_whose_lease_was_taken_over_is_fenced(world: World, taken: Selection) -> None:
    Placement.objects.filter(pk=taken.customer_id).update(
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    customer_select(world.agent2, customer_id=taken.customer_id)

    with pytest.raises(Conflict, match="Ola Hansen has taken over"):
        register(world, taken, "no_answer")
    assert not Event.objects.exists()


def test_a_follow_up_for_a_user_who_cannot_work_the_campaign_is_refused(
    world: World, taken: Selection
) -> None:
    from tests.factories import UserFactory

    stranger = UserFactory()
    with pytest.raises(DomainError) as refused:
        register(world, taken, "call_back", follow_up_at=soon(), follow_up_user=stranger)
    assert refused.value.field == "follow_up_user"
    assert unchanged(taken)
