"""Flows are data: states and the outcomes that move customers between them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kundeflyt.common.bounds import LONG_TEXT
from kundeflyt.common.configuration import ConfigManager
from kundeflyt.common.errors import DomainError


class Flow(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True, max_length=LONG_TEXT)

    objects = ConfigManager()

    class Meta:
        verbose_name = _("customer flow")
        verbose_name_plural = _("customer flows")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def entry_state(self) -> State:
        """Where a customer starts, and lands when moved into a campaign of this flow."""
        state = self.states.filter(kind=StateKind.AVAILABLE).order_by("position", "id").first()
        if state is None:
            raise DomainError(
                _("The flow “%(flow)s” has no available state.") % {"flow": self}, field="flow"
            )
        return state


class StateKind(models.TextChoices):
    AVAILABLE = "available", _("Available")
    FOLLOW_UP = "follow_up", _("Follow-up")
    IN_PROGRESS = "in_progress", _("In progress")
    FINAL = "final", _("Final")


class State(models.Model):
    flow = models.ForeignKey(
        Flow, verbose_name=_("flow"), on_delete=models.CASCADE, related_name="states"
    )
    key = models.SlugField(_("key"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=StateKind.choices)
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = ConfigManager()

    class Meta:
        verbose_name = _("state")
        verbose_name_plural = _("states")
        ordering = ["flow", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "key"], name="state_key_unique_in_flow"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_final(self) -> bool:
        return self.kind == StateKind.FINAL


class FollowUpRule(models.TextChoices):
    NONE = "none", _("Not offered")
    OPTIONAL = "optional", _("Optional")
    REQUIRED = "required", _("Required")


class ProductRule(models.TextChoices):
    NONE = "none", _("No products")
    OFFERED = "offered", _("Products offered")
    SOLD = "sold", _("Products sold")


class Outcome(models.Model):
    """A result an agent can register. With a target state it is *progressive*; without
    one it is an *attempt* and leaves the customer in its state."""

    flow = models.ForeignKey(
        Flow, verbose_name=_("flow"), on_delete=models.CASCADE, related_name="outcomes"
    )
    key = models.SlugField(_("key"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("what it means"), blank=True, max_length=LONG_TEXT)
    from_states = models.ManyToManyField(
        State, verbose_name=_("offered from"), related_name="outcomes_offered"
    )
    to_state = models.ForeignKey(
        State,
        verbose_name=_("leads to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outcomes_leading_here",
        help_text=_("Empty for an attempt: the customer stays in its state."),
    )
    follow_up = models.CharField(
        _("follow-up"), max_length=10, choices=FollowUpRule.choices, default=FollowUpRule.NONE
    )
    follow_up_default_minutes = models.PositiveIntegerField(
        _("default follow-up delay (minutes)"), null=True, blank=True
    )
    comment_required = models.BooleanField(_("comment required"), default=False)
    products = models.CharField(
        _("products"), max_length=10, choices=ProductRule.choices, default=ProductRule.NONE
    )
    books_meeting = models.BooleanField(_("books a meeting"), default=False)
    report_category = models.CharField(_("report category"), max_length=60, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = ConfigManager()

    class Meta:
        verbose_name = _("outcome")
        verbose_name_plural = _("outcomes")
        ordering = ["flow", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "key"], name="outcome_key_unique_in_flow"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_progressive(self) -> bool:
        return self.to_state_id is not None
