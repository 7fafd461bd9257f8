"""A data owner's customers as a whole, and customers by hand (issue 10, items 2 and 3):
select by field across campaigns and in none, count, save the selection, give it out."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kundeflyt.accounts.permissions import Perm
from kundeflyt.campaigns.models import Segment
from kundeflyt.common.errors import NotAllowed
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import Customer, FieldDefinition
from kundeflyt.crm.services import customer_create
from kundeflyt.handling.models import Placement, SavedSelection
from kundeflyt.handling.services import (
    customer_present_next,
    customer_select,
    customers_give_out,
)
from tests.factories import CampaignFactory, UserFactory
from tests.world import SETUP, World


@pytest.fixture
def crowd(world: World) -> dict[str, Any]:
    """Six customers of the CRM: three in no campaign, two in another campaign (one of them
    sold), one blocked."""
    other = CampaignFactory(crm=world.crm, name="Sommer")
    loose = [
        customer_create(
            SETUP, crm=world.crm, customer_id=f"L{n}", name=f"Løs {n}", fields={"employees": 10 * n}
        )
        for n in range(1, 4)
    ]
    elsewhere = world.customer("E1", campaign=other, fields={"employees": 80})
    sold = world.customer("E2", campaign=other, fields={"employees": 90})
    Placement.objects.filter(pk=sold.pk).update(
        state=other.flow.states.get(key="sold"), is_final=True
    )
    blocked = customer_create(SETUP, crm=world.crm, customer_id="B1", fields={"employees": 50})
    Customer.objects.filter(pk=blocked.pk).update(is_blocked=True)
    return {
        "other": other,
        "loose": loose,
        "elsewhere": elsewhere,
        "sold": sold,
        "blocked": blocked,
    }


def test_give_out_places_the_loose_moves_the_placed_and_refuses_the_blocked(
    world: World, crowd: dict[str, Any]
) -> None:
    ids = [c.pk for c in [*crowd["loose"], crowd["elsewhere"], crowd["sold"], crowd["blocked"]]]

    result = customers_give_out(
        world.supervisor, customer_ids=ids, campaign=world.campaign, segment=world.hot
    )

    assert (result.placed, result.moved) == (3, 2)
    assert [pk for pk, _reason in result.refused] == [crowd["blocked"].pk]
    entry = world.campaign.flow.entry_state()
    for customer in [*crowd["loose"], crowd["elsewhere"], crowd["sold"]]:
        placement = Placement.objects.get(pk=customer.pk)
        assert (placement.campaign, placement.segment, placement.state) == (
            world.campaign,
            world.hot,
            entry,
        )
        assert not placement.is_final  # D10: a final customer moved becomes available
    assert not Placement.objects.filter(pk=crowd["blocked"].pk).exists()
    assert AuditEntry.objects.filter(action="placement.create_batch").count() == 1
    assert AuditEntry.objects.filter(action="customer.move").count() == 2
    # An agent is presented them at once (rule 3).
    assert customer_present_next(world.agent, campaign=world.campaign) is not None


def test_a_customer_someone_has_open_is_refused_and_stays(
    world: World, crowd: dict[str, Any]
) -> None:
    held = crowd["elsewhere"]
    crowd["other"].users.add(world.agent)
    customer_select(world.agent, customer_id=held.pk)

    result = customers_give_out(world.supervisor, customer_ids=[held.pk], campaign=world.campaign)

    assert result.refused and "has this customer open" in result.refused[0][1]
    assert Placement.objects.get(pk=held.pk).campaign == crowd["other"]


def test_giving_out_needs_setup_or_extended_handling(world: World, crowd: dict[str, Any]) -> None:
    with pytest.raises(NotAllowed):
        customers_give_out(
            world.agent, customer_ids=[crowd["loose"][0].pk], campaign=world.campaign
        )


def test_customers_of_another_data_owner_are_refused(world: World, crowd: dict[str, Any]) -> None:
    stranger = CampaignFactory()
    foreign = customer_create(SETUP, crm=stranger.crm, customer_id="F1")
    result = customers_give_out(
        world.supervisor, customer_ids=[foreign.pk], campaign=world.campaign
    )
    assert [pk for pk, _reason in result.refused] == [foreign.pk]
    assert not Placement.objects.filter(pk=foreign.pk).exists()


def test_the_page_selects_counts_saves_and_gives_out(
    client: Client, world: World, crowd: dict[str, Any]
) -> None:
    client.force_login(world.supervisor)
    url = reverse("handling:crm_customers", args=[world.crm.pk])
    query = {"campaign": "none", "field": "employees", "op": "range", "low": "20"}

    page = client.get(url, query).content.decode()
    assert "Løs 2" in page and "Løs 3" in page and "Løs 1" not in page
    count = client.get(reverse("handling:crm_customers_count", args=[world.crm.pk]), query)
    assert "3 customers" in count.content.decode()  # the blocked one matches too

    client.post(
        reverse("handling:crm_selection_save", args=[world.crm.pk]), query | {"name": "Store løse"}
    )
    saved = SavedSelection.objects.get(user=world.supervisor, name="Store løse")
    assert "campaign=none" in saved.query and "low=20" in saved.query

    give_out = reverse("handling:crm_give_out", args=[world.crm.pk])
    confirm = client.get(give_out, query).content.decode()
    assert "3 customers are selected." in confirm
    assert "1 is on the block list and will be refused." in confirm
    done = client.post(
        give_out,
        query | {"confirm": "yes", "to_campaign": world.campaign.pk, "to_segment": world.cold.pk},
    ).content.decode()
    assert "2 placed, 0 moved" in done and "1 refused" in done
    assert {p.pk for p in Placement.objects.filter(segment=world.cold)} == {
        crowd["loose"][1].pk,
        crowd["loose"][2].pk,
    }


def test_the_page_needs_setup_or_extended_handling_and_hides_other_data_owners(
    client: Client, world: World, crowd: dict[str, Any]
) -> None:
    client.force_login(world.agent)
    assert client.get(reverse("handling:crm_customers", args=[world.crm.pk])).status_code == 403
    outsider = UserFactory(perms=[Perm.CUSTOMER_HANDLING, Perm.EXTENDED_CUSTOMER_HANDLING])
    client.force_login(outsider)
    assert client.get(reverse("handling:crm_customers", args=[world.crm.pk])).status_code == 404


# --- A customer by hand -----------------------------------------------------------------------


def new_customer(client: Client, world: World, **form: Any) -> Any:
    return client.post(
        reverse("handling:customer_new", args=[world.campaign.pk]),
        {"customer_id": "N1", "name": "Ny Kunde", "phone1": "41234567", "employees": "12"} | form,
    )


def test_save_and_take_puts_the_new_customer_on_the_screen(client: Client, world: World) -> None:
    client.force_login(world.agent)
    response = new_customer(client, world, then="take")
    assert response["Location"] == reverse("handling:screen")
    customer = Customer.objects.get(customer_id="N1")
    placement = Placement.objects.get(pk=customer.pk)
    assert placement.campaign == world.campaign and placement.holder == world.agent
    assert customer.phone1 == "+4741234567" and customer.fields["employees"] == 12
    assert customer.source == "manual"


def test_save_and_details_and_save_and_add_another(client: Client, world: World) -> None:
    client.force_login(world.agent)
    first = new_customer(client, world, then="details")
    customer = Customer.objects.get(customer_id="N1")
    assert first["Location"] == reverse("handling:customer_details", args=[customer.pk])
    second = new_customer(client, world, customer_id="N2", then="another")
    assert second["Location"] == reverse("handling:customer_new", args=[world.campaign.pk])
    assert Placement.objects.get(customer__customer_id="N2").holder is None


def test_a_bad_new_customer_is_refused_naming_the_field_and_nothing_is_made(
    client: Client, world: World
) -> None:
    client.force_login(world.agent)
    world.customer("N1")
    response = new_customer(client, world, then="take")  # the id is taken
    assert response.status_code == 400
    assert "customer id" in response.content.decode()
    response = new_customer(client, world, customer_id="N9", employees="mange")
    assert response.status_code == 400 and "not a number" in response.content.decode()
    assert not Customer.objects.filter(customer_id="N9").exists()


def test_a_segment_rule_takes_a_new_customer(client: Client, world: World) -> None:
    FieldDefinition.objects.filter(crm=world.crm, key="employees").exists()
    big = Segment.objects.create(
        campaign=world.campaign,
        name="Store",
        priority=0,
        rule_field="employees",
        rule_op="range",
        rule_low="10",
    )
    client.force_login(world.agent)
    new_customer(client, world, then="details")
    assert Placement.objects.get(customer__customer_id="N1").segment == big
    assert timezone.now() - Customer.objects.get(customer_id="N1").created_at < dt.timedelta(
        minutes=1
    )
