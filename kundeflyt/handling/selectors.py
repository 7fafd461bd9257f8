"""Reads of customers in their campaigns, always given the user so visibility holds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, users_with_perm
from kundeflyt.campaigns.models import (
    Campaign,
    CampaignLink,
    ExtraField,
    OutcomeOption,
    Product,
    Segment,
)
from kundeflyt.campaigns.selectors import (
    campaigns_open_to,
    campaigns_visible_to,
    data_owners_visible_to,
)
from kundeflyt.common.actors import Process
from kundeflyt.common.errors import NotFound
from kundeflyt.common.models import AuditEntry
from kundeflyt.common.phones import display_phone, phone_search_variants
from kundeflyt.crm.models import Customer, FieldDefinition
from kundeflyt.flows.models import Outcome, State
from kundeflyt.handling.models import CorrectionRequest, Event, Meeting, Placement, ProductLine
from kundeflyt.integrations.lookups import lookup_links


def customers_visible_to(actor: User | Process) -> QuerySet[Customer]:
    """Customers in campaigns the actor may see; customers in no campaign are seen by those
    granted their data owner."""
    return Customer.objects.filter(
        Q(placement__campaign__in=campaigns_visible_to(actor))
        | Q(placement__isnull=True, crm__data_owner__in=data_owners_visible_to(actor))
    )


def check_may_see_customer(actor: User | Process, customer: Customer) -> None:
    """Refuse as if the customer did not exist, so that URLs reveal nothing."""
    if not customers_visible_to(actor).filter(pk=customer.pk).exists():
        raise NotFound(_("No such customer."), field="customer")


def current_selection(user: User) -> Placement | None:
    """The user's current customer, if their lease has not lapsed."""
    return (
        Placement.objects.select_related("customer", "campaign", "segment", "state")
        .filter(holder=user, lease_expires_at__gt=timezone.now())
        .first()
    )


# --- My work --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignWork:
    campaign: Campaign
    segments: list[Segment]
    waiting: int


@dataclass(frozen=True)
class MyWork:
    day: dt.date
    follow_ups: list[Placement]
    overdue: int
    meetings: list[Meeting]
    corrections: list[CorrectionRequest]
    campaigns: list[CampaignWork]
    results: dict[str, int]


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def my_follow_ups(
    user: User, *, until: dt.datetime | None = None, since: dt.datetime | None = None
) -> QuerySet[Placement]:
    """Personal follow-ups of the user in campaigns they may still see."""
    placements = Placement.objects.filter(
        follow_up_user=user, campaign__in=campaigns_visible_to(user), is_final=False
    )
    if until is not None:
        placements = placements.filter(follow_up_at__lt=until)
    if since is not None:
        placements = placements.filter(follow_up_at__gte=since)
    return placements.select_related("customer", "campaign", "segment", "state").order_by(
        "follow_up_at", "pk"
    )


def my_work(user: User, *, day: dt.date | None = None) -> MyWork:
    """Everything on the user's My work page, for ``day`` (today by default: with overdue)."""
    today = timezone.localdate()
    day = day or today
    start, end = _day_bounds(day)
    now = timezone.now()
    if day == today:
        follow_ups = list(my_follow_ups(user, until=end))
    else:
        follow_ups = list(my_follow_ups(user, since=start, until=end))
    overdue = sum(1 for p in follow_ups if p.follow_up_at and p.follow_up_at < now)
    meetings = list(
        Meeting.objects.filter(
            booked_by=user, deleted_at__isnull=True, starts_at__gte=start, starts_at__lt=end
        )
        .select_related("customer", "campaign")
        .order_by("starts_at")
    )
    corrections = list(
        CorrectionRequest.objects.filter(to_user=user, status=CorrectionRequest.Status.OPEN)
        .select_related("event__customer", "event__outcome", "event__campaign", "actor_user")
        .order_by("created_at")
    )
    open_campaigns = list(
        campaigns_open_to(user)
        .select_related("crm__data_owner")
        .prefetch_related("segments")
        .annotate(
            waiting=Count(
                "placements",
                filter=Q(placements__is_final=False, placements__holder__isnull=True)
                & (Q(placements__follow_up_at__isnull=True) | Q(placements__follow_up_at__lte=now)),
            )
        )
        .order_by("name")
    )
    today_start, today_end = _day_bounds(today)
    # Counted as the reports count them (rule 6): for whom and when it counts, if it counts.
    mine_today = Event.objects.filter(
        counts_for_user=user,
        counts_at__gte=today_start,
        counts_at__lt=today_end,
        included_in_reports=True,
        is_corrected=False,
    ).aggregate(
        outcomes=Count("pk"),
        progressive=Count("pk", filter=~Q(outcome__to_state__isnull=True)),
        sales=Count("pk", filter=Q(outcome__products="sold")),
    )
    return MyWork(
        day=day,
        follow_ups=follow_ups,
        overdue=overdue,
        meetings=meetings,
        corrections=corrections,
        campaigns=[CampaignWork(c, list(c.segments.all()), c.waiting) for c in open_campaigns],
        results={k: v or 0 for k, v in mine_today.items()},
    )


