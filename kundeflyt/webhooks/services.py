"""Webhooks: subscribing, the messages that changes emit, and sending them.

A change emits its message in its own transaction (``webhook_emit``): one delivery row per
subscription that wants it, so a rolled-back change sends nothing. After the commit a worker
sends each (``delivery_attempt``), signed as Standard Webhooks specify, and tries again on
the specification's schedule for about a day. A subscription whose messages got nowhere for
that long is disabled, and its maker is told.

Messages are thin: what happened, to what, and where to read it through the API, so that a
receiver reads the rest with its own token and its own permissions."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from base64 import b64encode
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from standardwebhooks import Webhook

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import data_owners_visible_to
from kundeflyt.common.audit import audit
from kundeflyt.common.bounds import bounded_text
from kundeflyt.common.deferred import enqueue
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.webhooks.models import Delivery, EventType, Subscription

# Standard Webhooks' retry schedule after the first attempt: about a day in all.
RETRY_DELAYS = tuple(
    dt.timedelta(seconds=s) for s in (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
)
TIMEOUT_SECONDS = 10
# While one worker sends, the message is not due for another (a worker that died mid-send
# leaves it to be sent again after this).
SENDING_LEASE = dt.timedelta(seconds=3 * TIMEOUT_SECONDS)
URL_LENGTH = 500


def _check_manager(actor: User) -> None:
    require(actor, Perm.API_ACCESS)
    require(actor, Perm.CAMPAIGN_SETUP)


def subscriptions_visible_to(actor: User) -> QuerySet[Subscription]:
    _check_manager(actor)
    return Subscription.objects.filter(data_owner__in=data_owners_visible_to(actor))


def check_target(url: str) -> None:
    """Refuse a URL that is no http(s) address, or that leads to a private, loopback,
    link-local or otherwise non-public address (the worker would call into our own network)
    unless ``WEBHOOK_ALLOW_PRIVATE_TARGETS`` is set (tests, closed networks)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DomainError(_("Give an http:// or https:// address."), field="url")
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError):
        raise DomainError(_("No server answers to that name."), field="url") from None
    for *_rest, address in found:
        if not ipaddress.ip_address(address[0]).is_global:
            raise DomainError(
                _("Webhooks go to public addresses only, not into a private network."),
                field="url",
            )


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = sorted(set(events))
    unknown = [e for e in chosen if e not in EventType.values]
    if unknown:
        raise DomainError(
            _("“%(event)s” is not an event.") % {"event": unknown[0][:60]}, field="events"
        )
    if not chosen:
        raise DomainError(_("Choose at least one event."), field="events")
    return chosen


@transaction.atomic
def subscription_create(
    actor: User, *, data_owner_id: int, url: str, events: Iterable[str], description: str = ""
) -> Subscription:
    """A subscription of one of the actor's data owners, with a new signing secret (the
    answer to its maker is the only time it is shown)."""
    _check_manager(actor)
    owner = data_owners_visible_to(actor).filter(pk=data_owner_id).first()
    if owner is None:
        raise NotFound(_("No such data owner."), field="data_owner")
    url = bounded_text(url, field="url", max_length=URL_LENGTH).strip()
    check_target(url)
    events = _clean_events(events)
    subscription = Subscription.objects.create(
        data_owner=owner,
        url=url,
        events=events,
        description=bounded_text(description, field="description", max_length=200),
        secret="whsec_" + b64encode(secrets.token_bytes(24)).decode(),
        created_by=actor,
    )
    audit(
        actor, "webhook.subscribe", subscription, after={"url": url, "events": subscription.events}
    )
    return subscription


def _subscription_for(actor: User, subscription_id: int) -> Subscription:
    found = subscriptions_visible_to(actor).select_for_update().filter(pk=subscription_id).first()
    if found is None:
        raise NotFound(_("No such webhook subscription."), field="subscription")
    return found


@transaction.atomic
def subscription_delete(actor: User, *, subscription_id: int) -> None:
    subscription = _subscription_for(actor, subscription_id)
    audit(actor, "webhook.unsubscribe", subscription, before={"url": subscription.url})
    subscription.delete()


@transaction.atomic
def subscription_enable(actor: User, *, subscription_id: int) -> Subscription:
    """Turn a disabled subscription on again; messages it missed are sent again with
    ``delivery_redeliver``."""
    subscription = _subscription_for(actor, subscription_id)
    subscription.is_active, subscription.disabled_at, subscription.disabled_reason = True, None, ""
    subscription.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
    audit(actor, "webhook.enable", subscription)
    return subscription


Message = tuple[EventType, dict[str, Any]]  # what happened, and the data that tells it


def webhook_emit(
    crm_id: int, *messages: Message, subscriptions: Sequence[Subscription] | None = None
) -> None:
    """Tell the subscribers of the CRM's data owner, once this transaction commits, what
    happened: every message of one change in one call, so that the subscriptions are read
    once (or not at all, when the caller has them from the campaign's configuration). Call
    it inside the change's transaction."""
    if subscriptions is None:
        subscriptions = list(Subscription.objects.filter(data_owner__crms=crm_id, is_active=True))
    if not subscriptions:
        return
    now = timezone.now()
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            subscription=s,
            message_id=f"msg_{uuid.uuid4().hex}",
            event_type=event_type.value,
            payload={"type": event_type.value, "timestamp": now.isoformat(), "data": data},
            created_at=now,
            next_attempt_at=now,
        )
        for event_type, data in messages
        for s in subscriptions
        if event_type.value in s.events
    )
    if not deliveries:
        return
    ids = [d.pk for d in deliveries]

    def send() -> None:
        for pk in ids:
            _enqueue(pk)

    transaction.on_commit(send)


