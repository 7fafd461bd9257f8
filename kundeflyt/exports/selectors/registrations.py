"""The registration export: one row per registered outcome in a period, with who, when,
where, what, the extra fields, products, meeting, correction links and report facts.

Product lines are joined into one cell of the registration's row ("2 × Fastpris @ 49,90"),
beside the total quantity and value as numbers, so that a CSV file stays one row per
registration and can be summed as it is. An XLSX file adds a second sheet with one row per
product line (product, code, offered or sold, quantity, unit price, total and the product
lines' extra fields), for a reader who pivots on products.

Each row also tells the calls made before the registration (how each went, the talk time, and
the links to their recordings); an XLSX file adds a third sheet with the period's calls and
SMS, one row each.

The columns follow the reader's permissions as the reports do: *reporting* to export at all;
without *individual results* people are named by their team; without *revenue* no price or
value is shown.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import formats
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.campaigns.models import ExtraField, OutcomeOption, Product, Segment
from kundeflyt.exports.selectors.common import (
    CHUNK,
    Listing,
    People,
    Rows,
    batched,
    field_cell,
    local,
    oslo,
    unique_labels,
)
from kundeflyt.flows.models import Outcome, State
from kundeflyt.handling.models import Event, Meeting, ProductLine
from kundeflyt.reports.exports import Sheet
from kundeflyt.reports.selectors import UNSEGMENTED, Column, ReportFilter, Scope, report_scope
from kundeflyt.telephony.models import Call, Sms

REGISTERED = "registered"  # the period and user are when and by whom it was registered
REPORTS = "reports"  # …or as the reports count: counts at, counts for, only what counts
BASES = (REGISTERED, REPORTS)
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(9000, 1, 1)

EVENT_VALUES = (
    "pk",
    "registered_at",
    "actor_user_id",
    "actor_process",
    "counts_for_user_id",
    "campaign_id",
    "segment_id",
    "customer__customer_id",
    "customer__name",
    "from_state_id",
    "to_state_id",
    "outcome_id",
    "option_id",
    "comment",
    "extra_values",
    "follow_up_at",
    "follow_up_user_id",
    "corrects_id",
    "corrected_by",
    "included_in_reports",
    "counts_at",
    "is_corrected",
)


@dataclass(frozen=True)
class RegistrationFilter:
    period: ReportFilter
    basis: str = REGISTERED
    # Registered since, or corrected since (the correction marks it corrected): a sync's mark.
    changed_since: dt.datetime | None = None


def registrations_matching(
    actor: User, filters: RegistrationFilter, scope: Scope | None = None
) -> QuerySet[Event]:
    """The registrations in campaigns the actor may see that match the period and filters
    (``scope``: the actor's report scope of the period, when the caller has it already)."""
    scope = scope or report_scope(actor, filters.period)
    f = filters.period
    events = Event.objects.filter(campaign_id__in=list(scope.campaigns))
    if filters.basis == REPORTS:
        events = events.filter(included_in_reports=True, is_corrected=False)
        moment, who = "counts_at", "counts_for_user_id"
    else:
        moment, who = "registered_at", "actor_user_id"
    # From the first day's midnight to the midnight after the last, in Oslo; a day at the
    # edge of the calendar (year 1, year 9999) sets no bound rather than overflow.
    if f.first > FIRST_DAY:
        events = events.filter(**{f"{moment}__gte": _midnight(f.first)})
    if f.last < LAST_DAY:
        events = events.filter(**{f"{moment}__lt": _midnight(f.last + dt.timedelta(days=1))})
    if scope.user_keys is not None:
        events = events.filter(**{f"{who}__in": scope.user_keys})
    if f.segment == UNSEGMENTED:
        events = events.filter(segment__isnull=True)
    elif f.segment is not None:
        events = events.filter(segment_id=f.segment)
    if f.outcome is not None:
        events = events.filter(outcome_id=f.outcome)
    if filters.changed_since is not None:
        since = filters.changed_since
        events = events.filter(
            Q(registered_at__gte=since) | Q(corrected_by__registered_at__gte=since)
        )
    return events


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=oslo())


