"""Calling hours (DESIGN.md rule 11, item 7 of issue 8): a suggested or moved follow-up never
falls at night, on a weekend or on a public holiday; consumers only on weekdays 09–21 Oslo
time, businesses in the campaign's working hours."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from hypothesis import given
from hypothesis import strategies as st

from kundeflyt.campaigns.calling_hours import (
    OSLO,
    calling_hours,
    is_calling_day,
    next_calling_time,
    retry_time,
    suggested_follow_up,
)
from kundeflyt.campaigns.models import Campaign
from kundeflyt.crm.models import CRM
from tests.factories import CampaignFactory, CRMFactory

pytestmark = pytest.mark.django_db


def oslo(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=OSLO)  # type: ignore[misc]


@pytest.fixture
def consumers() -> Campaign:
    return CampaignFactory(crm=CRMFactory(kind=CRM.Kind.B2C))


@pytest.fixture
def businesses() -> Campaign:
    return CampaignFactory(crm=CRMFactory(kind=CRM.Kind.B2B))


def test_a_consumer_follow_up_asked_for_at_night_moves_to_nine_the_next_weekday(
    consumers: Campaign,
) -> None:
    # Tuesday 24.11.2026 at 20:30, one hour later would be 21:30: too late.
    assert suggested_follow_up(consumers, oslo(2026, 11, 24, 20, 30), 60) == oslo(
        2026, 11, 25, 9, 0
    )
    # Friday evening: Monday morning.
    assert next_calling_time(consumers, oslo(2026, 11, 27, 21, 0)) == oslo(2026, 11, 30, 9, 0)
    # Early morning on a weekday: the same day at nine.
    assert next_calling_time(consumers, oslo(2026, 11, 24, 7, 15)) == oslo(2026, 11, 24, 9, 0)
    # Within the window: unchanged.
    moment = oslo(2026, 11, 24, 14, 5)
    assert next_calling_time(consumers, moment) == moment


def test_public_holidays_are_skipped(consumers: Campaign, businesses: Campaign) -> None:
    # Christmas Eve 2026 is a Thursday, but the 25th and 26th are holidays, then a weekend.
    assert not is_calling_day(dt.date(2026, 12, 25))
    assert next_calling_time(consumers, oslo(2026, 12, 24, 21, 0)) == oslo(2026, 12, 28, 9, 0)
    # Easter: Maundy Thursday 2.4.2026 to Easter Monday 6.4.2026; 17 May is Constitution Day.
    assert next_calling_time(businesses, oslo(2026, 4, 1, 18, 0)) == oslo(2026, 4, 7, 8, 0)
    assert not is_calling_day(dt.date(2027, 5, 17))


def test_businesses_are_called_in_the_campaigns_working_hours(businesses: Campaign) -> None:
    assert calling_hours(businesses) == (dt.time(8, 0), dt.time(17, 0))
    assert next_calling_time(businesses, oslo(2026, 11, 24, 17, 0)) == oslo(2026, 11, 25, 8, 0)
    businesses.calling_from, businesses.calling_until = dt.time(10, 0), dt.time(15, 30)
    assert next_calling_time(businesses, oslo(2026, 11, 24, 9, 0)) == oslo(2026, 11, 24, 10, 0)
    assert next_calling_time(businesses, oslo(2026, 11, 24, 15, 30)) == oslo(2026, 11, 25, 10)


def test_a_consumer_campaign_may_narrow_the_legal_window_but_never_widen_it(
    consumers: Campaign,
) -> None:
    consumers.calling_from, consumers.calling_until = dt.time(7, 0), dt.time(23, 0)
    assert calling_hours(consumers) == (dt.time(9, 0), dt.time(21, 0))
    consumers.calling_from, consumers.calling_until = dt.time(12, 0), dt.time(18, 0)
    assert calling_hours(consumers) == (dt.time(12, 0), dt.time(18, 0))


def test_hours_that_leave_no_time_are_refused(consumers: Campaign) -> None:
    consumers.calling_from, consumers.calling_until = dt.time(21, 30), dt.time(23, 0)
    with pytest.raises(ValidationError) as refused:
        consumers.full_clean()
    assert "calling_until" in refused.value.message_dict
    consumers.calling_from, consumers.calling_until = dt.time(16, 0), dt.time(9, 0)
    with pytest.raises(IntegrityError):
        consumers.save()


def test_the_retry_time_is_the_campaigns_gap_later_in_its_hours(consumers: Campaign) -> None:
    consumers.min_minutes_between_attempts = 0
    assert retry_time(consumers, oslo(2026, 11, 24, 10, 0)) == oslo(2026, 11, 24, 11, 0)
    consumers.min_minutes_between_attempts = 60 * 24
    assert retry_time(consumers, oslo(2026, 11, 27, 10, 0)) == oslo(2026, 11, 30, 9, 0)


def test_the_outcome_panel_suggests_a_time_within_the_calling_hours(
    client: object, world: object
) -> None:
    from django.urls import reverse

    from kundeflyt.handling.services import customer_select
    from tests.world import World

    assert isinstance(world, World)
    customer = world.customer(1)
    customer_select(world.agent, customer_id=customer.pk)
    client.force_login(world.agent)  # type: ignore[attr-defined]
    html = client.get(  # type: ignore[attr-defined]
        reverse("handling:outcome_fields"), {"outcome": world.outcome("call_back").pk}
    ).content.decode()
    value = html.split('id="follow_up_at"')[1].split('value="')[1].split('"')[0]
    suggested = dt.datetime.fromisoformat(value).replace(tzinfo=OSLO)
    start, end = calling_hours(world.campaign)
    assert is_calling_day(suggested.date()) and start <= suggested.time() < end


moments = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2030, 12, 31)).map(
    lambda naive: naive.replace(tzinfo=dt.UTC)
)


@given(at=moments, kind=st.sampled_from([CRM.Kind.B2B, CRM.Kind.B2C]))
def test_the_next_calling_time_is_always_allowed_and_never_earlier(
    at: dt.datetime, kind: str
) -> None:
    campaign = Campaign(crm=CRM(kind=kind))
    found = next_calling_time(campaign, at)
    local = found.astimezone(OSLO)
    start, end = calling_hours(campaign)
    assert found >= at
    assert is_calling_day(local.date()) and start <= local.time() < end
    assert found - at < dt.timedelta(days=7)  # Easter is the longest wait: five days


def test_the_campaign_admin_sets_the_calling_hours_and_refuses_an_empty_window(
    admin_client: object, consumers: Campaign
) -> None:
    from django.forms.models import model_to_dict

    from kundeflyt.campaigns.admin import CampaignForm

    data = {k: v for k, v in model_to_dict(consumers).items() if v is not None}
    data |= {"users": [], "teams": [], "calling_from": "21:30", "calling_until": "23:00"}
    form = CampaignForm(data=data, instance=consumers)
    assert not form.is_valid()
    assert "calling_until" in form.errors
    data |= {"calling_from": "12:00", "calling_until": "18:00"}
    form = CampaignForm(data=data, instance=consumers)
    assert form.is_valid(), form.errors
    assert calling_hours(form.save()) == (dt.time(12, 0), dt.time(18, 0))
