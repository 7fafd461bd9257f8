"""Rollups of the events that count in reports (DESIGN.md rule 6), kept by ``rollup.py``.

Every table is a sum over the events that are included and not corrected, keyed by the day of
their *counts at* time in the report time zone and their *counts for* user. "None" in a key
(no segment, no option, no user) is stored as 0, so that one plain unique constraint serves
``INSERT … ON CONFLICT … DO UPDATE`` on PostgreSQL and SQLite alike (NULLs never conflict).
Rows whose counts fall back to 0 are kept: deleting them would race with a concurrent insert.
The foreign keys have no database constraint: the rows are derived from the events, which
hold those constraints, and checking them again would double the work of a rebuild. Nor are
they indexed on their own: the unique key and the (campaign, day) index serve every query.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutcomeDay(models.Model):
    """Outcomes per day × campaign × segment × user × outcome × option: the fine rollup that
    every filter can be applied to."""

    day = models.DateField(_("day"))
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    segment_key = models.BigIntegerField(_("segment"), default=0)
    user_key = models.BigIntegerField(_("user"), default=0)
    outcome = models.ForeignKey(
        "flows.Outcome",
        verbose_name=_("outcome"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    option_key = models.BigIntegerField(_("outcome option"), default=0)
    n = models.BigIntegerField(_("outcomes"), default=0)
    meetings = models.BigIntegerField(_("meetings booked"), default=0)

    class Meta:
        verbose_name = _("outcomes per day")
        verbose_name_plural = _("outcomes per day")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "campaign", "segment_key", "user_key", "outcome", "option_key"],
                name="outcomeday_key",
            )
        ]
        indexes = [models.Index(fields=["campaign", "day"], name="outcomeday_campaign_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.campaign_id}/{self.outcome_id}: {self.n}"


class UserDay(models.Model):
    """Per day × campaign × user: outcomes, progressive outcomes, meetings and active hours.
    The activity and meeting reports read it when no segment or outcome filter asks for the
    fine rollup; it is a few hundred times smaller than the events."""

    day = models.DateField(_("day"))
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    user_key = models.BigIntegerField(_("user"), default=0)
    n = models.BigIntegerField(_("outcomes"), default=0)
    progressive = models.BigIntegerField(_("progressive outcomes"), default=0)
    meetings = models.BigIntegerField(_("meetings booked"), default=0)
    # Hours of the day (report time zone) in which the user registered at least one outcome
    # that counts in this campaign: kept from UserHour when one of its rows turns 0 ↔ 1.
    hours = models.BigIntegerField(_("active hours"), default=0)

    class Meta:
        verbose_name = _("activity per day")
        verbose_name_plural = _("activity per day")
        constraints = [
            models.UniqueConstraint(fields=["day", "campaign", "user_key"], name="userday_key")
        ]
        indexes = [models.Index(fields=["campaign", "day"], name="userday_campaign_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.campaign_id}/{self.user_key}: {self.n}"


class UserHour(models.Model):
    """Outcomes per day × hour × campaign × user, to know the active hours of UserDay."""

    day = models.DateField(_("day"))
    hour = models.PositiveSmallIntegerField(_("hour"))
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    user_key = models.BigIntegerField(_("user"), default=0)
    n = models.BigIntegerField(_("outcomes"), default=0)

    class Meta:
        verbose_name = _("outcomes per hour")
        verbose_name_plural = _("outcomes per hour")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "hour", "campaign", "user_key"], name="userhour_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.hour}h {self.campaign_id}/{self.user_key}: {self.n}"


class ProductDay(models.Model):
    """Product lines per day × campaign × segment × user × outcome × product × status.
    Revenue is kept in hundredths (øre) as an integer, so that sums are exact on SQLite too."""

    day = models.DateField(_("day"))
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    segment_key = models.BigIntegerField(_("segment"), default=0)
    user_key = models.BigIntegerField(_("user"), default=0)
    outcome = models.ForeignKey(
        "flows.Outcome",
        verbose_name=_("outcome"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    product = models.ForeignKey(
        "campaigns.Product",
        verbose_name=_("product"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    status = models.CharField(_("status"), max_length=10)
    lines = models.BigIntegerField(_("product lines"), default=0)
    quantity = models.BigIntegerField(_("quantity"), default=0)
    revenue_cents = models.BigIntegerField(_("revenue (hundredths)"), default=0)

    class Meta:
        verbose_name = _("products per day")
        verbose_name_plural = _("products per day")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "day",
                    "campaign",
                    "segment_key",
                    "user_key",
                    "outcome",
                    "product",
                    "status",
                ],
                name="productday_key",
            )
        ]
        indexes = [models.Index(fields=["campaign", "day"], name="productday_campaign_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.product_id} {self.status}: {self.lines}"


class CallDay(models.Model):
    """Calls made per day × campaign × agent: how many ended, how many were answered, and
    their talk time in seconds (the day the call started, in the report time zone)."""

    day = models.DateField(_("day"))
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    user_key = models.BigIntegerField(_("user"), default=0)
    calls = models.BigIntegerField(_("calls"), default=0)
    answered = models.BigIntegerField(_("answered"), default=0)
    talk_seconds = models.BigIntegerField(_("talk time (seconds)"), default=0)

    class Meta:
        verbose_name = _("calls per day")
        verbose_name_plural = _("calls per day")
        constraints = [
            models.UniqueConstraint(fields=["day", "campaign", "user_key"], name="callday_key")
        ]
        indexes = [models.Index(fields=["campaign", "day"], name="callday_campaign_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.campaign_id}/{self.user_key}: {self.calls}"
