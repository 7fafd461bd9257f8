"""Calling hours enforced (DESIGN.md rule 11): a campaign the marketing law binds presents no
one, lets no one be taken by hand and takes no follow-up outside weekdays 09:00–21:00 Oslo
time; My work says when it opens. Business campaigns are not bound unless they opt in."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from time_machine import TimeMachineFixture

from kundeflyt.campaigns.calling_hours import OSLO
from kundeflyt.campaigns.models import Campaign
from kundeflyt.common.errors import DomainError
from kundeflyt.crm.models import CRM
from kundeflyt.handling.models import Event, Placement
from kundeflyt.handling.services import (
    AfterSave,
    customer_present_next,
    customer_select,
    follow_up_set,
    outcome_register,
)
from tests.conftest import register_loaded
from tests.factories import CampaignFactory, CRMFactory
from tests.world import World

SATURDAY = dt.datetime(2026, 12, 5, 10, 0, tzinfo=OSLO)
SUNDAY_NIGHT = dt.datetime(2026, 12, 6, 3, 0, tzinfo=OSLO)
TUESDAY_NOON = dt.datetime(2026, 12, 8, 12, 0, tzinfo=OSLO)
CLOSED_UNTIL_MONDAY = "The campaign is closed for calls now. It opens Monday 09:00."


def oslo(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=OSLO)  # type: ignore[misc]


@pytest.fixture
def consumers(world: World) -> Campaign:
    """A consumer campaign of the world's data owner, which the world's users may work."""
    crm = CRMFactory(data_owner=world.crm.data_owner, kind=CRM.Kind.B2C, name="Privat")
    register_loaded()  # the register is good: only the hours are tested here
    return CampaignFactory(crm=crm, name="Strøm privat")


def present(world: World, campaign: Campaign) -> int | None:
    selection = customer_present_next(world.agent, campaign=campaign)
    return selection.customer_id if selection else None


# --- The presenter and taking by hand -----------------------------------------------------------


def test_on_a_saturday_the_presenter_refuses_a_consumer_campaign_and_says_when_it_opens(
    world: World, consumers: Campaign, time_machine: TimeMachineFixture
) -> None:
    customer = world.customer(1, campaign=consumers)
    time_machine.move_to(SATURDAY, tick=False)

    with pytest.raises(DomainError) as refused:
        present(world, consumers)

    assert refused.value.message == CLOSED_UNTIL_MONDAY
    assert refused.value.code == "closed" and refused.value.field == "campaign"
    assert Placement.objects.get(pk=customer.pk).holder_id is None

    time_machine.move_to(oslo(2026, 12, 7, 9, 0), tick=False)  # Monday 09:00
    assert present(world, consumers) == customer.pk


@pytest.mark.parametrize(
    "at, message",
    [
        (SUNDAY_NIGHT, "It opens tomorrow 09:00."),
        (oslo(2027, 5, 17, 12, 0), "It opens tomorrow 09:00."),  # 17 May, a Monday
        (oslo(2026, 4, 6, 12, 0), "It opens tomorrow 09:00."),  # Easter Monday
        (oslo(2026, 12, 8, 8, 59), "It opens today 09:00."),
        (oslo(2026, 12, 8, 21, 0), "It opens tomorrow 09:00."),
        (dt.datetime(2026, 3, 30, 6, 59, tzinfo=dt.UTC), "It opens today 09:00."),  # 08:59 CEST
        (dt.datetime(2026, 10, 26, 7, 59, tzinfo=dt.UTC), "It opens today 09:00."),  # 08:59 CET
    ],
)
def test_weekends_holidays_nights_and_the_edges_of_the_day_are_closed(
    world: World,
    consumers: Campaign,
    time_machine: TimeMachineFixture,
    at: dt.datetime,
    message: str,
) -> None:
    world.customer(1, campaign=consumers)
    time_machine.move_to(at, tick=False)
    with pytest.raises(DomainError, match=re.escape(message)):
        present(world, consumers)


@pytest.mark.parametrize(
    "at",
    [
        oslo(2026, 12, 8, 9, 0),
        oslo(2026, 12, 8, 20, 59),
        dt.datetime(2026, 3, 30, 7, 0, tzinfo=dt.UTC),  # Monday after March's change: 09:00
        dt.datetime(2026, 10, 26, 8, 0, tzinfo=dt.UTC),  # Monday after October's: 09:00
    ],
)
def test_from_nine_to_just_before_nine_at_night_customers_are_presented(
    world: World, consumers: Campaign, time_machine: TimeMachineFixture, at: dt.datetime
) -> None:
    customer = world.customer(1, campaign=consumers)
    time_machine.move_to(at, tick=False)
    assert present(world, consumers) == customer.pk


def test_taking_a_consumer_by_hand_on_a_saturday_is_refused_the_same_way(
    world: World, consumers: Campaign, time_machine: TimeMachineFixture
) -> None:
    customer = world.customer(1, campaign=consumers)
    time_machine.move_to(SATURDAY, tick=False)

    with pytest.raises(DomainError) as refused:
        customer_select(world.agent, customer_id=customer.pk, manual=True)

    assert refused.value.message == CLOSED_UNTIL_MONDAY and refused.value.code == "closed"
    assert Placement.objects.get(pk=customer.pk).holder_id is None


def test_a_call_open_before_nine_at_night_is_registered_after_it(
    world: World, consumers: Campaign, time_machine: TimeMachineFixture
) -> None:
    customer = world.customer(1, campaign=consumers)
    time_machine.move_to(oslo(2026, 12, 8, 20, 59), tick=False)
    selection = customer_select(world.agent, customer_id=customer.pk)
    time_machine.move_to(oslo(2026, 12, 8, 21, 0, 30), tick=False)
    # The customer the agent has open stays theirs (a second tab)…
    assert customer_select(world.agent, customer_id=customer.pk).token == selection.token
    time_machine.move_to(oslo(2026, 12, 8, 21, 4), tick=False)

    # …and the call that was made is registered.
    event = outcome_register(
        world.agent,
        customer_id=customer.pk,
        token=selection.token,
        outcome_id=world.outcome("no_answer", consumers).pk,
        then=AfterSave.NEXT_FROM_LIST,
    )
    assert event.registered_at == oslo(2026, 12, 8, 21, 4)


def test_a_business_campaign_is_worked_at_any_time_unless_it_opts_in(
    world: World, time_machine: TimeMachineFixture
) -> None:
    first, second = world.customer(1), world.customer(2)
    time_machine.move_to(SUNDAY_NIGHT, tick=False)
    assert present(world, world.campaign) == first.pk
    assert customer_select(world.agent, customer_id=second.pk).customer_id == second.pk

    world.campaign.consumer_rules = True
    world.campaign.save()
    with pytest.raises(DomainError, match="It opens tomorrow 09:00"):
        present(world, world.campaign)
    with pytest.raises(DomainError, match="It opens tomorrow 09:00"):
        customer_select(world.agent, customer_id=first.pk)


# --- Follow-ups ---------------------------------------------------------------------------------


def register_call_back(
    world: World, campaign: Campaign, customer_id: int, at: dt.datetime
) -> Event:
    selection = customer_select(world.agent, customer_id=customer_id)
    return outcome_register(
        world.agent,
        customer_id=customer_id,
        token=selection.token,
        outcome_id=world.outcome("call_back", campaign).pk,
        follow_up_at=at,
        then=AfterSave.MY_WORK,
    )


@pytest.mark.parametrize(
    "follow_up_at",
    [
        oslo(2026, 12, 12, 12, 0),  # Saturday
        oslo(2026, 12, 13, 12, 0),  # Sunday
        oslo(2026, 12, 25, 12, 0),  # Christmas Day, a Friday
        oslo(2027, 5, 17, 12, 0),  # Constitution Day, a Monday
        oslo(2027, 3, 29, 12, 0),  # Easter Monday 2027
        oslo(2026, 12, 9, 8, 59),
        oslo(2026, 12, 9, 21, 0),
    ],
)
def test_a_consumer_follow_up_outside_the_calling_hours_is_refused_with_the_reason(
    world: World, consumers: Campaign, time_machine: TimeMachineFixture, follow_up_at: dt.datetime
) -> None:
    customer = world.customer(1, campaign=consumers)
    time_machine.move_to(TUESDAY_NOON, tick=False)

    with pytest.raises(DomainError) as refused:
        register_call_back(world, consumers, customer.pk, follow_up_at)

    assert refused.value.field == "follow_up_at"
    assert "outside the campaign's calling hours: weekdays 09:00–21:00" in refused.value.message
    assert not Event.objects.exists()


@pytest.mark.parametrize("follow_up_at", [oslo(2026, 12, 9, 9, 0), oslo(2026, 12, 9, 20, 59)])
def test_a_consumer_follow_up_in_the_calling_hours_is_kept(
    world: World, consumers: Campaign, time_machine: TimeMachineFixture, follow_up_at: dt.datetime
) -> None:
    customer = world.customer(1, campaign=consumers)
    time_machine.move_to(TUESDAY_NOON, tick=False)
    register_call_back(world, consumers, customer.pk, follow_up_at)
    assert Placement.objects.get(pk=customer.pk).follow_up_at == follow_up_at


def test_a_business_follow_up_may_fall_on_a_saturday_unless_the_campaign_opts_in(
    world: World, time_machine: TimeMachineFixture
) -> None:
    saturday = oslo(2026, 12, 12, 10, 0)
    customer = world.customer(1)
    time_machine.move_to(TUESDAY_NOON, tick=False)
    register_call_back(world, world.campaign, customer.pk, saturday)
    assert Placement.objects.get(pk=customer.pk).follow_up_at == saturday

    world.campaign.consumer_rules = True
    world.campaign.save()
    register_loaded()  # the opted-in campaign now needs the register too
    other = world.customer(2)
    with pytest.raises(DomainError) as refused:
        register_call_back(world, world.campaign, other.pk, saturday)
    assert refused.value.field == "follow_up_at"


def test_the_supervisor_cannot_move_a_consumer_follow_up_out_of_the_calling_hours(
    world: World, consumers: Campaign, time_machine: TimeMachineFixture
) -> None:
    customer = world.customer(1, campaign=consumers)
    time_machine.move_to(TUESDAY_NOON, tick=False)
    # Set before the rule was enforced: handing it over keeps the time it had.
    Placement.objects.filter(pk=customer.pk).update(follow_up_at=oslo(2026, 12, 12, 10, 0))

    with pytest.raises(DomainError) as refused:
        follow_up_set(
            world.supervisor,
            customer_id=customer.pk,
            follow_up_at=oslo(2026, 12, 9, 22, 0),
            responsible=world.agent,
        )
    assert refused.value.field == "follow_up_at" and "calling hours" in refused.value.message

    kept = follow_up_set(
        world.supervisor,
        customer_id=customer.pk,
        follow_up_at=oslo(2026, 12, 12, 10, 0),
        responsible=world.agent,
    )
    assert kept.follow_up_user_id == world.agent.pk
    moved = follow_up_set(
        world.supervisor,
        customer_id=customer.pk,
        follow_up_at=oslo(2026, 12, 9, 9, 0),
        responsible=world.agent,
    )
    assert moved.follow_up_at == oslo(2026, 12, 9, 9, 0)

    business = world.customer(2)
    assert follow_up_set(
        world.supervisor,
        customer_id=business.pk,
        follow_up_at=oslo(2026, 12, 9, 22, 0),
        responsible=None,
    ).follow_up_at == oslo(2026, 12, 9, 22, 0)


# --- My work ------------------------------------------------------------------------------------


def test_my_work_says_when_a_closed_consumer_campaign_opens_and_starting_it_is_refused(
    client: Client, world: World, consumers: Campaign, time_machine: TimeMachineFixture
) -> None:
    world.customer(1, campaign=consumers)
    world.customer(2)
    time_machine.move_to(SATURDAY, tick=False)
    client.force_login(world.agent)

    response = client.get(reverse("handling:my_work"))
    opens = {cw.campaign.name: cw.opens for cw in response.context["work"].campaigns}
    assert opens == {"Strøm privat": "Monday 09:00", "Strøm bedrift": None}
    assert response.content.decode().count("Opens Monday 09:00") == 1

    started = client.post(reverse("handling:work_start"), {"campaign": consumers.pk}, follow=True)
    assert CLOSED_UNTIL_MONDAY in started.content.decode()
    assert not Placement.objects.filter(holder=world.agent).exists()

    time_machine.move_to(TUESDAY_NOON, tick=False)
    client.force_login(world.agent)
    page = client.get(reverse("handling:my_work")).content.decode()
    assert "Opens" not in page


def test_my_work_reads_when_campaigns_open_without_a_query_per_campaign(
    client: Client, world: World, consumers: Campaign, time_machine: TimeMachineFixture
) -> None:
    def count() -> int:
        client.force_login(world.agent)  # a session idle for days has ended
        client.get(reverse("handling:my_work"))  # the configuration, cached
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("handling:my_work")).status_code == 200
        return len(captured)

    time_machine.move_to(TUESDAY_NOON, tick=False)
    open_now = count()
    time_machine.move_to(SATURDAY, tick=False)
    one_closed = count()
    for n in range(3):
        CampaignFactory(crm=consumers.crm, name=f"Privat {n}")
    four_closed = count()

    assert open_now == one_closed == four_closed
    assert four_closed <= 20


def test_the_follow_up_picker_says_the_hours_it_takes(
    world: World, consumers: Campaign, time_machine: TimeMachineFixture, client: Client
) -> None:
    customer = world.customer(1, campaign=consumers)
    business = world.customer(2)
    time_machine.move_to(TUESDAY_NOON, tick=False)
    client.force_login(world.agent)
    fields = reverse("handling:outcome_fields")
    call_back = world.outcome("call_back", consumers).pk

    customer_select(world.agent, customer_id=customer.pk)
    hint = client.get(fields, {"outcome": call_back}).content.decode()
    assert "Weekdays 09:00–21:00, not on public holidays (the marketing law)." in hint

    customer_select(world.agent, customer_id=business.pk)
    plain = client.get(fields, {"outcome": world.outcome("call_back").pk}).content.decode()
    assert 'id="follow_up_at"' in plain and "Weekdays" not in plain
