"""Webhooks: a data owner's subscriptions (a URL and the events it wants) and every message
sent to one, with its attempts. A message is written in the transaction of what it tells,
so a rolled-back change sends nothing; a worker sends it after the commit."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kundeflyt.common.configuration import ConfigManager


class EventType(models.TextChoices):
    REGISTRATION_CREATED = "registration.created", _("Registration created")
    REGISTRATION_CORRECTED = "registration.corrected", _("Registration corrected")
    CUSTOMER_CREATED = "customer.created", _("Customer created")
    CUSTOMER_UPDATED = "customer.updated", _("Customer updated")
    CUSTOMER_MOVED = "customer.moved", _("Customer moved")
    PRODUCT_SOLD = "product.sold", _("Product sold")
    MEETING_BOOKED = "meeting.booked", _("Meeting booked")
    IMPORT_FINISHED = "import.finished", _("Import finished")
    CUSTOMER_ANONYMISED = "customer.anonymised", _("Customer anonymised")
    CUSTOMER_BLOCKED = "customer.blocked", _("Customer blocked")


class Subscription(models.Model):
    data_owner = models.ForeignKey(
        "crm.DataOwner",
        verbose_name=_("data owner"),
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
    )
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    # The Standard Webhooks signing secret ("whsec_" and base64), shown to its maker once.
    secret = models.CharField(_("signing secret"), max_length=100)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=200, blank=True)

    objects = ConfigManager()

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["data_owner", "pk"]
        indexes = [models.Index(fields=["data_owner", "is_active"], name="webhook_owner_active")]

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    """One message to one subscription, sent until it is received (2xx) or given up."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Given up")

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    # The message's id (webhook-id): the same for every attempt, so receivers de-duplicate.
    message_id = models.CharField(_("message id"), max_length=40, unique=True)
    event_type = models.CharField(_("event"), max_length=40, choices=EventType.choices)
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_ms = models.PositiveIntegerField(_("response time (ms)"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["subscription", "created_at"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id}"
