from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from kundeflyt.common.bounds import LONG_TEXT, MONEY_MAX
from kundeflyt.common.configuration import ConfigManager
from kundeflyt.common.errors import DomainError
from kundeflyt.common.fields import FieldType
from kundeflyt.crm.field_filters import FieldFilter, field_filter
from kundeflyt.crm.models import FieldDefinition


class PresentationMode(models.TextChoices):
    MANUAL = "manual", _("Manual")
    PREDICTIVE = "predictive", _("Predictive")


class Campaign(models.Model):
    """A piece of work for a data owner: a flow, segments, members and rules."""

    crm = models.ForeignKey(
        "crm.CRM", verbose_name=_("CRM"), on_delete=models.PROTECT, related_name="campaigns"
    )
    name = models.CharField(_("name"), max_length=200)
    flow = models.ForeignKey(
        "flows.Flow", verbose_name=_("flow"), on_delete=models.PROTECT, related_name="campaigns"
    )
    presentation_mode = models.CharField(
        _("presentation mode"),
        max_length=12,
        choices=PresentationMode.choices,
        default=PresentationMode.MANUAL,
    )
    # Visibility: who and when.
    visible_to_all = models.BooleanField(_("visible to all users of the data owner"), default=True)
    users = models.ManyToManyField(
        "accounts.User", verbose_name=_("users"), blank=True, related_name="campaigns"
    )
    teams = models.ManyToManyField(
        "accounts.Team", verbose_name=_("teams"), blank=True, related_name="campaigns"
    )
    visible_from = models.DateField(_("visible from"), null=True, blank=True)
    visible_until = models.DateField(_("visible until"), null=True, blank=True)
    # Privacy facts; empty means the data owner's.
    controller = models.CharField(_("controller"), max_length=200, blank=True)
    purpose = models.TextField(_("purpose of processing"), blank=True, max_length=LONG_TEXT)
    legal_basis = models.CharField(
        _("legal basis"),
        max_length=500,
        blank=True,
        help_text=_("Empty: the data owner's."),
    )
    information = models.TextField(_("information for agents"), blank=True, max_length=LONG_TEXT)
    # Attempt rules.
    max_attempts = models.PositiveIntegerField(
        _("most attempts"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    min_minutes_between_attempts = models.PositiveIntegerField(
        _("least time between attempts (minutes)"), default=0
    )
    # Calling hours (rule 11): empty means weekdays 09–21 for consumers, 08–17 for businesses.
    # A B2B campaign may opt in to the consumer rules (09–21, enforced as for consumers).
    consumer_rules = models.BooleanField(
        _("follow the consumer rules of the marketing law"),
        default=False,
        help_text=_(
            "Consumer campaigns (a B2C CRM) always follow them: calls only on weekdays "
            "09:00–21:00, never on Saturdays, Sundays or public holidays."
        ),
    )
    calling_from = models.TimeField(
        _("calls from"),
        null=True,
        blank=True,
        help_text=_("Empty: 09:00 for consumers, 08:00 for businesses."),
    )
    calling_until = models.TimeField(
        _("calls until"),
        null=True,
        blank=True,
        help_text=_(
            "Empty: 21:00 for consumers, 17:00 for businesses. Consumers are never called "
            "before 09:00 or after 21:00."
        ),
    )
    calls_enabled = models.BooleanField(_("calls (integrated telephony)"), default=False)
    sms_enabled = models.BooleanField(_("SMS"), default=False)
    # Who the customer sees calling or texting (rule 11: never a hidden number).
    sms_sender = models.CharField(
        _("SMS sender"),
        max_length=15,
        blank=True,
        default="",
        db_default="",
        help_text=_("A name of 3–11 letters and digits, or a phone number."),
    )
    caller_number = models.CharField(
        _("number calls come from"),
        max_length=20,
        blank=True,
        default="",
        db_default="",
        help_text=_("The number the customer sees. A hidden number is not allowed."),
    )
    currency = models.CharField(_("currency"), max_length=3, default=settings.DEFAULT_CURRENCY)

    objects = ConfigManager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(calling_from__isnull=True)
                | Q(calling_until__isnull=True)
                | Q(calling_from__lt=F("calling_until")),
                name="campaign_calling_hours_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from kundeflyt.campaigns.calling_hours import calling_hours
        from kundeflyt.campaigns.senders import caller_number_clean, sms_sender_clean

        try:
            self.sms_sender = sms_sender_clean(self.sms_sender)
            self.caller_number = caller_number_clean(self.caller_number)
        except DomainError as refused:
            raise ValidationError({refused.field or "sms_sender": refused.message}) from None
        if self.sms_enabled and not self.sms_sender:
            raise ValidationError({"sms_sender": _("Give the sender the customers will see.")})
        if self.crm_id is None:
            return
        start, end = calling_hours(self)
        if start >= end:
            raise ValidationError(
                {"calling_until": _("The calling hours leave no time to call in.")}
            )

    @property
    def is_predictive(self) -> bool:
        return self.presentation_mode == PresentationMode.PREDICTIVE

    def is_visible_on(self, day: dt.date) -> bool:
        if self.visible_from and day < self.visible_from:
            return False
        return not (self.visible_until and day > self.visible_until)

    @property
    def controller_name(self) -> str:
        return self.controller or self.crm.data_owner.controller_name

    @property
    def purpose_text(self) -> str:
        return self.purpose or self.crm.data_owner.purpose

    @property
    def legal_basis_text(self) -> str:
        """The campaign's legal basis, else its data owner's; empty when neither says."""
        return self.legal_basis or self.crm.data_owner.legal_basis


class Segment(models.Model):
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="segments"
    )
    name = models.CharField(_("name"), max_length=120)
    priority = models.PositiveIntegerField(
        _("priority"), default=100, help_text=_("Lower numbers are worked first.")
    )
    # A rule on an information field: a customer placed in the campaign without a named
    # segment lands in the first segment, by priority, whose rule it matches.
    rule_field = models.CharField(
        _("takes customers whose field"),
        max_length=60,
        blank=True,
        help_text=_("The key of a CRM information field; empty for no rule."),
    )
    rule_op = models.CharField(
        _("compared by"),
        max_length=10,
        blank=True,
        choices=[
            ("contains", _("contains")),
            ("equals", _("is")),
            ("range", _("from–to")),
            ("empty", _("is empty")),
        ],
    )
    rule_value = models.CharField(_("value"), max_length=200, blank=True)
    rule_low = models.CharField(_("from"), max_length=200, blank=True)
    rule_high = models.CharField(_("to"), max_length=200, blank=True)

    objects = ConfigManager()

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["campaign", "priority", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="segment_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def rule(self, definitions: Sequence[FieldDefinition]) -> FieldFilter | None:
        """The segment's rule as a filter on the CRM's fields, or None without one; a rule
        that no longer fits the CRM's fields is refused naming the part at fault."""
        if not self.rule_field:
            return None
        return field_filter(
            {
                "field": self.rule_field,
                "op": self.rule_op or "contains",
                "value": self.rule_value,
                "low": self.rule_low,
                "high": self.rule_high,
            },
            definitions,
        )

    def clean(self) -> None:
        if not self.rule_field or self.campaign_id is None:
            return
        try:
            self.rule(list(self.campaign.crm.fields.all()))
        except DomainError as error:
            target = {"field": "rule_field", "op": "rule_op", "low": "rule_low"}.get(
                error.field or "", f"rule_{error.field}"
            )
            raise ValidationError({target: error.message}) from None


class CampaignLink(models.Model):
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="links"
    )
    title = models.CharField(_("title"), max_length=120)
    url = models.URLField(_("address"))
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = ConfigManager()

    class Meta:
        verbose_name = _("link")
        verbose_name_plural = _("links")
        ordering = ["campaign", "position", "id"]

    def __str__(self) -> str:
        return self.title


class OutcomeOption(models.Model):
    """A sub-reason the agent must pick when registering the outcome in this campaign."""

    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="outcome_options",
    )
    outcome = models.ForeignKey(
        "flows.Outcome", verbose_name=_("outcome"), on_delete=models.CASCADE, related_name="+"
    )
    label = models.CharField(_("label"), max_length=120)
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = ConfigManager()

    class Meta:
        verbose_name = _("outcome option")
        verbose_name_plural = _("outcome options")
        ordering = ["campaign", "outcome", "position", "id"]

    def __str__(self) -> str:
        return self.label