def _enqueue(delivery_id: int, at: dt.datetime | None = None) -> None:
    """Send it now, or at ``at`` (where the backend cannot wait, ``deliveries_due_send``)."""
    from kundeflyt.webhooks.tasks import deliver_task

    enqueue(deliver_task, delivery_id, at=at)


def _post(
    subscription: Subscription, delivery: Delivery, now: dt.datetime
) -> tuple[int | None, str]:
    """Send one attempt: the response's status, or None and what went wrong."""
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Kundeflyt-Webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(subscription.secret).sign(delivery.message_id, now, body),
    }
    try:
        check_target(subscription.url)  # again: the name may lead elsewhere by now
    except DomainError as refused:
        return None, refused.message
    request = urllib.request.Request(
        subscription.url, data=body.encode(), headers=headers, method="POST"
    )
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(1024)
            return response.status, ""
    except urllib.error.HTTPError as answered:
        return answered.code, ""
    except (OSError, ValueError) as failed:
        return None, str(failed)[:300] or failed.__class__.__name__


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an address to follow (it could lead inside)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def delivery_attempt(delivery_id: int, *, now: dt.datetime | None = None) -> Delivery | None:
    """Send a message that is due; on failure schedule the next attempt, or give up after
    the last. Concurrent workers never send the same message at once."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True)
            .select_related("subscription")
            .filter(pk=delivery_id, status=Delivery.Status.PENDING)
            .first()
        )
        if delivery is None or not delivery.subscription.is_active:
            return delivery
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
            return delivery
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + SENDING_LEASE
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])
    started = time.monotonic()
    status, error = _post(delivery.subscription, delivery, now)
    delivery.response_ms = int((time.monotonic() - started) * 1000)
    delivery.response_status, delivery.error = status, error
    if status is not None and 200 <= status < 300:
        delivery.status, delivery.next_attempt_at = Delivery.Status.DELIVERED, None
    elif delivery.attempts > len(RETRY_DELAYS):
        delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
    else:
        delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempts - 1]
    with transaction.atomic():
        delivery.save(
            update_fields=["status", "next_attempt_at", "response_status", "response_ms", "error"]
        )
        if delivery.status == Delivery.Status.FAILED:
            _disable_if_unreachable(delivery, now)
    if delivery.status == Delivery.Status.PENDING:
        _enqueue(delivery.pk, at=delivery.next_attempt_at)
    return delivery


def _disable_if_unreachable(given_up: Delivery, now: dt.datetime) -> None:
    """A message given up after a day of attempts, and nothing received since it was made:
    the receiver is gone. Stop sending, and tell the subscription's maker."""
    subscription = Subscription.objects.select_for_update().get(pk=given_up.subscription_id)
    received = subscription.deliveries.filter(
        status=Delivery.Status.DELIVERED, last_attempt_at__gte=given_up.created_at
    ).exists()
    if received or not subscription.is_active:
        return
    subscription.is_active, subscription.disabled_at = False, now
    last = str(given_up.response_status or given_up.error or "-")[:100]
    subscription.disabled_reason = _(
        "Nothing was received for a day (last answer: %(answer)s)."
    ) % {"answer": last}
    subscription.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
    maker = subscription.created_by
    if maker is not None and maker.email:
        with translation.override(maker.language):
            send_mail(
                _("Kundeflyt stopped sending webhooks to %(url)s") % {"url": subscription.url},
                _(
                    "Kundeflyt could not deliver webhooks to %(url)s for a day and has turned "
                    "the webhook off. When the receiver is back, turn it on again under My "
                    "account → Webhooks (or through the API), and send the missed messages "
                    "again from its delivery log."
                )
                % {"url": subscription.url},
                None,
                [maker.email],
                fail_silently=True,
            )


def deliveries_due_send(now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Send the messages that are due (a sweep: after a worker was lost, or where the task
    backend cannot wait for a later time). Returns how many were tried."""
    now = now or timezone.now()
    due = list(
        Delivery.objects.filter(
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
            subscription__is_active=True,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        delivery_attempt(pk, now=now)
    return len(due)


@transaction.atomic
def delivery_redeliver(actor: User, *, delivery_id: int) -> Delivery:
    """Send a message again, as it was (the same id, so a receiver that has it can tell)."""
    delivery = (
        Delivery.objects.select_for_update()
        .filter(pk=delivery_id, subscription__in=subscriptions_visible_to(actor))
        .first()
    )
    if delivery is None:
        raise NotFound(_("No such webhook delivery."), field="delivery")
    delivery.status, delivery.next_attempt_at = Delivery.Status.PENDING, timezone.now()
    delivery.attempts = 0
    delivery.save(update_fields=["status", "next_attempt_at", "attempts"])
    audit(actor, "webhook.redeliver", delivery)
    transaction.on_commit(lambda: _enqueue(delivery.pk))
    return delivery
