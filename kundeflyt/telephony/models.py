"""Calls and SMS (S7): a data owner's provider account, a campaign's SMS templates, and every
message sent to or received from a customer, with its delivery status."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

SMS_TEXT_LENGTH = 1000  # about six concatenated segments: longer is a letter, not an SMS


class Backend(models.TextChoices):
    CONSOLE = "console", _("Console (nothing leaves the server)")
    ELKS = "46elks", "46elks"
    TWILIO = "twilio", "Twilio"


def _callback_secret() -> str:
    return secrets.token_urlsafe(24)


class ProviderAccount(models.Model):
    """How one data owner's calls and SMS reach the telephone network. The secret (46elks'
    API password, Twilio's auth token) is sealed at rest, or named as an environment
    variable, and never shown again once saved."""

    data_owner = models.OneToOneField(
        "crm.DataOwner",
        verbose_name=_("data owner"),
        on_delete=models.CASCADE,
        related_name="provider_account",
    )
    backend = models.CharField(
        _("provider"), max_length=10, choices=Backend.choices, default=Backend.CONSOLE
    )
    username = models.CharField(
        _("API user name or account SID"), max_length=100, blank=True, default=""
    )
    sealed_secret = models.TextField(_("sealed secret"), blank=True, default="", editable=False)
    secret_variable = models.CharField(
        _("or: the environment variable that holds the secret"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("Its name must start with KUNDEFLYT_PROVIDER_."),
    )
    forward_to = models.CharField(
        _("incoming calls go to"),
        max_length=20,
        blank=True,
        default="",
        help_text=_(
            "A switchboard or queue number. Agents see who is calling; empty: callers hear busy."
        ),
    )
    # The password of the callback addresses given to the provider (46elks: basic auth).
    callback_secret = models.CharField(max_length=64, default=_callback_secret, editable=False)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("telephony and SMS provider")
        verbose_name_plural = _("telephony and SMS providers")

    def __str__(self) -> str:
        return f"{self.data_owner} · {self.get_backend_display()}"


class Purpose(models.TextChoices):
    """Marketing needs the consumer's prior consent (markedsføringsloven § 15); a service
    message (an order confirmation, a meeting reminder) does not."""

    MARKETING = "marketing", _("Marketing")
    SERVICE = "service", _("Service message")


class SmsTemplate(models.Model):
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="sms_templates",
    )
    name = models.CharField(_("name"), max_length=100)
    text = models.TextField(
        _("text"),
        max_length=SMS_TEXT_LENGTH,
        help_text=_("Placeholders in braces: {name}, {customer_id}, {agent} or a field's key."),
    )
    purpose = models.CharField(
        _("purpose"), max_length=10, choices=Purpose.choices, default=Purpose.MARKETING
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("SMS template")
        verbose_name_plural = _("SMS templates")
        ordering = ["campaign", "position", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Every placeholder must name something a customer of the campaign can have."""
        from kundeflyt.telephony.sms_text import STANDARD_PLACEHOLDERS, placeholders

        if self.campaign_id is None:
            return
        keys = set(self.campaign.crm.fields.values_list("key", flat=True))
        known = keys | STANDARD_PLACEHOLDERS.keys()
        unknown = [p for p in placeholders(self.text) if p not in known]
        if unknown:
            raise ValidationError(
                {
                    "text": _("{%(name)s} is neither a field of the CRM nor one of %(known)s.")
                    % {"name": unknown[0], "known": ", ".join(sorted(STANDARD_PLACEHOLDERS))}
                }
            )