# --- The customer screen --------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeChoice:
    outcome: Outcome
    number: int
    options: list[OutcomeOption]
    extra_fields: list[ExtraField]

    @property
    def default_follow_up(self) -> str:
        """The suggested follow-up time, as a ``datetime-local`` value in the user's zone."""
        minutes = self.outcome.follow_up_default_minutes
        if not minutes or self.outcome.follow_up == "none":
            return ""
        when = timezone.localtime() + dt.timedelta(minutes=minutes)
        return when.strftime("%Y-%m-%dT%H:%M")


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
    side_panel: list[Placement]


HISTORY_SHOWN = 50


def customer_events(customer_id: int, *, limit: int | None = HISTORY_SHOWN) -> list[Event]:
    """The customer's history across campaigns, newest first, in a fixed number of queries."""
    events = (
        Event.objects.filter(customer_id=customer_id)
        .select_related(
            "outcome",
            "option",
            "from_state",
            "to_state",
            "campaign",
            "segment",
            "actor_user",
            "counts_for_user",
            "corrected_by",
        )
        .prefetch_related("product_lines__product")
        .order_by("-registered_at", "-pk")
    )
    return list(events[:limit] if limit else events)


def card_fields(customer: Customer, definitions: list[FieldDefinition]) -> list[CardField]:
    """The customer card: standard fields, then the CRM's own, with lookup links."""
    standard = [
        CardField(
            "name",
            str(_("Name")),
            "text",
            customer.name,
            customer.name,
            lookup_links(["proff", "google"], customer.name)
            if customer.crm.kind == "b2b"
            else lookup_links(["gulesider"], customer.name),
        ),
        CardField(
            "customer_id",
            str(_("Customer id")),
            "text",
            customer.customer_id,
            customer.customer_id,
            [],
            required=True,
        ),
    ]
    for n in (1, 2, 3):
        value = getattr(customer, f"phone{n}")
        if n == 1 or value:
            label = _("Phone") if n == 1 else _("Phone %(n)s") % {"n": n}
            standard.append(
                CardField(f"phone{n}", str(label), "phone", value, display_phone(value), [])
            )
    standard.append(
        CardField("email", str(_("E-mail")), "email", customer.email, customer.email, [])
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


def offered_outcomes(
    placement: Placement, correction: CorrectionRequest | None
) -> list[OutcomeChoice]:
    """What the flow offers from the current state (or what a correction allows)."""
    outcomes = Outcome.objects.filter(flow=placement.campaign.flow_id).select_related("to_state")
    if correction is not None:
        outcomes = outcomes.filter(pk__in=correction.allowed_outcomes.values("pk"))
    else:
        outcomes = outcomes.filter(from_states=placement.state_id)
    outcomes_list = list(outcomes.order_by("position", "pk"))
    options: dict[int, list[OutcomeOption]] = {}
    for option in OutcomeOption.objects.filter(campaign=placement.campaign_id):
        options.setdefault(option.outcome_id, []).append(option)
    fields: dict[int, list[ExtraField]] = {}
    for extra in ExtraField.objects.filter(
        campaign=placement.campaign_id, applies_to=ExtraField.AppliesTo.OUTCOME
    ):
        if extra.outcome_id:
            fields.setdefault(extra.outcome_id, []).append(extra)
    # Attempts first, then progressive outcomes: number keys follow that order.
    ordered = [o for o in outcomes_list if not o.is_progressive] + [
        o for o in outcomes_list if o.is_progressive
    ]
    return [
        OutcomeChoice(o, n, options.get(o.pk, []), fields.get(o.pk, []))
        for n, o in enumerate(ordered, start=1)
    ]


def outcome_panel(user: User, placement: Placement) -> OutcomePanel:
    """The outcomes the user may register on the customer now, and what they ask for."""
    correction = placement.correction if placement.correction_id else None
    if correction is not None and correction.to_user_id != user.pk:
        correction = None
    return OutcomePanel(
        campaign=placement.campaign,
        outcomes=offered_outcomes(placement, correction),
        product_catalogue=list(Product.objects.filter(campaign=placement.campaign_id, active=True)),
        colleagues=list(campaign_workers(placement.campaign)),
        correction=correction,
    )


def customer_screen(user: User, placement: Placement) -> CustomerScreen:
    """All the customer screen shows, in a number of queries that does not grow with history."""
    customer = placement.customer
    campaign = placement.campaign
    now = timezone.now()
    return CustomerScreen(
        placement=placement,
        customer=customer,
        campaign=campaign,
        events=customer_events(customer.pk),
        event_count=Event.objects.filter(customer_id=customer.pk).count(),
        products=list(
            ProductLine.objects.filter(customer_id=customer.pk)
            .select_related("product", "event")
            .order_by("-event__registered_at", "pk")
        ),
        meetings=list(
            Meeting.objects.filter(customer_id=customer.pk, deleted_at__isnull=True)
            .select_related("booked_by")
            .order_by("-starts_at")
        ),
        card=card_fields(customer, list(customer.crm.fields.all())),
        panel=outcome_panel(user, placement),
        links=list(campaign.links.all()),
        side_panel=list(my_follow_ups(user, until=now + dt.timedelta(days=7))[:25]),
    )


def campaign_workers(campaign: Campaign) -> QuerySet[User]:
    """Users who may be responsible for a follow-up in the campaign (see rule 3)."""
    owner = campaign.crm.data_owner
    granted = Q(pk__in=owner.users.values("pk")) | Q(team__in=owner.teams.values("pk"))
    members = Q()
    if not campaign.visible_to_all:
        members = Q(pk__in=campaign.users.values("pk")) | Q(team__in=campaign.teams.values("pk"))
    return (
        users_with_perm(Perm.CUSTOMER_HANDLING)
        .filter(granted, members)
        .order_by("first_name", "last_name", "pk")
    )


def customers_matching(actor: User | Process, query: str) -> QuerySet[Customer]:
    """Visible customers matching ``query`` by phone (any format), customer id, name, e-mail,
    campaign or data owner, best matches first: exact id or phone, then names that start with
    the words, then partial matches."""
    query = query.strip()
    exact = Q(customer_id__iexact=query) | Q(email__iexact=query)
    phone = phone_search_variants(query)
    if phone:
        exact |= Q(phone1=phone) | Q(phone2=phone) | Q(phone3=phone)
    match = (
        exact
        | Q(name__icontains=query)
        | Q(customer_id__icontains=query)
        | Q(placement__campaign__name__icontains=query)
        | Q(crm__data_owner__name__icontains=query)
    )
    rank = Case(
        When(exact, then=Value(0)),
        When(name__istartswith=query, then=Value(1)),
        When(name__icontains=query, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return (
        customers_visible_to(actor).filter(match).annotate(rank=rank).order_by("rank", "name", "pk")
    )


# --- Customer details (D1–D16) --------------------------------------------------------------


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
    "name": _lazy("Name"),
    "customer_id": _lazy("Customer id"),
    "email": _lazy("E-mail"),
    "phone1": _lazy("Phone"),
    "phone2": _lazy("Phone 2"),
    "phone3": _lazy("Phone 3"),
    "fields": _lazy("Information fields"),
    "language": _lazy("Language"),
}
AUDIT_REFERENCES = {
    "campaign": Campaign,
    "segment": Segment,
    "state": State,
    "holder": User,
    "follow_up_user": User,
    "to_user": User,
    "counts_for_user": User,
}


def audit_rows(entries: list[AuditEntry]) -> list[AuditRow]:
    """The audit trail in words: ids become names (one query per kind of reference)."""
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
        if isinstance(value, dict):
            return ", ".join(f"{k}: {v}" for k, v in value.items() if v not in (None, "", []))
        return str(value)

    rows = []
    for entry in entries:
        before, after = entry.before or {}, entry.after or {}
        changes = []
        for key in dict.fromkeys([*before, *after]):
            if key not in AUDIT_LABELS or (before.get(key) == after.get(key) and key in before):
                continue
            changes.append(
                (
                    str(AUDIT_LABELS[key]),
                    shown(key, before.get(key)) if key in before else "",
                    shown(key, after.get(key)) if key in after else "",
                )
            )
        rows.append(AuditRow(entry, changes))
    return rows


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
    now = timezone.now()
    holder = (
        placement.holder
        if placement and placement.lease_expires_at and placement.lease_expires_at > now
        else None
    )
    campaign = placement.campaign if placement else None
    events = customer_events(customer.pk, limit=None if all_events else DETAILS_EVENTS_SHOWN)
    pending = {
        c.event_id: c
        for c in CorrectionRequest.objects.filter(
            event__customer_id=customer.pk, status=CorrectionRequest.Status.OPEN
        ).select_related("to_user")
    }
    return CustomerDetails(
        customer=customer,
        placement=placement,
        holder=holder,
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
            )
        ),
        card=card_fields(customer, list(customer.crm.fields.all())),
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


def selected_customers(user: User) -> QuerySet[Placement]:
    """Who holds which customer right now, in the campaigns the user may see."""
    return (
        Placement.objects.filter(
            holder__isnull=False,
            lease_expires_at__gt=timezone.now(),
            campaign__in=campaigns_visible_to(user),
        )
        .select_related("customer", "campaign", "segment", "state", "holder")
        .order_by("selected_at")
    )
