"""Bulk actions on a campaign's list (issue 10, item 6): tick rows or take all matching the
filter; a confirmation with the count and what will be refused; each customer through its own
service with its own audit row; a summary."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kundeflyt.accounts.permissions import Perm
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import BlockedNumber
from kundeflyt.handling.models import Placement
from kundeflyt.handling.services import customer_select
from tests.factories import CampaignFactory, UserFactory
from tests.world import World


@pytest.fixture
def listed(world: World) -> list[int]:
    ids = [world.customer(n, segment=world.hot, phone1=f"4123456{n}").pk for n in range(1, 5)]
    Placement.objects.filter(pk__in=ids[:2]).update(
        follow_up_at=timezone.now() - dt.timedelta(hours=2), follow_up_user=world.agent
    )
    return ids


def bulk(client: Client, world: World, follow: bool = False, **form: Any) -> Any:
    url = reverse("handling:campaign_bulk", args=[world.campaign.pk])
    return client.post(url, form, follow=follow)


def test_ticked_customers_move_to_another_segment_after_a_confirmation(
    client: Client, world: World, listed: list[int]
) -> None:
    client.force_login(world.supervisor)
    form = {"action": "move", "customer": listed[:3]}

    confirm = bulk(client, world, **form).content.decode()
    assert "3 customers are chosen in “Strøm bedrift”." in confirm
    assert Placement.objects.filter(segment=world.cold).count() == 0  # nothing yet

    done = bulk(client, world, **form, confirm="yes", to_segment=world.cold.pk).content.decode()
    assert "Done for 3 customers." in done
    assert set(Placement.objects.filter(segment=world.cold).values_list("pk", flat=True)) == set(
        listed[:3]
    )
    assert AuditEntry.objects.filter(action="customer.move").count() == 3


def test_all_matching_the_filter_and_refusals_listed(
    client: Client, world: World, listed: list[int]
) -> None:
    world.campaign.users.add(world.agent)
    customer_select(world.agent, customer_id=listed[0])
    target = CampaignFactory(crm=world.crm, name="Vinter", flow=world.campaign.flow)
    client.force_login(world.supervisor)
    form = {"action": "move", "all": "1", "follow_up": "due"}  # the two with a follow-up

    confirm = bulk(client, world, **form).content.decode()
    assert "2 customers are chosen" in confirm and "1 is open in someone" in confirm
    done = bulk(client, world, **form, confirm="yes", to_campaign=target.pk).content.decode()

    assert "Done for 1 customer." in done and "Kari Nordmann has this customer open" in done
    assert Placement.objects.get(pk=listed[1]).campaign == target
    assert Placement.objects.get(pk=listed[0]).campaign == world.campaign


def test_follow_ups_are_handed_over_even_when_overdue(
    client: Client, world: World, listed: list[int]
) -> None:
    client.force_login(world.supervisor)
    done = bulk(
        client, world, action="responsible", customer=listed, confirm="yes", to_user=world.agent2.pk
    ).content.decode()
    assert "Done for 2 customers." in done and "2 refused" in done  # two have no follow-up
    assert set(
        Placement.objects.filter(follow_up_user=world.agent2).values_list("pk", flat=True)
    ) == set(listed[:2])


def test_release_and_block(client: Client, world: World, listed: list[int]) -> None:
    customer_select(world.agent, customer_id=listed[3])
    client.force_login(world.supervisor)
    bulk(client, world, action="release", customer=[listed[3]], confirm="yes")
    assert Placement.objects.get(pk=listed[3]).holder is None

    refused = bulk(client, world, action="block", customer=[listed[2]], follow=True)
    assert "You do not have the permission" in refused.content.decode()
    administrator = UserFactory(perms=[Perm.ADMINISTRATOR])
    world.crm.data_owner.users.add(administrator)
    client.force_login(administrator)
    bulk(client, world, action="block", customer=[listed[2]], confirm="yes")
    assert BlockedNumber.objects.filter(phone="+4741234563").exists()


def test_agents_cannot_act_in_bulk(client: Client, world: World, listed: list[int]) -> None:
    client.force_login(world.agent)
    response = bulk(
        client,
        world,
        action="move",
        customer=listed,
        confirm="yes",
        to_segment=world.cold.pk,
        follow=True,
    )
    assert "You do not have the permission" in response.content.decode()
    assert not Placement.objects.filter(segment=world.cold).exists()


def test_search_results_in_bulk(client: Client, world: World, listed: list[int]) -> None:
    client.force_login(world.supervisor)
    url = reverse("handling:search_bulk")
    confirm = client.post(url, {"q": "Kunde", "all": "1", "action": "release"}).content.decode()
    assert "4 customers are chosen." in confirm
    page = client.get(reverse("handling:search"), {"q": "Kunde"}).content.decode()
    assert 'action="/search/bulk/"' in page and 'name="customer"' in page
    done = client.post(
        url,
        {
            "q": "Kunde",
            "customer": listed[:2],
            "action": "move",
            "confirm": "yes",
            "to_campaign": CampaignFactory(crm=world.crm, name="Høst").pk,
        },
    ).content.decode()
    assert "Done for 2 customers." in done
