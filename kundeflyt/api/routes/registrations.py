"""Registrations: every registered outcome the user may count, a page at a time, with what
it made (products, a meeting) and its report facts: a client's nightly pull of a day."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Query, Router
from pydantic import Field

from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.api.auth import user_of
from kundeflyt.api.paging import Paging, page_of
from kundeflyt.api.problems import REFUSALS
from kundeflyt.api.schemas import (
    Id,
    MeetingOut,
    ProductLineOut,
    RegistrationOut,
    RegistrationPage,
)
from kundeflyt.exports.selectors import (
    REGISTERED,
    RegistrationFilter,
    products_and_meetings,
    registrations_matching,
)
from kundeflyt.exports.selectors.common import oslo
from kundeflyt.exports.selectors.registrations import FIRST_DAY, LAST_DAY
from kundeflyt.handling.models import Event
from kundeflyt.reports.selectors import ReportFilter, report_scope

router = Router(tags=["registrations"])


class RegistrationQuery(Paging):
    data_owner: Id | None = None
    crm: Id | None = None
    campaign: Id | None = None
    segment: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None  # 0: in no segment
    outcome: Id | None = None
    user: Id | None = None
    date_from: dt.date | None = Field(None, alias="from")
    date_to: dt.date | None = Field(None, alias="to")
    changed_since: dt.datetime | None = None


def _moment(value: dt.datetime | None) -> dt.datetime | None:
    """A time as a bound the database can take: none before 1900 (nothing is older), at
    most the year 9000, and in Oslo's time when it names no zone."""
    if value is None or value.year < FIRST_DAY.year:
        return None
    if value.year >= LAST_DAY.year:
        return dt.datetime.combine(LAST_DAY, dt.time(0), tzinfo=dt.UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=oslo())


@router.get(
    "/registrations",
    response={200: RegistrationPage, **REFUSALS},
    summary="Registrations, filtered",
)
def registrations_list(request: HttpRequest, query: Query[RegistrationQuery]) -> RegistrationPage:
    """The registrations of the campaigns the user may count, oldest first, `limit` at a time
    (50 by default, at most 500). Filter by `data_owner`, `crm`, `campaign`, `segment`
    (`0` for none), `outcome`, `user` (with *individual results*) and the days `from` and
    `to` (both included, in Oslo's time). `changed_since` keeps those registered or corrected
    since that time: a sync asks with the time of its last run, and a corrected registration
    comes again with `corrected_by` set, beside the correction that replaced it. Needs
    *reporting*; people are named with *individual results*, prices shown with *revenue*.

    ```
    curl -H "Authorization: Bearer $TOKEN" \\
      "https://kundeflyt.example/api/v1/registrations?from=2026-11-27&to=2026-11-27"
    ```
    """
    user = user_of(request)
    require(user, Perm.REPORTING)
    period = ReportFilter(
        first=query.date_from or FIRST_DAY,
        last=query.date_to or LAST_DAY,
        data_owner=query.data_owner,
        crm=query.crm,
        campaign=query.campaign,
        segment=query.segment,
        user=query.user,
        outcome=query.outcome,
    )
    scope = report_scope(user, period)
    filters = RegistrationFilter(period, REGISTERED, _moment(query.changed_since))
    events = registrations_matching(user, filters).select_related(
        "customer", "outcome", "corrected_by"
    )
    found, following = page_of(request, events, query)
    lines, meetings = products_and_meetings([e.pk for e in found])
    return RegistrationPage(
        items=[
            _registration_out(
                e, lines.get(e.pk, []), meetings.get(e.pk), scope.individual, scope.revenue
            )
            for e in found
        ],
        next=following,
    )


def registration_out(event: Event, *, individual: bool, revenue: bool) -> RegistrationOut:
    """One registration as the list shows it (its products and meeting read here)."""
    lines, meetings = products_and_meetings([event.pk])
    return _registration_out(
        event, lines.get(event.pk, []), meetings.get(event.pk), individual, revenue
    )


def _registration_out(
    event: Event,
    lines: list[dict[str, Any]],
    meeting: dict[str, Any] | None,
    individual: bool,
    revenue: bool,
) -> RegistrationOut:
    def person(pk: int | None) -> int | None:
        return pk if individual else None

    corrected_by = getattr(event, "corrected_by", None)
    return RegistrationOut(
        id=event.pk,
        customer=event.customer_id,
        customer_id=event.customer.customer_id,
        campaign=event.campaign_id,
        segment=event.segment_id,
        outcome=event.outcome_id,
        outcome_key=event.outcome.key,
        option=event.option_id,
        from_state=event.from_state_id,
        to_state=event.to_state_id,
        registered_at=event.registered_at,
        user=person(event.actor_user_id),
        process=event.actor_process,
        comment=event.comment,
        extra=event.extra_values or {},
        follow_up_at=event.follow_up_at,
        follow_up_user=person(event.follow_up_user_id),
        products=[
            ProductLineOut(
                id=line["pk"],
                product=line["product_id"],
                status=line["status"],
                quantity=line["quantity"],
                unit_price=line["unit_price"] if revenue else None,
                currency=line["currency"] if revenue else None,
                extra=line["extra_values"] or {},
            )
            for line in lines
        ],
        meeting=MeetingOut(
            id=meeting["pk"],
            starts_at=meeting["starts_at"],
            duration_minutes=meeting["duration_minutes"],
            place=meeting["place"],
            with_whom=meeting["with_whom"],
        )
        if meeting
        else None,
        included_in_reports=event.included_in_reports,
        counts_for_user=person(event.counts_for_user_id),
        counts_at=event.counts_at,
        counts_in_reports=event.counts_in_reports,
        corrects=event.corrects_id,
        corrected_by=corrected_by.pk if corrected_by else None,
    )
