"""Placements, events and what events made, in the admin: to look at only. They change through
the handling services, which check, audit and lock; never here."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from kundeflyt.common.admin import ReadOnlyAdmin
from kundeflyt.handling.models import CorrectionRequest, Event, Meeting, Placement, ProductLine

CUSTOMER_SEARCH = ("customer__customer_id", "customer__name", "customer__phone1")


@admin.register(Placement)
class PlacementAdmin(ReadOnlyAdmin):
    list_display = (
        "customer",
        "campaign",
        "segment",
        "state",
        "state_since",
        "follow_up_at",
        "follow_up_user",
        "attempts",
        "holder",
        "is_final",
    )
    list_filter = ("campaign", "state__kind", "is_final")
    list_select_related = ("customer", "campaign", "segment", "state", "follow_up_user", "holder")
    search_fields = CUSTOMER_SEARCH
    show_full_result_count = False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = (
        "registered_at",
        "customer",
        "campaign",
        "outcome",
        "from_state",
        "to_state",
        "actor",
        "included_in_reports",
        "is_corrected",
    )
    list_filter = ("campaign", "included_in_reports", "is_corrected")
    list_select_related = (
        "customer",
        "campaign",
        "outcome",
        "from_state",
        "to_state",
        "actor_user",
    )
    search_fields = (*CUSTOMER_SEARCH, "comment")
    date_hierarchy = "registered_at"
    show_full_result_count = False

    @admin.display(description=_("by"), ordering="actor_user")
    def actor(self, event: Event) -> str:
        return event.actor_display


@admin.register(ProductLine)
class ProductLineAdmin(ReadOnlyAdmin):
    list_display = (
        "product",
        "customer",
        "campaign",
        "status",
        "quantity",
        "unit_price",
        "currency",
        "total",
        "registered_at",
    )
    list_filter = ("status", "campaign")
    list_select_related = ("product", "customer", "campaign", "event")
    search_fields = (*CUSTOMER_SEARCH, "product__name", "product__code")
    show_full_result_count = False

    @admin.display(description=_("total"))
    def total(self, line: ProductLine) -> str:
        return f"{line.total:.2f}"

    @admin.display(description=_("registered"), ordering="event__registered_at")
    def registered_at(self, line: ProductLine) -> object:
        return line.event.registered_at


@admin.register(Meeting)
class MeetingAdmin(ReadOnlyAdmin):
    list_display = (
        "starts_at",
        "duration_minutes",
        "customer",
        "campaign",
        "place",
        "with_whom",
        "booked_by",
        "deleted_at",
    )
    list_filter = ("campaign", ("deleted_at", admin.EmptyFieldListFilter))
    list_select_related = ("customer", "campaign", "booked_by")
    search_fields = (*CUSTOMER_SEARCH, "place", "with_whom")
    date_hierarchy = "starts_at"


@admin.register(CorrectionRequest)
class CorrectionRequestAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "event",
        "customer",
        "to_user",
        "status",
        "sent_by",
        "as_original",
    )
    list_filter = ("status", "as_original")
    list_select_related = ("event__customer", "to_user", "actor_user")
    search_fields = (
        "event__customer__customer_id",
        "event__customer__name",
        "reason",
    )
    date_hierarchy = "created_at"

    @admin.display(description=_("customer"), ordering="event__customer__name")
    def customer(self, correction: CorrectionRequest) -> object:
        return correction.event.customer

    @admin.display(description=_("sent by"), ordering="actor_user")
    def sent_by(self, correction: CorrectionRequest) -> str:
        return correction.actor_display