def registrations_export(actor: User, filters: RegistrationFilter) -> Listing:
    require(actor, Perm.REPORTING)
    scope = report_scope(actor, filters.period)
    events = registrations_matching(actor, filters, scope)
    campaign_ids = list(scope.campaigns)
    outcome_fields = _extra_fields(campaign_ids, ExtraField.AppliesTo.OUTCOME)
    product_fields = _extra_fields(campaign_ids, ExtraField.AppliesTo.PRODUCT)
    revenue, individual = scope.revenue, scope.individual

    who = _("Registered by") if individual else _("Team (registered by)")
    counts_for = _("Counts for") if individual else _("Team (counts for)")
    responsible = _("Follow-up responsible") if individual else _("Team (follow-up)")
    head: list[tuple[str, str]] = [
        (_("Registration"), "int"),
        (_("Registered"), "datetime"),
        (who, "text"),
        (counts_for, "text"),
        (_("Campaign"), "text"),
        (_("Segment"), "text"),
        (_("Customer id"), "text"),
        (_("Customer"), "text"),
        (_("State before"), "text"),
        (_("State after"), "text"),
        (_("Outcome"), "text"),
        (_("Outcome option"), "text"),
        (_("Comment"), "text"),
        *[(label, "text") for label, _types in outcome_fields.values()],
        (_("Follow-up"), "datetime"),
        (responsible, "text"),
        (_("Products"), "text"),
        (_("Quantity"), "int"),
    ]
    if revenue:
        head += [(_("Value"), "money"), (_("Currency"), "text")]
    head += [
        (_("Meeting"), "datetime"),
        (_("Meeting place"), "text"),
        (_("Meeting with"), "text"),
        (_("Calls"), "text"),
        (_("Talk time (seconds)"), "int"),
        (_("Call recordings"), "text"),
        (_("Corrects registration"), "int"),
        (_("Corrected by registration"), "int"),
        (_("Included in reports"), "text"),
        (_("Counts at"), "datetime"),
        (_("Counts in reports"), "text"),
    ]
    lines_head: list[tuple[str, str]] = [
        (_("Registration"), "int"),
        (_("Registered"), "datetime"),
        (_("Campaign"), "text"),
        (_("Customer id"), "text"),
        (_("Product"), "text"),
        (_("Product code"), "text"),
        (_("Status"), "text"),
        (_("Quantity"), "int"),
    ]
    if revenue:
        lines_head += [(_("Unit price"), "money"), (_("Total"), "money"), (_("Currency"), "text")]
    lines_head += [(label, "text") for label, _types in product_fields.values()]
    contact_head: list[tuple[str, str]] = [
        (_("When"), "datetime"),
        (_("Kind"), "text"),
        (_("Direction"), "text"),
        (_("Campaign"), "text"),
        (_("Customer id"), "text"),
        (_("Customer"), "text"),
        (_("User") if individual else _("Team"), "text"),
        (_("Number"), "text"),
        (_("Status"), "text"),
        (_("Talk time (seconds)"), "int"),
        (_("Text"), "text"),
        (_("Recording"), "text"),
        (_("Registration"), "int"),
    ]
    sheets = [
        Sheet(_("Registrations"), _columns(head)),
        Sheet(_("Product lines"), _columns(lines_head)),
        Sheet(_("Calls and SMS"), _columns(contact_head)),
    ]
    f = filters.period

    def rows(all_sheets: bool) -> Rows:
        campaigns = {pk: c.name for pk, c in scope.campaigns.items()}
        currencies = {pk: c.currency for pk, c in scope.campaigns.items()}
        flows = {c.flow_id for c in scope.campaigns.values()}
        segments = dict(Segment.objects.filter(campaign__in=campaign_ids).values_list("pk", "name"))
        states = dict(State.objects.filter(flow__in=flows).values_list("pk", "name"))
        outcomes = {o.pk: o for o in Outcome.objects.filter(flow__in=flows)}
        options = dict(
            OutcomeOption.objects.filter(campaign__in=campaign_ids).values_list("pk", "label")
        )
        products = {
            p.pk: p for p in Product.objects.filter(campaign__in=campaign_ids).only("name", "code")
        }
        statuses = dict(ProductLine.Status.choices)
        people = People(individual=individual)
        yes, no = _("Yes"), _("No")
        found = events.order_by("registered_at", "pk").values_list(*EVENT_VALUES)
        for chunk in batched(found.iterator(chunk_size=CHUNK), CHUNK):
            people.load(r[i] for r in chunk for i in (2, 4, 16))
            lines, meetings = products_and_meetings([row[0] for row in chunk])
            talks = calls_of([row[0] for row in chunk])
            for (
                pk,
                registered_at,
                actor_user_id,
                actor_process,
                counts_for_user_id,
                campaign_id,
                segment_id,
                customer_id,
                customer_name,
                from_state_id,
                to_state_id,
                outcome_id,
                option_id,
                comment,
                extra_values,
                follow_up_at,
                follow_up_user_id,
                corrects_id,
                corrected_by_id,
                included,
                counts_at,
                is_corrected,
            ) in chunk:
                extra = extra_values or {}
                made = lines.get(pk, [])
                meeting = meetings.get(pk)
                values: list[Any] = [
                    pk,
                    local(registered_at),
                    people.name(actor_user_id, actor_process),
                    people.name(counts_for_user_id),
                    campaigns.get(campaign_id, ""),
                    segments.get(segment_id, ""),
                    customer_id,
                    customer_name,
                    states.get(from_state_id, ""),
                    states.get(to_state_id, ""),
                    outcomes[outcome_id].name if outcome_id in outcomes else "",
                    options.get(option_id, ""),
                    comment,
                    *[
                        field_cell(types.get(campaign_id, "text"), extra.get(key))
                        for key, (_label, types) in outcome_fields.items()
                    ],
                    local(follow_up_at),
                    people.name(follow_up_user_id),
                    "; ".join(_line_text(line, products, revenue) for line in made),
                    sum(line["quantity"] for line in made) if made else None,
                ]
                if revenue:
                    values += [
                        sum((line["quantity"] * line["unit_price"] for line in made), Decimal(0))
                        if made
                        else None,
                        (made[0]["currency"] if made else "") or "",
                    ]
                values += [
                    local(meeting["starts_at"]) if meeting else None,
                    meeting["place"] if meeting else "",
                    meeting["with_whom"] if meeting else "",
                    *_call_cells(talks.get(pk, [])),
                    corrects_id,
                    corrected_by_id,
                    yes if included else no,
                    local(counts_at),
                    yes if included and not is_corrected else no,
                ]
                yield 0, values
                if not all_sheets:
                    continue
                for line in made:
                    product = products.get(line["product_id"])
                    line_values: list[Any] = [
                        pk,
                        local(registered_at),
                        campaigns.get(campaign_id, ""),
                        customer_id,
                        product.name if product else "",
                        product.code if product else "",
                        str(statuses.get(line["status"], line["status"])),
                        line["quantity"],
                    ]
                    if revenue:
                        line_values += [
                            line["unit_price"],
                            line["unit_price"] * line["quantity"],
                            line["currency"] or currencies.get(campaign_id, ""),
                        ]
                    line_extra = line["extra_values"] or {}
                    line_values += [
                        field_cell(types.get(campaign_id, "text"), line_extra.get(key))
                        for key, (_label, types) in product_fields.items()
                    ]
                    yield 1, line_values

    def all_rows(all_sheets: bool) -> Rows:
        yield from rows(all_sheets)
        if all_sheets:
            people = People(individual=individual)
            names = {pk: c.name for pk, c in scope.campaigns.items()}
            for values in contacts(scope, people, names):
                yield 2, values

    period = f"{f.first:%Y%m%d}-{f.last:%Y%m%d}"
    return Listing(
        kind="registrations",
        description=_("Registrations %(first)s–%(last)s")
        % {
            "first": formats.date_format(f.first, "SHORT_DATE_FORMAT"),
            "last": formats.date_format(f.last, "SHORT_DATE_FORMAT"),
        },
        file_stem=f"kundeflyt-registrations-{period}",
        sheets=sheets,
        count=events.count(),
        rows=all_rows,
    )


