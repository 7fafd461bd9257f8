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
    follows_consumer_rules,
    is_calling_day,
    is_open_now,
    next_calling_time,
    opens_at,
    retry_time,
    suggested_follow_up,
    when_words,
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


# --- Which campaigns the law binds, and when they are open (enforced: DESIGN.md rule 11) ------


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)  # type: ignore[misc]


def test_the_law_binds_consumer_campaigns_and_business_campaigns_that_opt_in(
    consumers: Campaign, businesses: Campaign
) -> None:
    saturday = oslo(2026, 12, 5, 12, 0)
    assert follows_consumer_rules(consumers) and not follows_consumer_rules(businesses)
    assert opens_at(consumers, saturday) == oslo(2026, 12, 7, 9, 0)
    assert opens_at(businesses, saturday) is None and is_open_now(businesses, saturday)

    businesses.consumer_rules = True
    assert follows_consumer_rules(businesses)
    assert calling_hours(businesses) == (dt.time(9, 0), dt.time(21, 0))
    assert opens_at(businesses, saturday) == oslo(2026, 12, 7, 9, 0)


@pytest.mark.parametrize(
    "at, opens, words",
    [
        # Saturday and Sunday.
        (oslo(2026, 12, 5, 12, 0), oslo(2026, 12, 7, 9, 0), "Monday 09:00"),
        (oslo(2026, 12, 6, 12, 0), oslo(2026, 12, 7, 9, 0), "tomorrow 09:00"),
        # Constitution Day, 17 May 2027, is a Monday; Easter Monday 2026 is 6 April, after
        # Good Friday (3 April) and the Easter weekend.
        (oslo(2027, 5, 17, 12, 0), oslo(2027, 5, 18, 9, 0), "tomorrow 09:00"),
        (oslo(2026, 4, 6, 12, 0), oslo(2026, 4, 7, 9, 0), "tomorrow 09:00"),
        (oslo(2026, 4, 3, 12, 0), oslo(2026, 4, 7, 9, 0), "Tuesday 09:00"),
        # The edges of a weekday (Tuesday 8 December 2026), and a Friday evening.
        (oslo(2026, 12, 8, 8, 59), oslo(2026, 12, 8, 9, 0), "today 09:00"),
        (oslo(2026, 12, 8, 9, 0), None, ""),
        (oslo(2026, 12, 8, 20, 59), None, ""),
        (oslo(2026, 12, 8, 21, 0), oslo(2026, 12, 9, 9, 0), "tomorrow 09:00"),
        (oslo(2026, 12, 11, 21, 0), oslo(2026, 12, 14, 9, 0), "Monday 09:00"),
        # The Mondays after the clocks change: 09:00 in Oslo is 07:00 UTC in summer time (from
        # 29 March 2026) and 08:00 UTC in winter time (from 25 October 2026).
        (utc(2026, 3, 30, 6, 59), utc(2026, 3, 30, 7, 0), "today 09:00"),
        (utc(2026, 3, 30, 7, 0), None, ""),
        (utc(2026, 3, 30, 18, 59), None, ""),
        (utc(2026, 3, 30, 19, 0), utc(2026, 3, 31, 7, 0), "tomorrow 09:00"),
        (utc(2026, 10, 26, 7, 0), utc(2026, 10, 26, 8, 0), "today 09:00"),
        (utc(2026, 10, 26, 7, 59), utc(2026, 10, 26, 8, 0), "today 09:00"),
        (utc(2026, 10, 26, 8, 0), None, ""),
        (utc(2026, 10, 26, 20, 0), utc(2026, 10, 27, 8, 0), "tomorrow 09:00"),
    ],
)
def test_a_consumer_campaign_is_open_on_weekdays_from_nine_to_nine_oslo_time(
    consumers: Campaign, at: dt.datetime, opens: dt.datetime | None, words: str
) -> None:
    assert opens_at(consumers, at) == opens
    assert is_open_now(consumers, at) is (opens is None)
    if opens is not None:
        assert when_words(opens, at) == words


def test_a_narrowed_window_opens_at_its_own_start(consumers: Campaign) -> None:
    consumers.calling_from, consumers.calling_until = dt.time(12, 0), dt.time(18, 0)
    assert opens_at(consumers, oslo(2026, 12, 8, 10, 0)) == oslo(2026, 12, 8, 12, 0)
    assert opens_at(consumers, oslo(2026, 12, 8, 18, 0)) == oslo(2026, 12, 9, 12, 0)
    assert is_open_now(consumers, oslo(2026, 12, 8, 17, 59))


def test_the_opening_reads_norwegian_in_norwegian() -> None:
    from django.utils import translation

    with translation.override("nb"):
        assert when_words(oslo(2026, 12, 7, 9, 0), oslo(2026, 12, 5, 12, 0)) == "mandag 09:00"


def test_a_business_campaign_opts_in_to_the_consumer_rules_in_the_admin(
    admin_client: object, admin_user: object, businesses: Campaign
) -> None:
    from django.urls import reverse

    admin_user.language = "en"  # type: ignore[attr-defined]
    admin_user.save()  # type: ignore[attr-defined]

    page = admin_client.get(  # type: ignore[attr-defined]
        reverse("admin:campaigns_campaign_change", args=[businesses.pk])
    ).content.decode()
    assert "Follow the consumer rules of the marketing law" in page
    assert 'name="consumer_rules"' in page


def test_the_campaign_page_says_whether_it_may_call_now_and_why_not(
    admin_client: object, admin_user: object, consumers: Campaign, businesses: Campaign
) -> None:
    from django.urls import reverse

    from tests.conftest import register_loaded

    admin_user.language = "en"  # type: ignore[attr-defined]
    admin_user.save()  # type: ignore[attr-defined]

    def says(campaign: Campaign) -> str:
        url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
        return admin_client.get(url).content.decode()  # type: ignore[attr-defined]

    assert "Closed: the Reservasjonsregisteret has never been loaded" in says(consumers)
    assert "Open: the consumer rules do not bind this campaign." in says(businesses)
    register_loaded()
    page = says(consumers)
    assert "Open for calls now." in page or "Opens " in page
