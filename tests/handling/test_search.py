"""Finding customers (D1, issue 4): phone in any format, id, name, e-mail; only visible ones."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kundeflyt.handling.selectors import customers_matching
from tests.factories import CampaignFactory, UserFactory
from tests.world import SETUP, World


@pytest.mark.parametrize("typed", ["+47 912 34 567", "91234567", "0047 91234567", "912 34 567"])
def test_a_phone_number_is_found_however_it_is_typed(world: World, typed: str) -> None:
    customer = world.customer("K-1", phone2="91234567")
    world.customer("K-2", phone1="98765432")
    assert list(customers_matching(world.agent, typed)) == [customer]


def test_customer_id_name_and_email_match(world: World) -> None:
    customer = world.customer("K-77", email="post@fjordkraft.no")
    assert list(customers_matching(world.agent, "k-77")) == [customer]
    assert list(customers_matching(world.agent, "unde K-7")) == [customer]
    assert list(customers_matching(world.agent, "POST@fjordkraft.no")) == [customer]


def test_customers_of_campaigns_the_user_may_not_see_are_not_found(world: World) -> None:
    from kundeflyt.handling.services import customer_add

    hidden_campaign = CampaignFactory(crm=world.crm, visible_to_all=False)
    hidden = customer_add(SETUP, customer_id="H-1", name="Skjult", campaign=hidden_campaign)
    assert list(customers_matching(world.agent, "Skjult")) == []
    hidden_campaign.users.add(world.agent)
    assert list(customers_matching(world.agent, "Skjult")) == [hidden]
    assert list(customers_matching(UserFactory(), "Skjult")) == []


def test_the_search_page_lists_matches_with_a_take_button(client: Client, world: World) -> None:
    world.customer("K-1", phone1="91234567")
    client.force_login(world.agent)
    page = client.get(reverse("handling:search"), {"q": "912 34 567"}).content.decode()
    assert "Kunde K-1" in page and "Take customer" in page


def test_partial_matches_are_ranked_best_first(world: World) -> None:
    contains = world.customer("K-3")
    contains.name = "Nordre Hansen Bygg"
    contains.save()
    starts = world.customer("K-2")
    starts.name = "Hansen Elektro"
    starts.save()
    exact = world.customer("hansen")
    assert list(customers_matching(world.agent, "hansen")) == [exact, starts, contains]


def test_campaign_and_data_owner_names_match(world: World) -> None:
    customer = world.customer("K-1")
    assert list(customers_matching(world.agent, "Strøm bedr")) == [customer]
    assert list(customers_matching(world.agent, world.crm.data_owner.name)) == [customer]
