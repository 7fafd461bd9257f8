"""The API obeys the calling hours as the screens do (DESIGN.md rules 9 and 11): a consumer is
not taken outside them, and a follow-up outside them is refused naming the field."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from time_machine import TimeMachineFixture

from kundeflyt.campaigns.calling_hours import OSLO
from kundeflyt.campaigns.models import Campaign
from kundeflyt.crm.models import CRM
from kundeflyt.handling.models import Event, Placement
from tests.api.conftest import Api, Tenants, token_for
from tests.conftest import register_loaded
from tests.factories import CampaignFactory, CRMFactory

pytestmark = pytest.mark.django_db

SATURDAY = dt.datetime(2026, 12, 5, 10, 0, tzinfo=OSLO)
TUESDAY_NOON = dt.datetime(2026, 12, 8, 12, 0, tzinfo=OSLO)


class Caller(Api):
    def send(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        return getattr(self.client, method)(
            f"/api/v1{path}",
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers=self.headers | headers,
        )


@pytest.fixture
def consumers(tenants: Tenants) -> Campaign:
    crm = CRMFactory(data_owner=tenants.world.crm.data_owner, kind=CRM.Kind.B2C, name="Privat")
    register_loaded()  # the register is good: only the hours are tested here
    return CampaignFactory(crm=crm, name="Strøm privat")


def test_taking_a_consumer_on_a_saturday_is_refused_saying_when_the_campaign_opens(
    client: Client, tenants: Tenants, consumers: Campaign, time_machine: TimeMachineFixture
) -> None:
    world = tenants.world
    consumer, business = world.customer(1, campaign=consumers), world.customer(2)
    time_machine.move_to(SATURDAY, tick=False)
    agent = Caller(client, token_for(world.agent))

    refused = agent.send("post", f"/customers/{consumer.pk}/take")
    taken = agent.send("post", f"/customers/{business.pk}/take")

    assert refused.status_code == 400, refused.content
    assert refused.json()["detail"] == (
        "The campaign is closed for calls now. It opens Monday 09:00."
    )
    assert refused.json()["field"] == "campaign"
    assert Placement.objects.get(pk=consumer.pk).holder_id is None
    assert taken.status_code == 200  # a business campaign is not bound


def test_a_consumer_follow_up_outside_the_hours_is_refused_in_a_registration_and_a_change(
    client: Client, tenants: Tenants, consumers: Campaign, time_machine: TimeMachineFixture
) -> None:
    world = tenants.world
    customer = world.customer(1, campaign=consumers)
    time_machine.move_to(TUESDAY_NOON, tick=False)
    agent = Caller(client, token_for(world.agent))
    supervisor = Caller(client, token_for(world.supervisor))
    saturday = dt.datetime(2026, 12, 12, 10, 0, tzinfo=OSLO).isoformat()
    late = dt.datetime(2026, 12, 9, 21, 0, tzinfo=OSLO).isoformat()
    allowed = dt.datetime(2026, 12, 9, 20, 59, tzinfo=OSLO)

    token = agent.send("post", f"/customers/{customer.pk}/take").json()["token"]
    body = {"token": token, "outcome": world.outcome("call_back", consumers).pk}
    registered = agent.send(
        "post", f"/customers/{customer.pk}/registrations", body | {"follow_up_at": saturday}
    )
    assert registered.status_code == 400, registered.content
    assert registered.json()["field"] == "follow_up_at"
    assert "outside the campaign's calling hours" in registered.json()["detail"]
    assert not Event.objects.exists()
    saved = agent.send(
        "post",
        f"/customers/{customer.pk}/registrations",
        body | {"follow_up_at": allowed.isoformat()},
    )
    assert saved.status_code == 201, saved.content

    etag = supervisor.get(f"/customers/{customer.pk}/status")["ETag"]
    moved = supervisor.send(
        "put", f"/customers/{customer.pk}/follow-up", {"at": late}, **{"If-Match": etag}
    )
    assert moved.status_code == 400, moved.content
    assert moved.json()["field"] == "follow_up_at"
    assert Placement.objects.get(pk=customer.pk).follow_up_at == allowed
