"""Pulling registrations through the API: a day's registrations a page at a time, what they
made, corrections as a sync sees them, and only what the token's user may count."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kundeflyt.accounts.permissions import Perm
from kundeflyt.api.routes import registrations
from kundeflyt.campaigns.models import ExtraField
from kundeflyt.handling.models import Event
from kundeflyt.handling.services import (
    AfterSave,
    correction_start,
    customer_select,
    outcome_register,
)
from tests.api.conftest import Api, Tenants, grant, token_for
from tests.world import World

pytestmark = pytest.mark.django_db


def register(world: World, customer_id: int, key: str, *, user: Any = None, **kw: Any) -> Event:
    user = user or world.agent
    selection = customer_select(user, customer_id=customer_id)
    return outcome_register(
        user,
        customer_id=customer_id,
        token=selection.token,
        outcome_id=world.outcome(key).pk,
        then=AfterSave.MY_WORK,
        **kw,
    )


@pytest.fixture
def reporter(client: Client, tenants: Tenants) -> Api:
    user = grant(tenants.world.supervisor, Perm.INDIVIDUAL_RESULTS)
    return Api(client, token_for(user))


def all_pages(api: Api, **params: Any) -> list[dict[str, Any]]:
    page = api.get("/registrations", **params).json()
    items = list(page["items"])
    while page["next"]:
        page = api.client.get(page["next"], headers=api.headers).json()
        items += page["items"]
    return items


def test_a_day_of_registrations_comes_a_page_at_a_time_with_who_and_what(
    reporter: Api, tenants: Tenants
) -> None:
    world = tenants.world
    events = [
        register(world, world.customer(n).pk, "no_answer", comment=f"Forsøk {n}") for n in range(7)
    ]
    today = timezone.localdate().isoformat()

    first = reporter.get("/registrations", limit=3, **{"from": today, "to": today}).json()
    items = all_pages(reporter, limit=3, **{"from": today, "to": today})

    assert len(first["items"]) == 3 and first["next"]
    assert [i["id"] for i in items] == [e.pk for e in events]
    one = items[0]
    assert one["customer_id"] == "0" and one["comment"] == "Forsøk 0"
    assert one["outcome_key"] == "no_answer" and one["user"] == world.agent.pk
    assert one["counts_in_reports"] and one["corrected_by"] is None
    assert one["products"] == [] and one["meeting"] is None
    # Another day has none of them.
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    assert reporter.get("/registrations", **{"from": yesterday, "to": yesterday}).json() == {
        "items": [],
        "next": None,
    }


def test_a_sync_since_its_last_run_gets_new_and_corrected_registrations(
    reporter: Api, tenants: Tenants
) -> None:
    world = tenants.world
    customer = world.customer(1)
    old = register(world, customer.pk, "refused", comment="Feil knapp")
    Event.objects.filter(pk=old.pk).update(registered_at=timezone.now() - dt.timedelta(days=2))
    untouched = register(world, world.customer(2).pk, "no_answer")
    Event.objects.filter(pk=untouched.pk).update(
        registered_at=timezone.now() - dt.timedelta(days=2)
    )
    last_run = timezone.now() - dt.timedelta(days=1)
    selection = correction_start(world.supervisor, event_id=old.pk, as_original=False)
    correction = outcome_register(
        world.supervisor,
        customer_id=customer.pk,
        token=selection.token,
        outcome_id=world.outcome("no_answer").pk,
        then=AfterSave.MY_WORK,
    )

    items = all_pages(reporter, changed_since=last_run.isoformat())

    assert [i["id"] for i in items] == [old.pk, correction.pk]
    assert items[0]["corrected_by"] == correction.pk and not items[0]["counts_in_reports"]
    assert items[1]["corrects"] == old.pk and items[1]["counts_in_reports"]


def test_only_what_the_user_may_count_and_people_only_with_individual_results(
    client: Client, tenants: Tenants
) -> None:
    world = tenants.world
    register(world, world.customer(1).pk, "no_answer")
    other = tenants.other_customer
    other_user = grant(tenants.other_user, Perm.REPORTING, Perm.INDIVIDUAL_RESULTS)
    assert other.pk

    outsider = Api(client, token_for(other_user))
    no_people = Api(client, token_for(world.supervisor, name="uten navn"))
    agent = Api(client, token_for(world.agent2))

    assert outsider.get("/registrations").json()["items"] == []
    assert outsider.get("/registrations", campaign=world.campaign.pk).json()["items"] == []
    item = no_people.get("/registrations").json()["items"][0]
    assert item["user"] is None and item["counts_for_user"] is None
    refused = agent.get("/registrations")
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "params",
    [
        {"from": "0001-01-01", "to": "9999-12-31"},
        {"changed_since": "0001-01-02T00:00:00+14:00"},
        {"changed_since": "9999-12-30T23:59:59-12:00"},
        {"changed_since": "7369-10-27T05:23:31-21:20"},  # an offset PostgreSQL has no room for
        {"changed_since": "2026-11-30T12:00:00"},
        {"from": "2026-12-01", "to": "2026-11-01"},
        {"segment": 0, "outcome": 2**63 - 1, "user": 1},
    ],
)
def test_edge_values_answer_a_page_never_an_error(reporter: Api, params: dict[str, Any]) -> None:
    answer = reporter.get("/registrations", **params)

    assert answer.status_code == 200, answer.content
    assert set(answer.json()) == {"items", "next"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"changed_since": "i går"}, "changed_since"),
        ({"changed_since": "0001-01-01T00:00:00+14:00"}, "changed_since"),  # before year 1 in UTC
        ({"changed_since": "9999-12-31T23:59:59-12:00"}, "changed_since"),  # after 9999 in UTC
        ({"limit": 501}, "limit"),
        ({"campaign": 0}, "campaign"),
        ({"campaign": 2**63}, "campaign"),
    ],
)
def test_bad_input_names_its_field(reporter: Api, params: dict[str, Any], field: str) -> None:
    answer = reporter.get("/registrations", **params)

    assert answer.status_code == 422
    assert answer.json()["field"] == field


def stream(api: Api, **params: Any) -> list[dict[str, Any]]:
    answer = api.get("/registrations/stream", **params)
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"] == "application/x-ndjson"
    return [json.loads(line) for line in b"".join(answer.streaming_content).splitlines()]


def test_the_stream_gives_what_the_pages_give_in_one_answer(
    reporter: Api, tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registrations, "STREAM_CHUNK", 3)  # several chunks for 8 lines
    world = tenants.world
    events = [
        register(world, world.customer(n).pk, "no_answer", comment=f"Forsøk {n}") for n in range(8)
    ]
    today = timezone.localdate().isoformat()
    day = {"from": today, "to": today}

    streamed = stream(reporter, **day)

    assert streamed == all_pages(reporter, limit=3, **day)
    assert [line["id"] for line in streamed] == [e.pk for e in events]
    # Cut off after the fourth line, a sync goes on from there.
    assert stream(reporter, after=events[3].pk) == streamed[4:]
    assert stream(reporter, outcome=world.outcome("refused").pk) == []
    assert all(line["extra"] == {} for line in streamed)
    ExtraField.objects.create(
        campaign=world.campaign,
        applies_to="outcome",
        outcome=world.outcome("refused"),
        key="competitor",
        label="Konkurrent",
        type="text",
    )
    refused = register(
        world, world.customer(9).pk, "refused", comment="Nei", extra={"competitor": "Fjordkraft"}
    )
    assert [line["extra"] for line in stream(reporter, after=refused.pk - 1)] == [
        {"competitor": "Fjordkraft"}
    ]
    assert all_pages(reporter, after=refused.pk - 1)[0]["extra"] == {"competitor": "Fjordkraft"}
    assert (
        stream(reporter, changed_since=(timezone.now() + dt.timedelta(hours=1)).isoformat()) == []
    )


def test_the_stream_lets_through_only_what_the_list_does(client: Client, tenants: Tenants) -> None:
    world = tenants.world
    register(world, world.customer(1).pk, "no_answer")
    outsider = Api(client, token_for(grant(tenants.other_user, Perm.REPORTING)))
    agent = Api(client, token_for(world.agent2))
    no_people = Api(client, token_for(world.supervisor, name="uten navn"))

    assert stream(outsider) == []
    assert [line["user"] for line in stream(no_people)] == [None]
    refused = agent.get("/registrations/stream")
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    bad = no_people.get("/registrations/stream", after=-1)
    assert bad.status_code == 422 and bad.json()["field"] == "after"
    assert Api(client, None).get("/registrations/stream").status_code == 401


def test_a_page_costs_the_same_queries_for_2_registrations_as_for_20(
    reporter: Api, tenants: Tenants
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    world = tenants.world

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert reporter.get("/registrations", limit=500).status_code == 200
        return len(queries)

    for n in range(2):
        register(world, world.customer(n).pk, "no_answer")
    cost()  # the token's first use of the day writes when it was used
    few = cost()
    for n in range(2, 20):
        register(world, world.customer(n).pk, "no_answer")

    assert cost() == few


def test_the_stream_costs_the_same_queries_for_2_registrations_as_for_20(
    reporter: Api, tenants: Tenants
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    world = tenants.world

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            stream(reporter)
        return len(queries)

    for n in range(2):
        register(world, world.customer(n).pk, "no_answer")
    cost()
    few = cost()
    for n in range(2, 20):
        register(world, world.customer(n).pk, "no_answer")

    assert cost() == few
