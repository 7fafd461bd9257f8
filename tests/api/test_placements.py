"""Placing and moving customers through the API (rule 4), from the status version read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from kundeflyt.accounts.permissions import Perm
from kundeflyt.crm.services import customer_create
from kundeflyt.handling.models import Placement
from kundeflyt.handling.services import customer_select
from tests.api.conftest import Api, Tenants, grant, token_for
from tests.factories import CampaignFactory
from tests.world import SETUP

pytestmark = pytest.mark.django_db


class Mover(Api):
    def move(self, customer_id: int, body: dict[str, Any], etag: str | None = None) -> Any:
        headers = self.headers | ({"If-Match": etag} if etag else {})
        return self.client.post(
            f"/api/v1/customers/{customer_id}/move",
            json.dumps(body),
            content_type="application/json",
            headers=headers,
        )


@pytest.fixture
def mover(client: Client, tenants: Tenants) -> Mover:
    return Mover(client, token_for(tenants.world.supervisor))


def test_a_move_within_the_campaign_needs_the_status_read_and_a_stale_one_changes_nothing(
    mover: Mover, tenants: Tenants
) -> None:
    world = tenants.world
    customer = world.customer(1, segment=world.hot)
    read = mover.get(f"/customers/{customer.pk}/status")
    etag = read["ETag"]

    missing = mover.move(customer.pk, {"segment": world.cold.pk})
    moved = mover.move(customer.pk, {"segment": world.cold.pk}, etag)
    stale = mover.move(customer.pk, {"segment": world.hot.pk}, etag)

    assert read.json()["segment"] == world.hot.pk
    assert missing.status_code == 428
    assert moved.status_code == 200 and moved.json()["segment"] == world.cold.pk
    assert moved["ETag"] != etag
    assert stale.status_code == 412
    assert Placement.objects.get(pk=customer.pk).segment == world.cold


def test_to_another_campaign_the_customer_starts_again_there(
    mover: Mover, tenants: Tenants
) -> None:
    world = tenants.world
    other = CampaignFactory(crm=world.crm, name="Vinterkampanje")
    customer = world.customer(1)
    etag = mover.get(f"/customers/{customer.pk}/status")["ETag"]

    moved = mover.move(customer.pk, {"campaign": other.pk}, etag)

    assert moved.status_code == 200, moved.content
    assert moved.json()["campaign"] == other.pk
    assert moved.json()["state_key"] == "available" and moved.json()["follow_up_at"] is None


def test_a_customer_in_no_campaign_is_placed(mover: Mover, tenants: Tenants) -> None:
    world = tenants.world
    customer = customer_create(SETUP, crm=world.crm, customer_id="løs", name="Uten kampanje")

    no_status = mover.get(f"/customers/{customer.pk}/status")
    no_campaign = mover.move(customer.pk, {"segment": world.hot.pk})
    placed = mover.move(customer.pk, {"campaign": world.campaign.pk, "segment": world.hot.pk})

    assert no_status.status_code == 404
    assert no_campaign.status_code == 400 and no_campaign.json()["field"] == "campaign"
    assert placed.status_code == 200, placed.content
    assert placed.json()["segment"] == world.hot.pk and placed["ETag"]


def test_a_held_customer_an_agent_and_another_data_owner_are_refused(
    mover: Mover, client: Client, tenants: Tenants
) -> None:
    world = tenants.world
    customer = world.customer(1)
    customer_select(world.agent, customer_id=customer.pk)
    etag = mover.get(f"/customers/{customer.pk}/status")["ETag"]
    agent = Mover(client, token_for(world.agent2))
    outsider = Mover(client, token_for(grant(tenants.other_user, Perm.EXTENDED_CUSTOMER_HANDLING)))

    held = mover.move(customer.pk, {"segment": world.cold.pk}, etag)
    not_allowed = agent.move(customer.pk, {"segment": world.cold.pk}, etag)
    hidden = outsider.move(customer.pk, {"segment": world.cold.pk}, etag)

    assert held.status_code == 409
    assert not_allowed.status_code == 403
    assert hidden.status_code == 404
    assert Placement.objects.get(pk=customer.pk).segment_id is None


def put_follow_up(api: Api, customer_id: int, body: dict[str, Any], etag: str | None) -> Any:
    headers = api.headers | ({"If-Match": etag} if etag else {})
    return api.client.put(
        f"/api/v1/customers/{customer_id}/follow-up",
        json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


def test_follow_ups_are_listed_and_changed_from_the_status_read(
    mover: Mover, client: Client, tenants: Tenants
) -> None:
    import datetime as dt

    from django.utils import timezone

    world = tenants.world
    customers = [world.customer(n) for n in range(3)]
    soon = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0)
    etag = mover.get(f"/customers/{customers[0].pk}/status")["ETag"]

    set_one = put_follow_up(
        mover, customers[0].pk, {"at": soon.isoformat(), "user": world.agent.pk}, etag
    )
    stale = put_follow_up(mover, customers[0].pk, {"at": None}, etag)
    other_etag = mover.get(f"/customers/{customers[1].pk}/status")["ETag"]
    past = put_follow_up(mover, customers[1].pk, {"at": "2020-01-01T10:00:00"}, other_etag)
    listed = mover.get("/follow-ups", campaign=world.campaign.pk).json()["items"]
    agents = Api(client, token_for(world.agent)).get("/follow-ups").json()["items"]
    others = Api(client, token_for(world.agent2)).get("/follow-ups").json()["items"]
    due_now = mover.get("/follow-ups", due="true").json()["items"]

    assert set_one.status_code == 200, set_one.content
    assert set_one.json()["follow_up_user"] == world.agent.pk
    assert stale.status_code == 412
    assert past.status_code == 400 and past.json()["field"] == "follow_up_at"
    assert [f["customer"] for f in listed] == [customers[0].pk]
    assert [f["customer"] for f in agents] == [customers[0].pk]
    assert others == [] and due_now == []
    cleared = put_follow_up(mover, customers[0].pk, {"at": None}, set_one["ETag"])
    assert cleared.status_code == 200 and cleared.json()["follow_up_at"] is None
    assert Placement.objects.get(pk=customers[0].pk).follow_up_user_id is None


def test_a_sync_of_follow_ups_gets_those_changed_since_its_last_run(
    mover: Mover, tenants: Tenants
) -> None:
    import datetime as dt

    from django.utils import timezone

    world = tenants.world
    first, second = world.customer(0), world.customer(1)
    soon = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0)
    for customer in (first, second):
        etag = mover.get(f"/customers/{customer.pk}/status")["ETag"]
        assert put_follow_up(mover, customer.pk, {"at": soon.isoformat()}, etag).status_code == 200
    Placement.objects.filter(pk=first.pk).update(changed_at=timezone.now() - dt.timedelta(days=2))
    last_run = (timezone.now() - dt.timedelta(days=1)).isoformat()

    changed = mover.get("/follow-ups", changed_since=last_run).json()["items"]
    etag = mover.get(f"/customers/{first.pk}/status")["ETag"]
    later = (soon + dt.timedelta(hours=2)).isoformat()
    assert put_follow_up(mover, first.pk, {"at": later}, etag).status_code == 200
    both = mover.get("/follow-ups", changed_since=last_run).json()["items"]
    bad = mover.get("/follow-ups", changed_since="i morgen")

    assert [f["customer"] for f in changed] == [second.pk]
    assert [f["customer"] for f in both] == [first.pk, second.pk]
    assert bad.status_code == 422 and bad.json()["field"] == "changed_since"
