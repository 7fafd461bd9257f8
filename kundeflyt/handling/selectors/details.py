"""Customer details (D1–D16): everything about one customer, without taking it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from kundeflyt.accounts.models import User
from kundeflyt.accounts.visibility import campaigns_visible_to, customers_visible_to
from kundeflyt.campaigns.config import campaign_workers
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.errors import NotFound
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import Customer, FieldDefinition
from kundeflyt.flows.models import Outcome, State
from kundeflyt.handling.models import CorrectionRequest, Event, Meeting, Placement, ProductLine
from kundeflyt.handling.selectors.screen import (
    CardField,
    card_fields,
    customer_events,
    display_value,
    standard_field_label,
)

# --- Presence (D2) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Presence:
    placement: Placement | None
    holder: User | None


def customer_presence(user: User, customer_id: int) -> Presence:
    """Who has the customer open in the customer screen right now: polled every few seconds by
    each open customer details page, so it costs one query (visibility included)."""
    visible = customers_visible_to(user).filter(pk=customer_id)
    placement = (
        Placement.objects.select_related("holder")
        .filter(pk=customer_id, customer__in=visible)
        .first()
    )
    if placement is None:
        if not visible.exists():
            raise NotFound(_("No such customer."), field="customer")
        return Presence(None, None)
    return Presence(placement, _live_holder(placement))


def _live_holder(placement: Placement) -> User | None:
    lease = placement.lease_expires_at
    return placement.holder if lease and lease > timezone.now() else None


# --- The audit trail --------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    changes: list[tuple[str, str, str]]  # (what, before, after)


AUDIT_LABELS = {
    "campaign": _lazy("Campaign"),
    "segment": _lazy("Segment"),
    "state": _lazy("State"),
    "holder": _lazy("Held by"),
    "follow_up_at": _lazy("Follow-up"),
    "follow_up_user": _lazy("Responsible"),
    "to_user": _lazy("To user"),
    "reason": _lazy("Reason"),
    "counts_for_user": _lazy("Counts for user"),
    "counts_at": _lazy("Counts at"),
    "included_in_reports": _lazy("Included in reports"),
    "language": _lazy("Language"),
}
STANDARD_FIELDS = ("name", "customer_id", "email", "phone1", "phone2", "phone3")
AUDIT_REFERENCES = {
    "campaign": Campaign,
    "segment": Segment,
    "state": State,
    "holder": User,
    "follow_up_user": User,
    "to_user": User,
    "counts_for_user": User,
}


def audit_rows(entries: list[AuditEntry], definitions: list[FieldDefinition]) -> list[AuditRow]:
    """The audit trail in words: ids become names (one query per kind of reference), and the
    CRM's information fields show with their labels and values as the card shows them."""
    wanted: dict[type[Any], set[int]] = {}
    for entry in entries:
        for side in (entry.before or {}, entry.after or {}):
            for key, value in side.items():
                if key in AUDIT_REFERENCES and isinstance(value, int):
                    wanted.setdefault(AUDIT_REFERENCES[key], set()).add(value)
    names = {
        model: {obj.pk: str(obj) for obj in model.objects.filter(pk__in=ids)}
        for model, ids in wanted.items()
    }
    by_key = {d.key: d for d in definitions}

    def shown(key: str, value: Any) -> str:
        if value is None or value == "":
            return "–"
        if key in AUDIT_REFERENCES and isinstance(value, int):
            return names.get(AUDIT_REFERENCES[key], {}).get(value, f"#{value}")
        if isinstance(value, bool):
            return str(_("Yes") if value else _("No"))
        if isinstance(value, str) and key.endswith("_at"):
            try:
                return timezone.localtime(dt.datetime.fromisoformat(value)).strftime(
                    "%d.%m.%Y %H:%M"
                )
            except ValueError:
                return value
        if key.startswith("phone"):
            return display_value("phone", value)
        return str(value)

    def field_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[Any]:
        rows = []
        for key in dict.fromkeys([*(before or {}), *after]):
            old, new = (before or {}).get(key), after.get(key)
            if old == new or (before is None and new in (None, "", [])):
                continue
            definition = by_key.get(key)
            kind = definition.type if definition else "text"
            rows.append(
                (
                    definition.label if definition else key,
                    (display_value(kind, old) or "–") if before is not None else "",
                    display_value(kind, new) or "–",
                )
            )
        return rows

    rows = []
    for entry in entries:
        before, after = entry.before or {}, entry.after or {}
        changes = []
        for key in dict.fromkeys([*before, *after]):
            if key == "fields":
                changes += field_changes(
                    before.get("fields") if "fields" in before else None, after.get("fields") or {}
                )
                continue
            if key in STANDARD_FIELDS:
                label = standard_field_label(key)
            elif key in AUDIT_LABELS:
                label = str(AUDIT_LABELS[key])
            else:
                continue
            if key in before and before.get(key) == after.get(key):
                continue
            if key not in before and after.get(key) in (None, ""):
                continue
            changes.append(
                (
                    label,
                    shown(key, before.get(key)) if key in before else "",
                    shown(key, after.get(key)) if key in after else "",
                )
            )
        rows.append(AuditRow(entry, changes))
    return rows


