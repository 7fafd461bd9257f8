"""Webhooks against a local receiver: signed as Standard Webhooks say, sent only after the
commit, retried on the schedule and given up after it, and never into a private network."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from kundeflyt.common.errors import DomainError
from kundeflyt.handling.services import AfterSave, customer_select, outcome_register
from kundeflyt.webhooks.models import Delivery, EventType, Subscription
from kundeflyt.webhooks.services import (
    RETRY_DELAYS,
    check_target,
    deliveries_due_send,
    delivery_attempt,
    webhook_emit,
)
from tests.webhooks.conftest import Receiver
from tests.world import World

pytestmark = pytest.mark.django_db


def register(world: World, n: int, key: str = "no_answer") -> int:
    customer = world.customer(n)
    selection = customer_select(world.agent, customer_id=customer.pk)
    event = outcome_register(
        world.agent,
        customer_id=customer.pk,
        token=selection.token,
        outcome_id=world.outcome(key).pk,
        then=AfterSave.MY_WORK,
    )
    return event.pk


def test_a_registration_reaches_the_receiver_signed_after_the_commit(
    world: World,
    receiver: Receiver,
    subscription: Subscription,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        event_id = register(world, 1)
        assert receiver.got == [] or all(  # nothing of the registration before the commit
            json.loads(b)["type"] != "registration.created" for b in receiver.bodies()
        )

    messages = [json.loads(b) for b in receiver.bodies()]
    registered = [m for m in messages if m["type"] == "registration.created"]
    assert len(registered) == 1
    assert registered[0]["data"]["registration"] == event_id
    assert registered[0]["data"]["outcome"] == "no_answer"
    assert {m["type"] for m in messages} == {"customer.created", "registration.created"}
    headers, body = receiver.got[-1]
    verified = Webhook(subscription.secret).verify(body, headers)
    assert verified["type"] == "registration.created"
    with pytest.raises(WebhookVerificationError):
        Webhook(subscription.secret).verify(body.replace(b"no_answer", b"sold"), headers)
    assert Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == 2


def test_nothing_is_sent_for_a_rolled_back_change(
    world: World,
    receiver: Receiver,
    subscription: Subscription,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        register(world, 1)
        raise RuntimeError("the change fails after the registration")

    assert receiver.got == []
    assert not Delivery.objects.exists()


def test_a_500_is_tried_again_with_the_same_id_until_it_is_received(
    world: World, receiver: Receiver, subscription: Subscription
) -> None:
    receiver.answers = [500, 503]
    webhook_emit(world.crm.pk, (EventType.CUSTOMER_CREATED, {"customer": 1}))
    delivery = Delivery.objects.get()
    now = timezone.now()

    first = delivery_attempt(delivery.pk, now=now)
    too_early = delivery_attempt(delivery.pk, now=now + dt.timedelta(seconds=1))
    second = delivery_attempt(delivery.pk, now=now + RETRY_DELAYS[0])
    third = delivery_attempt(delivery.pk, now=now + RETRY_DELAYS[0] + RETRY_DELAYS[1])

    assert first and first.response_status == 500 and first.status == "pending"
    assert first.next_attempt_at == now + RETRY_DELAYS[0]
    assert too_early and too_early.attempts == 1
    assert second and second.response_status == 503
    assert third and third.status == "delivered" and third.attempts == 3
    ids = {headers["webhook-id"] for headers, _body in receiver.got}
    assert len(receiver.got) == 3 and ids == {delivery.message_id}  # de-duplicable by id


def test_after_a_day_of_failures_it_gives_up_and_disables_the_subscription(
    world: World, receiver: Receiver, subscription: Subscription
) -> None:
    receiver.answers = [500] * 20
    maker = subscription.created_by
    assert maker is not None
    maker.language = "nb"  # the notice comes in its reader's language
    maker.save(update_fields=["language"])
    webhook_emit(world.crm.pk, (EventType.CUSTOMER_CREATED, {"customer": 1}))
    moment = timezone.now()

    for delay in (dt.timedelta(0), *RETRY_DELAYS):
        moment += delay
        assert deliveries_due_send(moment) == 1

    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == len(RETRY_DELAYS) + 1
    assert deliveries_due_send(moment + dt.timedelta(days=2)) == 0  # no more after the limit
    subscription.refresh_from_db()
    assert not subscription.is_active and subscription.disabled_reason
    assert mail.outbox and mail.outbox[0].to == ["leder@example.no"]
    assert "Min konto → Webhooks" in mail.outbox[0].body
    # A disabled subscription gets no new messages.
    webhook_emit(world.crm.pk, (EventType.CUSTOMER_CREATED, {"customer": 2}))
    assert Delivery.objects.count() == 1


def test_a_redirect_is_an_answer_not_an_address_to_follow(
    world: World, receiver: Receiver, subscription: Subscription
) -> None:
    receiver.answers = [302]
    webhook_emit(world.crm.pk, (EventType.CUSTOMER_CREATED, {"customer": 1}))

    delivery = delivery_attempt(Delivery.objects.get().pk)

    assert delivery and delivery.response_status == 302 and delivery.status == "pending"
    assert len(receiver.got) == 1


def test_other_data_owners_and_unwanted_events_send_nothing(
    world: World, receiver: Receiver, subscription: Subscription
) -> None:
    from tests.factories import CRMFactory

    webhook_emit(CRMFactory(name="Annen").pk, (EventType.CUSTOMER_CREATED, {"customer": 1}))
    webhook_emit(world.crm.pk, (EventType.MEETING_BOOKED, {"customer": 1}))

    assert not Delivery.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "file:///etc/passwd",
        "ftp://example.com/hook",
        "https:///no-host",
    ],
)
def test_private_and_odd_targets_are_refused(url: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_target(url)

    assert refused.value.field == "url"


def test_a_sale_with_a_meeting_tells_each_once_and_reads_the_subscriptions_once(
    world: World, receiver: Receiver, subscription: Subscription
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    subscription.events = ["registration.created", "product.sold", "meeting.booked"]
    subscription.save(update_fields=["events"])

    with CaptureQueriesContext(connection) as queries:
        webhook_emit(
            world.crm.pk,
            (EventType.REGISTRATION_CREATED, {"registration": 1}),
            (EventType.PRODUCT_SOLD, {"registration": 1}),
            (EventType.MEETING_BOOKED, {"registration": 1}),
            (EventType.CUSTOMER_MOVED, {"customer": 1}),  # not subscribed
        )

    read = [q for q in queries.captured_queries if "webhooks_subscription" in q["sql"]]
    assert len(read) == 1
    assert sorted(Delivery.objects.values_list("event_type", flat=True)) == [
        "meeting.booked",
        "product.sold",
        "registration.created",
    ]
