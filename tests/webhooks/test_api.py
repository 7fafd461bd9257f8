"""Webhook subscriptions through the API: made by a user with API access and campaign
setup for a data owner of theirs, the secret shown once, the delivery log and redelivery."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from kundeflyt.accounts.permissions import Perm
from kundeflyt.webhooks.models import Delivery, EventType
from kundeflyt.webhooks.services import webhook_emit
from tests.api.conftest import Tenants, grant, token_for
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.django_db


class Admin:
    def __init__(self, client: Client, token: str) -> None:
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return getattr(self.client, method)(
            f"/api/v1{path}",
            json.dumps(body) if body is not None else None,
            content_type="application/json",
            headers=self.headers,
        )


@pytest.fixture
def admin(client: Client, tenants: Tenants) -> Admin:
    user = grant(tenants.world.supervisor, Perm.CAMPAIGN_SETUP)
    return Admin(client, token_for(user))


def test_a_subscription_is_made_listed_logged_redelivered_and_removed(
    admin: Admin, tenants: Tenants, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    world = tenants.world
    made = admin.call(
        "post",
        "/webhooks",
        {
            "data_owner": world.crm.data_owner_id,
            "url": receiver.url,
            "events": ["customer.created"],
        },
    )
    assert made.status_code == 201, made.content
    subscription = made.json()
    assert subscription["secret"].startswith("whsec_")
    listed = admin.call("get", "/webhooks").json()
    assert [s["id"] for s in listed] == [subscription["id"]] and "secret" not in listed[0]

    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        webhook_emit(world.crm.pk, (EventType.CUSTOMER_CREATED, {"customer": 1}))
    log = admin.call("get", f"/webhooks/{subscription['id']}/deliveries").json()["items"]
    assert [(d["status"], d["response_status"], d["attempts"]) for d in log] == [
        ("pending", 500, 1)
    ]
    deliveries = f"/webhooks/{subscription['id']}/deliveries?changed_since="
    tried = Delivery.objects.get().last_attempt_at
    assert admin.call("get", deliveries + quote(tried.isoformat())).json()["items"] == log
    later = (tried + dt.timedelta(seconds=1)).isoformat()
    assert admin.call("get", deliveries + quote(later)).json()["items"] == []

    with django_capture_on_commit_callbacks(execute=True):
        again = admin.call("post", f"/webhook-deliveries/{log[0]['id']}/redeliver")
    assert again.status_code == 202
    assert Delivery.objects.get().status == "delivered" and len(receiver.got) == 2

    assert admin.call("delete", f"/webhooks/{subscription['id']}").status_code == 204
    assert admin.call("get", "/webhooks").json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://10.1.2.3/x"}, "url"),
        ({"url": "ikke en adresse"}, "url"),
        ({"events": ["customer.exploded"]}, "events.0"),
        ({"events": []}, "events"),
        ({"data_owner": 2**62}, "data_owner"),
    ],
)
def test_bad_subscriptions_are_refused_naming_the_field(
    admin: Admin, tenants: Tenants, body: dict[str, Any], field: str
) -> None:
    sent = {
        "data_owner": tenants.world.crm.data_owner_id,
        "url": "https://crm.example.no/hook",
        "events": ["customer.created"],
    } | body

    answer = admin.call("post", "/webhooks", sent)

    assert 400 <= answer.status_code < 500 and answer.json()["field"] == field
    assert admin.call("get", "/webhooks").json() == []


def test_another_data_owner_and_an_agent_cannot_subscribe_or_read_logs(
    admin: Admin, client: Client, tenants: Tenants, receiver: Receiver
) -> None:
    world = tenants.world
    made = admin.call(
        "post",
        "/webhooks",
        {
            "data_owner": world.crm.data_owner_id,
            "url": receiver.url,
            "events": ["customer.created"],
        },
    ).json()
    outsider = Admin(client, token_for(grant(tenants.other_user, Perm.CAMPAIGN_SETUP)))
    agent = Admin(client, token_for(world.agent))

    assert outsider.call("get", "/webhooks").json() == []
    assert outsider.call("get", f"/webhooks/{made['id']}/deliveries").status_code == 404
    assert outsider.call("delete", f"/webhooks/{made['id']}").status_code == 404
    own = {
        "data_owner": world.crm.data_owner_id,
        "url": receiver.url,
        "events": ["customer.created"],
    }
    assert outsider.call("post", "/webhooks", own).status_code == 404
    assert agent.call("get", "/webhooks").status_code == 403
    assert admin.call("get", "/webhooks").json()[0]["id"] == made["id"]
