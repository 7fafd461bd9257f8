"""Where customers are worked: placements, selections, events and what events make."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kundeflyt.common.actors import ActorMixin
from kundeflyt.common.bounds import LONG_TEXT, MEETING_MINUTES_MAX, MONEY_MAX, QUANTITY_MAX


class Placement(models.Model):
    """The current truth about a customer in its campaign (one row per customer in a campaign).

    ``holder`` is the user who has *selected* the customer; the selection is a lease until
    ``lease_expires_at``, and ``lease_token`` changes with every new selection so that a
    late write from an earlier holder is refused (fencing).
    """

    customer = models.OneToOneField(
        "crm.Customer",
        verbose_name=_("customer"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="placement",
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        related_name="placements",
    )
    segment = models.ForeignKey(
        "campaigns.Segment",
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="placements",
    )
    state = models.ForeignKey(
        "flows.State", verbose_name=_("state"), on_delete=models.PROTECT, related_name="+"
    )
    state_since = models.DateTimeField(_("in this state since"))
    set_by_user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("set by user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    set_by_process = models.CharField(_("set by process"), max_length=40, blank=True)
    follow_up_at = models.DateTimeField(_("follow-up"), null=True, blank=True)
    follow_up_user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("responsible user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="follow_ups",
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    # When the customer last entered the queue: waiting time orders the available ones.
    waiting_since = models.DateTimeField(_("waiting since"))
    is_final = models.BooleanField(_("final"), default=False)
    correction = models.ForeignKey(
        "handling.CorrectionRequest",
        verbose_name=_("waiting for correction"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    holder = models.ForeignKey(
        "accounts.User",
        verbose_name=_("selected by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    selected_at = models.DateTimeField(_("selected at"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(_("selection lapses at"), null=True, blank=True)
    lease_token = models.PositiveBigIntegerField(_("selection number"), default=0)
    version = models.PositiveBigIntegerField(_("version"), default=0)
    # When the version last changed: what an API sync of follow-ups asks for.
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("placement")
        verbose_name_plural = _("placements")
        constraints = [
            # Rule 1: a user has at most one current customer.
            models.UniqueConstraint(
                fields=["holder"], condition=Q(holder__isnull=False), name="one_selection_per_user"
            ),
        ]
        indexes = [
            models.Index(
                fields=["campaign", "follow_up_at"],
                condition=Q(follow_up_at__isnull=False, is_final=False),
                name="placement_followups_due",
            ),
            models.Index(
                fields=["campaign", "waiting_since"],
                condition=Q(follow_up_at__isnull=True, is_final=False),
                name="placement_queue",
            ),
            models.Index(
                fields=["segment", "waiting_since"],
                condition=Q(follow_up_at__isnull=True, is_final=False),
                name="placement_segment_queue",
            ),
            models.Index(fields=["follow_up_user", "follow_up_at"], name="placement_my_followups"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} @ {self.campaign_id}"

    @property
    def set_by_display(self) -> str:
        if self.set_by_user_id and self.set_by_user:
            return str(self.set_by_user)
        return self.set_by_process


class Event(ActorMixin):
    """One registered outcome. Never edited in place, never deleted; a correction is a new
    event, and the old one points to it through ``corrected_by``."""

    customer = models.ForeignKey(
        "crm.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="events"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="+"
    )
    segment = models.ForeignKey(
        "campaigns.Segment",
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    outcome = models.ForeignKey(
        "flows.Outcome", verbose_name=_("outcome"), on_delete=models.PROTECT, related_name="+"
    )
    option = models.ForeignKey(
        "campaigns.OutcomeOption",
        verbose_name=_("outcome option"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    from_state = models.ForeignKey(
        "flows.State", verbose_name=_("from state"), on_delete=models.PROTECT, related_name="+"
    )
    to_state = models.ForeignKey(
        "flows.State", verbose_name=_("to state"), on_delete=models.PROTECT, related_name="+"
    )
    registered_at = models.DateTimeField(_("registered"), db_index=True)
    comment = models.TextField(_("comment"), blank=True, max_length=LONG_TEXT)
    extra_values = models.JSONField(_("extra fields"), default=dict, blank=True)
    follow_up_at = models.DateTimeField(_("follow-up"), null=True, blank=True)
    follow_up_user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("follow-up responsible"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Report facts (DESIGN.md rule 6).
    included_in_reports = models.BooleanField(_("included in reports"), default=True)
    counts_for_user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("counts for user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    counts_at = models.DateTimeField(_("counts at"))
    # Corrections (DESIGN.md rule 5).
    corrects = models.OneToOneField(
        "self",
        verbose_name=_("corrects"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrected_by",
    )
    is_corrected = models.BooleanField(_("corrected"), default=False)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["registered_at", "id"]
        indexes = [
            models.Index(fields=["customer", "registered_at"], name="event_customer_time"),
            models.Index(fields=["campaign", "counts_at"], name="event_campaign_counts_at"),
        ]

    def __str__(self) -> str:
        return f"{self.registered_at:%Y-%m-%d %H:%M} {self.outcome_id} ({self.customer_id})"

    @property
    def counts_in_reports(self) -> bool:
        return self.included_in_reports and not self.is_corrected


class ProductLine(models.Model):
    class Status(models.TextChoices):
        OFFERED = "offered", _("Offered (open)")
        SOLD = "sold", _("Sold (closed)")

    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="products",
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="+"
    )
    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.PROTECT, related_name="product_lines"
    )
    product = models.ForeignKey(
        "campaigns.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    quantity = models.PositiveIntegerField(
        _("quantity"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(QUANTITY_MAX)],
    )
    unit_price = models.DecimalField(
        _("unit price"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(MONEY_MAX)],
    )
    currency = models.CharField(_("currency"), max_length=3)
    extra_values = models.JSONField(_("extra fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("product line")
        verbose_name_plural = _("product lines")
        ordering = ["event", "id"]
        constraints = [
            # Rule 12: what the services check, the database holds too.
            models.CheckConstraint(
                condition=Q(quantity__gte=1, quantity__lte=QUANTITY_MAX),
                name="product_line_quantity_bounded",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0, unit_price__lte=MONEY_MAX),
                name="product_line_price_bounded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


class Meeting(models.Model):
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="meetings",
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="+"
    )
    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.PROTECT, related_name="meetings"
    )
    starts_at = models.DateTimeField(_("starts"))
    duration_minutes = models.PositiveIntegerField(
        _("length (minutes)"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(MEETING_MINUTES_MAX)],
    )
    place = models.CharField(_("place"), max_length=200, blank=True)
    with_whom = models.CharField(_("with"), max_length=200, blank=True)
    booked_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("booked by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=1, duration_minutes__lte=MEETING_MINUTES_MAX),
                name="meeting_duration_bounded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M}"


class CorrectionRequest(ActorMixin):
    """A registration sent back to a user to be registered again (D14)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting")
        DONE = "done", _("Corrected")
        CANCELLED = "cancelled", _("Cancelled")

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.PROTECT, related_name="correction_requests"
    )
    to_user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("to user"),
        on_delete=models.PROTECT,
        related_name="corrections_to_do",
    )
    reason = models.TextField(_("reason"), max_length=LONG_TEXT)
    allowed_outcomes = models.ManyToManyField(
        "flows.Outcome", verbose_name=_("allowed outcomes"), related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("sent"))
    as_original = models.BooleanField(
        _("counts as the original user at the original time"), default=True
    )

    class Meta:
        verbose_name = _("correction request")
        verbose_name_plural = _("correction requests")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["event"], condition=Q(status="open"), name="one_open_correction_per_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.to_user_id}"


class SavedSelection(models.Model):
    """A named filter of a CRM's customers, saved by a user to count or give out again."""

    user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="saved_selections",
    )
    crm = models.ForeignKey(
        "crm.CRM", verbose_name=_("CRM"), on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=120)
    query = models.CharField(_("filter"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("saved"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved selection")
        verbose_name_plural = _("saved selections")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "crm", "name"], name="saved_selection_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name