class SmsBatch(models.Model):
    """One template sent to a list of customers (bulk SMS): the list as it was when confirmed,
    sent by a worker at a limited rate, within the campaign's calling hours, each customer
    checked again just before (block list, consent, the Reservasjonsregisteret)."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting for the calling hours")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Done")
        STOPPED = "stopped", _("Stopped")

    data_owner = models.ForeignKey(
        "crm.DataOwner", verbose_name=_("data owner"), on_delete=models.PROTECT, related_name="+"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="+"
    )
    template = models.ForeignKey(
        SmsTemplate, verbose_name=_("template"), on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("started"), default=timezone.now)
    description = models.CharField(_("list"), max_length=300, blank=True, default="")
    customer_ids = models.JSONField(_("customers"), default=list)  # in the order they go
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SENDING
    )
    position = models.PositiveIntegerField(_("reached"), default=0)  # of customer_ids
    sent = models.PositiveIntegerField(_("sent"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    skipped_why = models.JSONField(_("why skipped"), default=dict)  # reason: count
    not_before = models.DateTimeField(_("not before"), null=True, blank=True)
    touched_at = models.DateTimeField(_("last progress"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("bulk SMS")
        verbose_name_plural = _("bulk SMS")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.template} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def total(self) -> int:
        return len(self.customer_ids)


class Sms(models.Model):
    """One SMS to or from a customer. An outgoing one is written in the agent's transaction
    and sent by a worker after the commit, once: ``key`` names it to the provider, and only a
    failure that proves nothing was sent is tried again."""

    class Direction(models.TextChoices):
        OUT = "out", _("Sent")
        IN = "in", _("Received")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        RECEIVED = "received", _("Received")

    data_owner = models.ForeignKey(
        "crm.DataOwner", verbose_name=_("data owner"), on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sms_messages",
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    sender = models.CharField(_("from"), max_length=20)
    to = models.CharField(_("to"), max_length=20)
    text = models.TextField(_("text"), max_length=SMS_TEXT_LENGTH)
    purpose = models.CharField(
        _("purpose"), max_length=10, choices=Purpose.choices, default=Purpose.SERVICE
    )
    template = models.ForeignKey(
        SmsTemplate,
        verbose_name=_("template"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    batch = models.ForeignKey(
        SmsBatch,
        verbose_name=_("bulk SMS"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
    )
    segments = models.PositiveSmallIntegerField(_("segments"), default=1)
    created_at = models.DateTimeField(_("written"), default=timezone.now)
    backend = models.CharField(_("provider"), max_length=10, choices=Backend.choices)
    key = models.UUIDField(_("idempotency key"), default=uuid.uuid4, unique=True, editable=False)
    provider_id = models.CharField(_("provider's id"), max_length=64, blank=True, default="")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    status_at = models.DateTimeField(_("status since"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True, default="")

    class Meta:
        verbose_name = _("SMS")
        verbose_name_plural = _("SMS")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["backend", "provider_id"],
                condition=~Q(provider_id=""),
                name="sms_provider_id_once",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="sms_customer_time"),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="queued", next_attempt_at__isnull=False),
                name="sms_due",
            ),
            models.Index(fields=["data_owner", "created_at"], name="sms_owner_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.to} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_final(self) -> bool:
        return self.status in (self.Status.DELIVERED, self.Status.FAILED, self.Status.RECEIVED)


class Call(models.Model):
    """One call between an agent and a customer. Click-to-call rings the agent's own phone
    first and then connects the customer (call bridging), so the agent talks on the phone
    they have; the provider tells how far it got. Kept with the registration saved during
    or after it."""

    class Direction(models.TextChoices):
        OUT = "out", _("Outgoing")
        IN = "in", _("Incoming")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Dialing")
        RINGING = "ringing", _("Ringing")
        ANSWERED = "answered", _("Answered")
        ENDED = "ended", _("Ended")

    class Result(models.TextChoices):
        ANSWERED = "answered", _("Answered")
        NO_ANSWER = "no_answer", _("No answer")
        BUSY = "busy", _("Busy")
        FAILED = "failed", _("Failed")

    data_owner = models.ForeignKey(
        "crm.DataOwner", verbose_name=_("data owner"), on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="calls",
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    caller = models.CharField(_("from"), max_length=20)  # the number the customer sees
    agent_phone = models.CharField(_("agent's phone"), max_length=20, blank=True, default="")
    customer_phone = models.CharField(_("customer's phone"), max_length=20)
    created_at = models.DateTimeField(_("started"), default=timezone.now)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(_("talk time (seconds)"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    result = models.CharField(
        _("result"), max_length=10, choices=Result.choices, blank=True, default=""
    )
    backend = models.CharField(_("provider"), max_length=10, choices=Backend.choices)
    key = models.UUIDField(_("idempotency key"), default=uuid.uuid4, unique=True, editable=False)
    provider_id = models.CharField(_("provider's id"), max_length=64, blank=True, default="")
    error = models.CharField(_("error"), max_length=300, blank=True, default="")
    recording_url = models.URLField(_("recording"), max_length=500, blank=True, default="")
    event = models.ForeignKey(
        "handling.Event",
        verbose_name=_("registration"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["backend", "provider_id"],
                condition=~Q(provider_id=""),
                name="call_provider_id_once",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="call_customer_time"),
            models.Index(fields=["user", "created_at"], name="call_user_time"),
            models.Index(fields=["data_owner", "created_at"], name="call_owner_time"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_direction_display()} {self.customer_phone} {self.created_at:%Y-%m-%d %H:%M}"
        )

    @property
    def is_over(self) -> bool:
        return self.status == self.Status.ENDED
