from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from kundeflyt.common.configuration import ConfigQuerySet


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)

    objects = models.Manager.from_queryset(ConfigQuerySet)()

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ConfigUserManager(UserManager.from_queryset(ConfigQuerySet)):  # type: ignore[misc]
    """Django's user manager, whose writes change the configuration version."""


class User(AbstractUser):
    """A person who logs in, or an integration user: a client's system, which never logs in
    to the pages and acts only through the API tokens an administrator makes for it (so
    that the integration does not stop when a person leaves). An archived user
    (``is_active`` off) cannot log in and keeps their history."""

    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default=settings.TIME_ZONE)
    # Click-to-call rings this phone first, then connects the customer (S7).
    phone = models.CharField(
        _("phone for calls"),
        max_length=20,
        blank=True,
        default="",
        db_default="",
        help_text=_("Your mobile or softphone number: Call rings it, then the customer."),
    )
    two_factor = models.BooleanField(
        _("two-factor login"),
        default=False,
        editable=False,
        help_text=_("On while the user has a confirmed authenticator app (TOTP device)."),
    )
    is_integration = models.BooleanField(
        _("integration user"),
        default=False,
        help_text=_(
            "A client's system: it never logs in to the pages and uses the API with tokens "
            "an administrator makes for it."
        ),
    )
    session_generation = models.PositiveIntegerField(
        _("session generation"),
        default=0,
        editable=False,
        help_text=_("Raised to end every session of the user (“log out everywhere”)."),
    )

    objects = ConfigUserManager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["first_name", "last_name", "username"]
        # The product's permissions, each on or off per user (or through a group = role).
        permissions = [
            ("administrator", _("Administrator")),
            ("campaign_setup", _("Campaign setup")),
            ("reporting", _("Reporting")),
            ("individual_results", _("Individual results")),
            ("revenue", _("Revenue")),
            ("customer_handling", _("Customer handling")),
            ("extended_customer_handling", _("Extended customer handling")),
            ("sms", _("SMS")),
            ("bulk_sms", _("Bulk SMS")),
            ("correct_registrations", _("Correct registrations")),
            ("api_access", _("API access")),
            ("privacy_officer", _("Privacy officer")),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    # A session stays valid while its hash matches. Django hashes the password; the session
    # generation joins it, so raising the generation ends every session of the user. Until the
    # first raise the hash is Django's own, so sessions made before it stay valid.
    def get_session_auth_hash(self) -> str:
        if not self.session_generation:
            return super().get_session_auth_hash()
        return self._generation_hash(None)

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        if not self.session_generation:
            yield from super().get_session_auth_fallback_hash()
            return
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._generation_hash(secret)

    def _generation_hash(self, secret: str | bytes | None) -> str:
        return salted_hmac(
            "kundeflyt.accounts.User.session",
            f"{self.password}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()
