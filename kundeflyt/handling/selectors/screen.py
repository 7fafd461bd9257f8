"""What the customer screen shows (S1–S12), in a number of queries that does not grow with the
customer's history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Window
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.campaigns.calling_hours import (
    calling_hours,
    follows_consumer_rules,
    retry_time,
    suggested_follow_up,
)
from kundeflyt.campaigns.config import campaign_config
from kundeflyt.campaigns.models import Campaign, CampaignLink, ExtraField, OutcomeOption, Product
from kundeflyt.common.phones import display_phone
from kundeflyt.crm.models import Customer, FieldDefinition
from kundeflyt.flows.models import FollowUpRule, Outcome
from kundeflyt.handling.models import CorrectionRequest, Event, Meeting, Placement, ProductLine
from kundeflyt.handling.selectors.names import EVENT_NAMES, Names, names
from kundeflyt.handling.selectors.work import SidePanel, side_panel
from kundeflyt.handling.transitions import needs_follow_up
from kundeflyt.integrations.lookups import lookup_links

HISTORY_SHOWN = 50


@dataclass(frozen=True)
class OutcomeChoice:
    outcome: Outcome
    number: int
    options: list[OutcomeOption]
    extra_fields: list[ExtraField]
    # The follow-up suggested when the outcome is picked, and where an attempt moves the
    # customer's current follow-up to (rule 10), both as ``datetime-local`` values.
    default_follow_up: str = ""
    moves_follow_up_to: dt.datetime | None = None


@dataclass(frozen=True)
class CardField:
    key: str
    label: str
    type: str
    value: Any
    display: str
    lookups: list[tuple[str, str]]
    required: bool = False
    choices: list[str] | None = None


@dataclass(frozen=True)
class OutcomePanel:
    """What registering an outcome offers: asked for by the screen and by each outcome pick."""

    campaign: Campaign
    outcomes: list[OutcomeChoice]
    product_catalogue: list[Product]
    colleagues: list[User]
    correction: CorrectionRequest | None
    # Rule 11: the daily window a follow-up must fall in ("09:00–21:00"), where the law binds.
    follow_up_hours: str | None = None


@dataclass(frozen=True)
class CustomerScreen:
    placement: Placement
    customer: Customer
    campaign: Campaign
    events: list[Event]
    event_count: int
    products: list[ProductLine]
    meetings: list[Meeting]
    card: list[CardField]
    panel: OutcomePanel
    links: list[CampaignLink]
    side_panel: SidePanel


def customer_events(customer_id: int, *, limit: int | None = HISTORY_SHOWN) -> list[Event]:
    """The customer's history across campaigns, newest first, in a fixed number of queries."""
    events = (
        Event.objects.filter(customer_id=customer_id)
        .select_related(*EVENT_NAMES, "corrected_by")
        .prefetch_related("product_lines__product")
        .order_by("-registered_at", "-pk")
    )
    return list(events[:limit] if limit else events)


def standard_field_label(key: str) -> str:
    """The label of a standard customer field, in the reader's language."""
    labels = {
        "name": _("Name"),
        "customer_id": _("Customer id"),
        "phone1": _("Phone"),
        "email": _("E-mail"),
    }
    if key in ("phone2", "phone3"):
        return _("Phone %(n)s") % {"n": key[-1]}
    return str(labels.get(key, key))


def card_fields(customer: Customer, definitions: list[FieldDefinition]) -> list[CardField]:
    """The customer card: standard fields, then the CRM's own, with lookup links."""
    standard = [
        CardField(
            "name",
            standard_field_label("name"),
            "text",
            customer.name,
            customer.name,
            lookup_links(["proff", "google"], customer.name)
            if customer.crm.kind == "b2b"
            else lookup_links(["gulesider"], customer.name),
        ),
        CardField(
            "customer_id",
            standard_field_label("customer_id"),
            "text",
            customer.customer_id,
            customer.customer_id,
            [],
            required=True,
        ),
    ]
    for n in (1, 2, 3):
        key = f"phone{n}"
        value = getattr(customer, key)
        if n == 1 or value:
            standard.append(
                CardField(key, standard_field_label(key), "phone", value, display_phone(value), [])
            )
    standard.append(
        CardField(
            "email", standard_field_label("email"), "email", customer.email, customer.email, []
        )
    )
    own = [
        CardField(
            d.key,
            d.label,
            d.type,
            customer.fields.get(d.key),
            display_value(d.type, customer.fields.get(d.key)),
            lookup_links(d.lookups, customer.fields.get(d.key)),
            d.required,
            d.choices,
        )
        for d in definitions
    ]
    return standard + own