# --- Customer details -------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerDetails:
    customer: Customer
    placement: Placement | None
    holder: User | None
    events: list[Event]
    event_count: int
    pending: dict[int, CorrectionRequest]
    products: list[ProductLine]
    meetings: list[Meeting]
    audit_entries: list[AuditRow]
    card: list[CardField]
    move_campaigns: list[Campaign]
    segments: list[Segment]
    colleagues: list[User]
    flow_outcomes: list[Outcome]


DETAILS_EVENTS_SHOWN = 200


def customer_details(user: User, customer_id: int, *, all_events: bool = False) -> CustomerDetails:
    """Everything customer details show, for a customer the user may see; a fixed number of
    queries whatever the length of the history."""
    customer = (
        customers_visible_to(user).select_related("crm__data_owner").filter(pk=customer_id).first()
    )
    if customer is None:
        raise NotFound(_("No such customer."), field="customer")
    placement = (
        Placement.objects.select_related(
            "campaign__crm__data_owner",
            "campaign__flow",
            "segment",
            "state",
            "set_by_user",
            "follow_up_user",
            "holder",
            "correction__to_user",
        )
        .filter(pk=customer_id)
        .first()
    )
    campaign = placement.campaign if placement else None
    events = customer_events(customer.pk, limit=None if all_events else DETAILS_EVENTS_SHOWN)
    pending = {
        c.event_id: c
        for c in CorrectionRequest.objects.filter(
            event__customer_id=customer.pk, status=CorrectionRequest.Status.OPEN
        ).select_related("to_user")
    }
    definitions = list(customer.crm.fields.all())
    return CustomerDetails(
        customer=customer,
        placement=placement,
        holder=_live_holder(placement) if placement else None,
        events=events,
        event_count=Event.objects.filter(customer_id=customer.pk).count(),
        pending=pending,
        products=list(
            ProductLine.objects.filter(customer_id=customer.pk)
            .select_related("product", "event__actor_user", "campaign")
            .order_by("-event__registered_at", "pk")
        ),
        meetings=list(
            Meeting.objects.filter(customer_id=customer.pk, deleted_at__isnull=True)
            .select_related("booked_by", "campaign")
            .order_by("-starts_at")
        ),
        audit_entries=audit_rows(
            list(
                AuditEntry.objects.filter(customer_id=customer.pk)
                .select_related("actor_user")
                .order_by("-at", "-pk")[:100]
            ),
            definitions,
        ),
        card=card_fields(customer, definitions),
        move_campaigns=list(
            campaigns_visible_to(user)
            .filter(crm=customer.crm_id)
            .exclude(pk__in=[campaign.pk] if campaign else [])
            .order_by("name")
        ),
        segments=list(campaign.segments.all()) if campaign else [],
        colleagues=list(campaign_workers(campaign)) if campaign else [],
        flow_outcomes=list(Outcome.objects.filter(flow=campaign.flow_id).order_by("position"))
        if campaign
        else [],
    )
