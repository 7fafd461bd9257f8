"""The one filter set of customer lists (item 18 of issue 8): campaign, segment, state,
follow-up, responsible, reach and any CRM information field, always among what the user sees;
input it cannot read is named and changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kundeflyt.common.errors import DomainError
from kundeflyt.crm.models import FieldDefinition
from kundeflyt.handling.models import Placement
from kundeflyt.handling.selectors import PlacementFilter, placements_filtered
from kundeflyt.handling.selectors.lists import UNSEGMENTED
from tests.factories import CampaignFactory
from tests.world import World


@pytest.fixture
def listed(world: World) -> dict[str, int]:
    FieldDefinition.objects.create(crm=world.crm, key="founded", label="Stiftet", type="date")
    FieldDefinition.objects.create(crm=world.crm, key="vip", label="VIP", type="checkbox")
    made = {
        "bygg": world.customer(
            1,
            segment=world.hot,
            fields={"industry": "Bygg", "employees": 12, "founded": "2001-05-17", "vip": True},
        ),
        "handel": world.customer(
            2,
            segment=world.cold,
            fields={"industry": "Handel", "employees": 250, "founded": "1999-01-02"},
        ),
        "tom": world.customer(3, fields={"employees": 3}),
    }
    Placement.objects.filter(pk=made["handel"].pk).update(
        follow_up_at=timezone.now() - dt.timedelta(hours=1), follow_up_user=world.agent
    )
    return {name: customer.pk for name, customer in made.items()}


def found(world: World, **query: Any) -> set[int]:
    filters = PlacementFilter.from_query(
        {"campaign": str(world.campaign.pk), **query}, list(world.crm.fields.all())
    )
    return set(placements_filtered(world.agent, filters).values_list("pk", flat=True))


def test_the_placement_filters(world: World, listed: dict[str, int]) -> None:
    bygg, handel, tom = listed["bygg"], listed["handel"], listed["tom"]
    assert found(world) == {bygg, handel, tom}
    assert found(world, segment=str(world.hot.pk)) == {bygg}
    assert found(world, segment=UNSEGMENTED) == {tom}
    assert found(world, follow_up="due") == {handel}
    assert found(world, follow_up="none") == {bygg, tom}
    assert found(world, responsible=str(world.agent.pk)) == {handel}
    assert found(world, q="Kunde 2") == {handel}


def test_the_information_field_filters(world: World, listed: dict[str, int]) -> None:
    bygg, handel, tom = listed["bygg"], listed["handel"], listed["tom"]
    assert found(world, field="industry", op="contains", value="ygg") == {bygg}
    assert found(world, field="industry", op="equals", value="Handel") == {handel}
    assert found(world, field="employees", op="range", low="10", high="100") == {bygg}
    assert found(world, field="employees", op="range", low="12") == {bygg, handel}
    assert found(world, field="employees", op="contains", value="250") == {handel}
    assert found(world, field="founded", op="range", low="01.01.2000") == {bygg}
    assert found(world, field="founded", op="range", high="2000-12-31") == {handel}
    assert found(world, field="vip", op="equals", value="ja") == {bygg}
    assert found(world, field="industry", op="empty") == {tom}
    assert found(world, field="founded", op="empty") == {tom}


def test_filters_never_reach_beyond_what_the_user_sees(world: World) -> None:
    hidden = CampaignFactory(crm=world.crm, visible_to_all=False)
    secret = world.customer(9, campaign=hidden)
    everything = placements_filtered(world.agent, PlacementFilter())
    assert secret.pk not in set(everything.values_list("pk", flat=True))
    assert not placements_filtered(world.agent, PlacementFilter(campaign=hidden.pk)).exists()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"segment": "x"}, "segment"),
        ({"state": "-1"}, "state"),
        ({"follow_up": "soon"}, "follow_up"),
        ({"reach": "everyone"}, "reach"),
        ({"field": "nope"}, "field"),
        ({"field": "industry", "op": "range", "low": "1"}, "op"),
        ({"field": "employees", "op": "range", "low": "1e999999"}, "low"),
        ({"field": "employees", "op": "range"}, "low"),
        ({"field": "founded", "op": "range", "high": "31.02.2020"}, "high"),
        ({"field": "industry", "op": "contains", "value": ""}, "value"),
        ({"field": "industry", "op": "contains", "value": "x" * 201}, "value"),
        ({"q": "y" * 201}, "q"),
    ],
)
def test_unreadable_filters_are_refused_naming_the_parameter(
    world: World, listed: dict[str, int], query: dict[str, str], field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        PlacementFilter.from_query(query, list(world.crm.fields.all()))
    assert refused.value.field == field


def test_the_campaign_list_shows_a_refused_filter_and_the_unfiltered_list(
    client: Client, world: World, listed: dict[str, int]
) -> None:
    client.force_login(world.agent)
    url = reverse("handling:campaign_customers", args=[world.campaign.pk])

    page = client.get(url, {"field": "employees", "op": "range", "low": "mange"})

    html = page.content.decode()
    assert page.status_code == 200
    assert "The filter was not used: “mange” is not a number." in html
    assert "Kunde 1" in html and "Kunde 2" in html
    html = client.get(url, {"field": "industry", "op": "equals", "value": "Bygg"}).content.decode()
    assert "Kunde 1" in html and "Kunde 2" not in html


QUERY_KEYS = [
    *("segment", "state", "follow_up", "responsible", "reach", "q", "page"),
    *("field", "op", "value", "low", "high"),
]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    query=st.dictionaries(
        st.sampled_from(QUERY_KEYS),
        st.one_of(
            st.text(max_size=30),
            st.sampled_from(["industry", "employees", "founded", "range", "empty", "none"]),
            st.integers(-(10**20), 10**20).map(str),
        ),
    )
)
def test_no_filter_input_fails_the_list(
    client: Client, world: World, query: dict[str, str]
) -> None:
    """Whatever arrives in the query string (NUL bytes, huge numbers, unknown keys), the list
    answers with a page, never a server error."""
    client.force_login(world.agent)
    response = client.get(reverse("handling:campaign_customers", args=[world.campaign.pk]), query)
    assert response.status_code == 200