def display_value(field_type: str, value: Any) -> str:
    if value in (None, "", []):
        return ""
    if field_type == "checkbox":
        return str(_("Yes") if value else _("No"))
    if field_type == "date":
        try:
            return dt.date.fromisoformat(value).strftime("%d.%m.%Y")
        except (TypeError, ValueError):
            return str(value)
    if field_type == "phone":
        return display_phone(value)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _local_input(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def offered_outcomes(
    user: User, placement: Placement, correction: CorrectionRequest | None
) -> list[OutcomeChoice]:
    """What the flow offers from the current state (or what a correction allows), with the
    follow-up each suggests inside the campaign's calling hours."""
    campaign = placement.campaign
    config = campaign_config(campaign, user)
    if correction is not None:
        allowed = set(correction.allowed_outcomes.values_list("pk", flat=True))
        outcomes_list = [o for o in config.outcomes if o.pk in allowed]
    else:
        outcomes_list = config.outcomes_from(placement.state_id)
    options, fields = config.options, config.outcome_fields
    now = timezone.now()
    keeps_follow_up = placement.follow_up_at is not None or needs_follow_up(placement.state)
    retry = retry_time(campaign, now) if keeps_follow_up and correction is None else None

    def choice(outcome: Outcome, number: int) -> OutcomeChoice:
        minutes = outcome.follow_up_default_minutes
        suggested = ""
        if minutes and outcome.follow_up != FollowUpRule.NONE:
            suggested = _local_input(suggested_follow_up(campaign, now, minutes))
        # An attempt that sets no follow-up of its own moves the customer's (rule 10).
        attempt = not outcome.is_progressive and outcome.follow_up != FollowUpRule.REQUIRED
        return OutcomeChoice(
            outcome,
            number,
            list(options.get(outcome.pk, ())),
            list(fields.get(outcome.pk, ())),
            suggested,
            retry if attempt else None,
        )

    # Attempts first, then progressive outcomes: number keys follow that order.
    ordered = [o for o in outcomes_list if not o.is_progressive] + [
        o for o in outcomes_list if o.is_progressive
    ]
    return [choice(o, n) for n, o in enumerate(ordered, start=1)]


def outcome_panel(user: User, placement: Placement) -> OutcomePanel:
    """The outcomes the user may register on the customer now, and what they ask for."""
    correction = placement.correction if placement.correction_id else None
    if correction is not None and correction.to_user_id != user.pk:
        correction = None
    config = campaign_config(placement.campaign, user)
    return OutcomePanel(
        campaign=placement.campaign,
        outcomes=offered_outcomes(user, placement, correction),
        product_catalogue=list(config.products),
        colleagues=list(config.workers),
        correction=correction,
        follow_up_hours=_follow_up_hours(placement.campaign),
    )


def _follow_up_hours(campaign: Campaign) -> str | None:
    if not follows_consumer_rules(campaign):
        return None
    start, end = calling_hours(campaign)
    return f"{start:%H:%M}–{end:%H:%M}"


def customer_screen(user: User, placement: Placement) -> CustomerScreen:
    """All the customer screen shows, in a number of queries that does not grow with history."""
    customer = placement.customer
    campaign = placement.campaign
    config = campaign_config(campaign, user)
    products = list(
        ProductLine.objects.filter(customer_id=customer.pk)
        .select_related("product", "event")
        .order_by("-event__registered_at", "pk")
    )
    directory = names(user)
    events, event_count = _latest_events(directory, customer.pk, products)
    directory.attach(placement, "follow_up_user", "set_by_user")
    return CustomerScreen(
        placement=placement,
        customer=customer,
        campaign=campaign,
        events=events,
        event_count=event_count,
        products=products,
        meetings=list(
            Meeting.objects.filter(customer_id=customer.pk, deleted_at__isnull=True)
            .select_related("booked_by")
            .order_by("-starts_at")
        ),
        card=card_fields(customer, list(config.card_fields)),
        panel=outcome_panel(user, placement),
        links=list(config.links),
        side_panel=side_panel(user),
    )


def _latest_events(
    directory: Names, customer_id: int, lines: list[ProductLine]
) -> tuple[list[Event], int]:
    """The latest registrations with how many there are, in one query that joins nothing:
    names come from the configuration cache and each event's ``lines`` from ``lines``."""
    events = list(
        Event.objects.filter(customer_id=customer_id)
        .annotate(total=Window(Count("pk")))
        .order_by("-registered_at", "-pk")[:HISTORY_SHOWN]
    )
    by_event: dict[int, list[ProductLine]] = {}
    for line in lines:
        by_event.setdefault(line.event_id, []).append(line)
    for event in events:
        directory.attach(event)
        event.lines = by_event.get(event.pk, [])  # type: ignore[attr-defined]
    total: int = events[0].total if events else 0
    return list(events), total
