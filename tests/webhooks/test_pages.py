"""The webhook pages: make a webhook and see its secret once, read its delivery log, send a
message again, turn it on again and remove it; and nothing of another data owner's."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from kundeflyt.accounts.permissions import Perm
from kundeflyt.webhooks.models import Delivery, EventType, Subscription
from kundeflyt.webhooks.services import webhook_emit
from tests.api.conftest import Tenants, grant
from tests.webhooks.conftest import Receiver
from tests.world import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def maker(client: Client, world: World) -> Client:
    client.force_login(grant(world.supervisor, Perm.API_ACCESS, Perm.CAMPAIGN_SETUP))
    return client


def test_make_a_webhook_see_its_log_send_again_turn_it_on_and_remove_it(
    maker: Client, world: World, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    assert "Manage webhooks" in maker.get(reverse("accounts:account")).content.decode()

    made = maker.post(
        reverse("webhooks:subscription_new"),
        {
            "data_owner": world.crm.data_owner_id,
            "url": receiver.url,
            "description": "Kundens CRM",
            "events": ["customer.created", "registration.created"],
        },
    )

    subscription = Subscription.objects.get()
    page = made.content.decode()
    assert made.status_code == 200 and subscription.secret in page
    assert subscription.events == ["customer.created", "registration.created"]
    listing = maker.get(reverse("webhooks:subscriptions")).content.decode()
    assert receiver.url in listing and subscription.secret not in listing

    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        webhook_emit(world.crm.pk, (EventType.CUSTOMER_CREATED, {"customer": 1}))
    log = maker.get(reverse("webhooks:deliveries", args=[subscription.pk])).content.decode()
    assert "Waiting to be sent" in log and "500" in log

    delivery = Delivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        again = maker.post(reverse("webhooks:redeliver", args=[delivery.pk]), follow=True)
    assert "sent again" in again.content.decode()
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED and len(receiver.got) == 2

    Subscription.objects.update(is_active=False, disabled_reason="Ingen svar på et døgn")
    off = maker.get(reverse("webhooks:deliveries", args=[subscription.pk])).content.decode()
    assert "Ingen svar på et døgn" in off
    maker.post(reverse("webhooks:enable", args=[subscription.pk]))
    assert Subscription.objects.get().is_active

    removed = maker.post(reverse("webhooks:delete", args=[subscription.pk]), follow=True)
    assert "is removed" in removed.content.decode() and not Subscription.objects.exists()


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"url": "http://10.1.2.3/x"}, "public addresses only"),
        ({"url": "ikke en adresse"}, "http:// or https://"),
        ({"events": []}, "at least one event"),
        ({"events": ["customer.exploded"]}, "is not an event"),
        ({"data_owner": "99999999999999999999"}, "No such data owner"),
        ({"data_owner": "\x00"}, "No such data owner"),
        ({"url": "https://x.example/" + "a" * 600}, "too long"),
    ],
)
def test_a_refused_webhook_says_why_and_makes_nothing(
    maker: Client, world: World, settings: Any, form: dict[str, Any], reason: str
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = "url" not in form  # no name lookup but the URL's
    sent = {
        "data_owner": world.crm.data_owner_id,
        "url": "https://crm.example.no/hook",
        "events": ["customer.created"],
    } | form

    answer = maker.post(reverse("webhooks:subscription_new"), sent, follow=True)

    assert reason in answer.content.decode()
    assert not Subscription.objects.exists()


def test_nothing_of_another_data_owner_and_nothing_without_the_permissions(
    client: Client, tenants: Tenants, subscription: Subscription
) -> None:
    stranger = grant(tenants.other_user, Perm.API_ACCESS, Perm.CAMPAIGN_SETUP)
    client.force_login(stranger)
    listing = client.get(reverse("webhooks:subscriptions")).content.decode()
    assert subscription.url not in listing
    for route in ("webhooks:enable", "webhooks:delete"):
        answer = client.post(reverse(route, args=[subscription.pk]), follow=True)
        assert "No such webhook subscription" in answer.content.decode()
    owned = client.post(
        reverse("webhooks:subscription_new"),
        {
            "data_owner": tenants.world.crm.data_owner_id,
            "url": "https://x.example/",
            "events": ["customer.created"],
        },
        follow=True,
    )
    assert "No such data owner" in owned.content.decode()
    assert Subscription.objects.count() == 1

    client.force_login(tenants.world.agent)
    refused = client.get(reverse("webhooks:subscriptions"), follow=True)
    assert "You do not have the permission" in refused.content.decode()