class ExtraField(models.Model):
    """A field filled in when registering an outcome, or on each product line."""

    class AppliesTo(models.TextChoices):
        OUTCOME = "outcome", _("Outcome")
        PRODUCT = "product", _("Product line")

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="extra_fields"
    )
    applies_to = models.CharField(_("applies to"), max_length=10, choices=AppliesTo.choices)
    outcome = models.ForeignKey(
        "flows.Outcome",
        verbose_name=_("outcome"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("For outcome fields: which outcome asks for it."),
    )
    key = models.SlugField(_("key"), max_length=60)
    label = models.CharField(_("label"), max_length=120)
    type = models.CharField(_("type"), max_length=20, choices=FieldType.choices)
    required = models.BooleanField(_("required"), default=False)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = ConfigManager()

    class Meta:
        verbose_name = _("extra field")
        verbose_name_plural = _("extra fields")
        ordering = ["campaign", "position", "id"]

    def __str__(self) -> str:
        return self.label

    @property
    def extra_name(self) -> str:
        """The name of its input in the outcome panel."""
        return f"extra_{self.key}"


class Product(models.Model):
    """An item of a campaign's product catalogue."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="products"
    )
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("product code"), max_length=60, blank=True)
    description = models.TextField(_("description"), blank=True, max_length=LONG_TEXT)
    price = models.DecimalField(
        _("price"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(MONEY_MAX)],
    )
    active = models.BooleanField(_("active"), default=True)

    objects = ConfigManager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["campaign", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=0, price__lte=MONEY_MAX), name="product_price_bounded"
            ),
        ]

    def __str__(self) -> str:
        return self.name