def _columns(head: list[tuple[str, str]]) -> list[Column]:
    labels = unique_labels([label for label, _kind in head])
    return [
        Column(f"c{n}", label, kind)
        for n, (label, (_l, kind)) in enumerate(zip(labels, head, strict=True))
    ]


def _extra_fields(
    campaign_ids: list[int], applies_to: str
) -> dict[str, tuple[str, dict[int, str]]]:
    """The extra fields of these campaigns, one column per key (the label of its first
    campaign), with each campaign's type of it."""
    found: dict[str, tuple[str, dict[int, str]]] = {}
    for field in ExtraField.objects.filter(
        campaign__in=campaign_ids, applies_to=applies_to
    ).order_by("campaign__name", "campaign", "position", "pk"):
        _label, types = found.setdefault(field.key, (field.label, {}))
        types.setdefault(field.campaign_id, field.type)
    return found


def contacts(scope: Scope, people: People, campaigns: dict[int, str]) -> Iterator[list[Any]]:
    """The period's calls and SMS in the campaigns of ``scope`` (S7), oldest first: the
    third sheet of an XLSX registration export."""
    f = scope.filters
    # By data owner and time first: the index both tables have.
    owners = {c.crm.data_owner_id for c in scope.campaigns.values()}
    where = Q(data_owner_id__in=owners, campaign_id__in=list(campaigns))
    if f.first > FIRST_DAY:
        where &= Q(created_at__gte=_midnight(f.first))
    if f.last < LAST_DAY:
        where &= Q(created_at__lt=_midnight(f.last + dt.timedelta(days=1)))
    if scope.user_keys is not None:
        where &= Q(user_id__in=scope.user_keys)
    fields = ("created_at", "direction", "campaign_id", "user_id", "customer__customer_id")
    calls = Call.objects.filter(where).values_list(
        *fields,
        "customer__name",
        "customer_phone",
        "status",
        "result",
        "duration_seconds",
        "recording_url",
        "event_id",
    )
    messages = Sms.objects.filter(where).values_list(
        *fields, "customer__name", "to", "sender", "status", "text"
    )
    call_words, sms_words = _("Call"), _("SMS")
    out, inward = _("Outgoing"), _("Incoming")
    results, statuses = dict(Call.Result.choices), dict(Sms.Status.choices)
    merged = heapq.merge(
        ((row[0], 0, row) for row in calls.order_by("created_at", "pk").iterator(CHUNK)),
        ((row[0], 1, row) for row in messages.order_by("created_at", "pk").iterator(CHUNK)),
    )
    for chunk in batched(merged, CHUNK):
        people.load(row[3] for _at, _kind, row in chunk)
        for _at, kind, row in chunk:
            at, direction, campaign_id, user_id, customer_id, customer_name = row[:6]
            common = [
                local(at),
                call_words if kind == 0 else sms_words,
                out if direction == "out" else inward,
                campaigns.get(campaign_id, ""),
                customer_id or "",
                customer_name or "",
                people.name(user_id),
            ]
            if kind == 0:
                phone, status, result, seconds, recording, event_id = row[6:]
                told = results.get(result) or dict(Call.Status.choices).get(status, status)
                yield [*common, phone, str(told), seconds, "", recording, event_id]
            else:
                to, sender, status, text = row[6:]
                number = to if direction == "out" else sender
                yield [*common, number, str(statuses.get(status, status)), None, text, "", None]


