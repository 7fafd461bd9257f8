from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who logs in. An archived user (``is_active`` off) cannot log in and keeps
    their history."""

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
            ("correct_registrations", _("Correct registrations")),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username
