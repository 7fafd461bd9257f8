"""Webhook subscriptions of the user's data owners, and their delivery logs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from kundeflyt.api.auth import user_of
from kundeflyt.api.paging import Paging, page_of
from kundeflyt.api.problems import REFUSALS
from kundeflyt.api.schemas import Id, Moment
from kundeflyt.common.errors import NotFound
from kundeflyt.webhooks.models import Delivery, EventType, Subscription
from kundeflyt.webhooks.services import (
    URL_LENGTH,
    delivery_redeliver,
    subscription_create,
    subscription_delete,
    subscription_enable,
    subscriptions_visible_to,
)

router = Router(tags=["webhooks"])


class SubscriptionIn(Schema):
    data_owner: Id
    url: Annotated[str, Field(min_length=1, max_length=URL_LENGTH)]
    events: Annotated[list[EventType], Field(min_length=1, max_length=len(EventType))]
    description: Annotated[str, Field(max_length=200)] = ""


class SubscriptionOut(Schema):
    id: int
    data_owner: int
    url: str
    events: list[str]
    description: str
    created_at: dt.datetime
    is_active: bool
    disabled_at: dt.datetime | None
    disabled_reason: str


class NewSubscription(SubscriptionOut):
    secret: str  # shown this once: verify the signatures with it


class DeliveryOut(Schema):
    id: int
    message_id: str
    event_type: str
    payload: dict[str, Any]
    created_at: dt.datetime
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    response_status: int | None
    response_ms: int | None
    error: str


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next: str | None


def _out(s: Subscription) -> dict[str, Any]:
    return {
        "id": s.pk,
        "data_owner": s.data_owner_id,
        "url": s.url,
        "events": s.events,
        "description": s.description,
        "created_at": s.created_at,
        "is_active": s.is_active,
        "disabled_at": s.disabled_at,
        "disabled_reason": s.disabled_reason,
    }


def _delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.pk,
        message_id=d.message_id,
        event_type=d.event_type,
        payload=d.payload,
        created_at=d.created_at,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        last_attempt_at=d.last_attempt_at,
        response_status=d.response_status,
        response_ms=d.response_ms,
        error=d.error,
    )


@router.get("/webhooks", response={200: list[SubscriptionOut], **REFUSALS}, summary="Webhooks")
def webhooks_list(request: HttpRequest) -> list[SubscriptionOut]:
    """The webhook subscriptions of the user's data owners. Needs *API access* and *campaign
    setup*.

    ```
    curl -H "Authorization: Bearer $TOKEN" https://kundeflyt.example/api/v1/webhooks
    ```
    """
    found = subscriptions_visible_to(user_of(request)).order_by("pk")
    return [SubscriptionOut(**_out(s)) for s in found]


@router.post(
    "/webhooks", response={201: NewSubscription, **REFUSALS}, summary="Subscribe to webhooks"
)
def webhook_new(request: HttpRequest, body: SubscriptionIn) -> Status[NewSubscription]:
    """Send these events of the data owner to `url`, as JSON `POST`s signed as the Standard
    Webhooks specification says (headers `webhook-id`, `webhook-timestamp`,
    `webhook-signature`): verify them with the `secret` in this answer, which is not shown
    again, using any Standard Webhooks library. Each message is sent after the change it
    tells of is committed, until the receiver answers 2xx: again after 5 s, 5 min, 30 min,
    2 h, 5 h, 10 h and 10 h. After a day without any message received the subscription is
    disabled and its maker told. A message keeps its `webhook-id` through retries: receivers
    de-duplicate by it. Messages are thin (`type`, `timestamp`, `data` with ids): read the
    rest through the API. The URL must lead to a public address.

    ```
    curl -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\
      https://kundeflyt.example/api/v1/webhooks \\
      -d '{"data_owner": 1, "url": "https://crm.example/hook", "events": ["registration.created"]}'
    ```
    """
    made = subscription_create(
        user_of(request),
        data_owner_id=body.data_owner,
        url=body.url,
        events=[e.value for e in body.events],
        description=body.description,
    )
    return Status(201, NewSubscription(**_out(made), secret=made.secret))


@router.delete(
    "/webhooks/{subscription_id}", response={204: None, **REFUSALS}, summary="Unsubscribe"
)
def webhook_delete(request: HttpRequest, subscription_id: Id) -> Status[None]:
    """Stop and forget the subscription and its delivery log.

    ```
    curl -X DELETE -H "Authorization: Bearer $TOKEN" https://kundeflyt.example/api/v1/webhooks/3
    ```
    """
    subscription_delete(user_of(request), subscription_id=subscription_id)
    return Status(204, None)


@router.post(
    "/webhooks/{subscription_id}/enable",
    response={200: SubscriptionOut, **REFUSALS},
    summary="Turn a disabled subscription on again",
)
def webhook_enable(request: HttpRequest, subscription_id: Id) -> SubscriptionOut:
    """On again after it was disabled; send what it missed from its delivery log.

    ```
    curl -X POST -H "Authorization: Bearer $TOKEN" https://kundeflyt.example/api/v1/webhooks/3/enable
    ```
    """
    return SubscriptionOut(
        **_out(subscription_enable(user_of(request), subscription_id=subscription_id))
    )


class DeliveriesQuery(Paging):
    changed_since: Moment | None = None


@router.get(
    "/webhooks/{subscription_id}/deliveries",
    response={200: DeliveryPage, **REFUSALS},
    summary="A subscription's delivery log",
)
def webhook_deliveries(
    request: HttpRequest, subscription_id: Id, query: Query[DeliveriesQuery]
) -> DeliveryPage:
    """Every message to the subscription, oldest first, with its status, attempts and the
    receiver's last answer (code and time). `changed_since` keeps those made or tried since
    then.

    ```
    curl -H "Authorization: Bearer $TOKEN" \\
      "https://kundeflyt.example/api/v1/webhooks/3/deliveries?changed_since=2026-11-29T00:00:00Z"
    ```
    """
    subscription = subscriptions_visible_to(user_of(request)).filter(pk=subscription_id).first()
    if subscription is None:
        raise NotFound(_("No such webhook subscription."), field="subscription")
    deliveries = subscription.deliveries.all()
    if query.changed_since is not None:
        since = query.changed_since
        deliveries = deliveries.filter(Q(created_at__gte=since) | Q(last_attempt_at__gte=since))
    found, following = page_of(request, deliveries, query)
    return DeliveryPage(items=[_delivery_out(d) for d in found], next=following)


@router.post(
    "/webhook-deliveries/{delivery_id}/redeliver",
    response={202: DeliveryOut, **REFUSALS},
    summary="Send a message again",
)
def webhook_redeliver(request: HttpRequest, delivery_id: Id) -> Status[DeliveryOut]:
    """Send the message again, with the same `webhook-id`, on the same schedule.

    ```
    curl -X POST -H "Authorization: Bearer $TOKEN" https://kundeflyt.example/api/v1/webhook-deliveries/812/redeliver
    ```
    """
    return Status(202, _delivery_out(delivery_redeliver(user_of(request), delivery_id=delivery_id)))