def calls_of(ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The calls each of these registrations was made after (S7): one query."""
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not ids:
        return found
    for call in (
        Call.objects.filter(event_id__in=ids)
        .order_by("event_id", "created_at", "pk")
        .values("event_id", "result", "duration_seconds", "recording_url")
    ):
        found[call["event_id"]].append(dict(call))
    return found


def _call_cells(calls: list[dict[str, Any]]) -> list[Any]:
    """What a registration's row says of its calls: how each went, the talk time, and where
    to hear the recordings."""
    if not calls:
        return ["", None, ""]
    results = dict(Call.Result.choices)
    told = [str(results.get(c["result"], c["result"] or "–")) for c in calls]
    seconds = sum(c["duration_seconds"] or 0 for c in calls if c["result"] == "answered")
    recordings = " ".join(c["recording_url"] for c in calls if c["recording_url"])
    return ["; ".join(told), seconds, recordings]


def products_and_meetings(
    ids: list[int],
) -> tuple[dict[int, list[dict[str, Any]]], dict[int, dict[str, Any]]]:
    """The product lines and (not deleted) meetings of these registrations: one query each.
    Asked for every registration, not only those whose outcome makes them today: an
    outcome's setup may have changed since."""
    if not ids:
        return {}, {}
    wanted = set(ids)
    low, high = min(ids), max(ids)
    # Pages and chunks come in id order: when their ids lie close, ask for the span (an
    # index range, and what lies between and is not wanted is dropped below) rather than
    # a list of hundreds of ids, which took longer to build and send than to answer.
    by_event: dict[str, Any] = (
        {"event_id__gte": low, "event_id__lte": high}
        if high - low < 4 * len(wanted)
        else {"event_id__in": ids}
    )
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for line in (
        ProductLine.objects.filter(**by_event)
        .order_by("event_id", "pk")
        .values(
            "pk",
            "event_id",
            "product_id",
            "status",
            "quantity",
            "unit_price",
            "currency",
            "extra_values",
        )
    ):
        if line["event_id"] in wanted:
            lines[line["event_id"]].append(dict(line))
    meetings: dict[int, dict[str, Any]] = {}
    for meeting in (
        Meeting.objects.filter(deleted_at__isnull=True, **by_event)
        .order_by("event_id", "starts_at", "pk")
        .values("pk", "event_id", "starts_at", "duration_minutes", "place", "with_whom")
    ):
        if meeting["event_id"] in wanted:
            meetings.setdefault(meeting["event_id"], dict(meeting))
    return lines, meetings


def _line_text(line: dict[str, Any], products: dict[int, Product], revenue: bool) -> str:
    product = products.get(line["product_id"])
    text = f"{line['quantity']} × {product.name if product else '?'}"
    if revenue:
        text += f" @ {formats.number_format(line['unit_price'], 2)}"
    return text
