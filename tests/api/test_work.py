"""Working a customer through the API under the screen's rules: take, renew, register with
the token (once, whatever the retries), let go."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kundeflyt.handling.models import Event, Placement
from tests.api.conftest import Api, Tenants, at_once, token_for
from tests.world import World

pytestmark = pytest.mark.django_db


class Agent(Api):
    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(
            f"/api/v1{path}",
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers=self.headers | headers,
        )


@pytest.fixture
def agent(client: Client, tenants: Tenants) -> Agent:
    return Agent(client, token_for(tenants.world.agent))


def outcome(world: World, key: str) -> int:
    return world.outcome(key).pk


def test_take_register_and_the_customer_is_let_go(agent: Agent, tenants: Tenants) -> None:
    world = tenants.world
    customer = world.customer(1)

    taken = agent.post(f"/customers/{customer.pk}/take")
    renewed = agent.post(f"/customers/{customer.pk}/renew", {"token": taken.json()["token"]})
    soon = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0)
    saved = agent.post(
        f"/customers/{customer.pk}/registrations",
        {
            "token": taken.json()["token"],
            "outcome": outcome(world, "call_back"),
            "comment": "Ring i morgen",
            "follow_up_at": soon.isoformat(),
            "follow_up_user": world.agent.pk,
        },
    )

    assert taken.status_code == renewed.status_code == 200, taken.content
    assert saved.status_code == 201, saved.content
    body = saved.json()
    assert body["outcome_key"] == "call_back" and body["comment"] == "Ring i morgen"
    assert body["user"] == world.agent.pk
    placement = Placement.objects.get(pk=customer.pk)
    assert placement.holder_id is None and placement.follow_up_at == soon
    assert placement.follow_up_user_id == world.agent.pk


def test_someone_elses_customer_and_a_lost_token_are_refused_and_change_nothing(
    agent: Agent, client: Client, tenants: Tenants
) -> None:
    world = tenants.world
    customer = world.customer(1)
    other = Agent(Client(), token_for(world.agent2, name="kollega"))
    first = agent.post(f"/customers/{customer.pk}/take").json()

    held = other.post(f"/customers/{customer.pk}/take")
    taken_over = agent.post(f"/customers/{customer.pk}/release")
    stale = other.post(
        f"/customers/{customer.pk}/registrations",
        {"token": first["token"], "outcome": outcome(world, "no_answer")},
    )

    assert held.status_code == 409 and "Kari Nordmann" in held.json()["detail"]
    assert taken_over.status_code == 204
    assert stale.status_code == 409
    assert not Event.objects.exists()


def test_a_retried_registration_is_made_once(agent: Agent, tenants: Tenants) -> None:
    world = tenants.world
    customer = world.customer(1)
    token = agent.post(f"/customers/{customer.pk}/take").json()["token"]
    body = {"token": token, "outcome": outcome(world, "no_answer"), "keep": True}

    first = agent.post(f"/customers/{customer.pk}/registrations", body, **{"Idempotency-Key": "r1"})
    again = agent.post(f"/customers/{customer.pk}/registrations", body, **{"Idempotency-Key": "r1"})
    other = agent.post(f"/customers/{customer.pk}/registrations", body, **{"Idempotency-Key": "r2"})

    assert first.status_code == again.status_code == other.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert other.json()["id"] != first.json()["id"]  # a new key is a new registration
    assert Event.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"outcome": 2**62}, 400, "outcome"),
        ({"comment": "x" * 5001}, 422, "comment"),
        ({"follow_up_at": "2001-01-01T10:00:00"}, 400, "follow_up_at"),
        ({"follow_up_at": "0001-01-01T00:00:00+14:00"}, 422, "follow_up_at"),
        ({"products": [{"product": 1}]}, 400, "products"),
        ({"follow_up_user": 2**62}, 400, "follow_up_user"),
        ({"token": -1}, 422, "token"),
    ],
)
def test_bad_registrations_are_refused_naming_the_field(
    agent: Agent, tenants: Tenants, change: dict[str, Any], status: int, field: str
) -> None:
    world = tenants.world
    customer = world.customer(1)
    token = agent.post(f"/customers/{customer.pk}/take").json()["token"]
    body = {"token": token, "outcome": outcome(world, "no_answer")} | change

    answer = agent.post(f"/customers/{customer.pk}/registrations", body)

    assert answer.status_code == status, answer.content
    assert answer.json()["field"] == field
    assert not Event.objects.exists()
    assert Placement.objects.get(pk=customer.pk).holder_id == world.agent.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_retries_of_one_registration_make_one_event(tenants: Tenants) -> None:
    world = tenants.world
    customer = world.customer(1)
    token = token_for(world.agent)
    lease = Agent(Client(), token).post(f"/customers/{customer.pk}/take").json()["token"]
    body = {"token": lease, "outcome": outcome(world, "no_answer"), "keep": True}
    path = f"/customers/{customer.pk}/registrations"

    def retry() -> Any:
        return Agent(Client(), token).post(path, body, **{"Idempotency-Key": "race"})

    answers = at_once(8, retry)

    assert [a.status_code for a in answers] == [201] * 8, [a.content for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert Event.objects.filter(customer=customer).count() == 1
    assert Placement.objects.get(pk=customer.pk).attempts == 1
