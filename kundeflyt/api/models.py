"""Personal API tokens: a client's system acts as the user who made the token, with exactly
that user's permissions and visibility. Only a digest of the token is kept."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

NAME_LENGTH = 100


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=NAME_LENGTH)
    # The start of the token, shown so its owner can tell tokens apart; never enough to use.
    prefix = models.CharField(_("starts with"), max_length=16)
    digest = models.CharField(_("SHA-256 of the token"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now: dt.datetime | None = None) -> bool:
        moment = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > moment)


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key`` on a write, with the answer it got: the same key again
    gets the same answer, and the write is not made twice. Unique per user, so two clients'
    keys never meet; kept with the request's fingerprint, so a key reused for another
    request is refused rather than answered with the first one's result."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("key"), max_length=200)
    fingerprint = models.CharField(_("SHA-256 of the request"), max_length=64)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    status = models.PositiveSmallIntegerField(_("status"), null=True)
    body = models.JSONField(_("answer"), null=True)
    headers = models.JSONField(_("headers"), default=dict)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]

    def __str__(self) -> str:
        return self.key


class ApiRateWindow(models.Model):
    """How many requests a token made in one minute (``period``: its first second since the
    epoch), for the rate limit: shared by all the server's processes."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    period = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "period"], name="api_rate_one_row_a_minute")
        ]

    def __str__(self) -> str:
        return f"{self.token_id} @ {self.period}: {self.count}"
