"""When a campaign may call (DESIGN.md rule 11): the times a follow-up is suggested or moved to.

Consumers (B2C) may be called on weekdays 09:00–21:00 Oslo time, never on Saturdays, Sundays
or public holidays (markedsføringsloven §§ 12–14); a campaign may narrow that window, never
widen it. Businesses (B2B) are called in the campaign's working hours, weekdays 08:00–17:00
unless the campaign says otherwise, and not on public holidays either: offices are closed.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from kundeflyt.campaigns.models import Campaign

OSLO = ZoneInfo("Europe/Oslo")
CONSUMER_HOURS = (dt.time(9, 0), dt.time(21, 0))
BUSINESS_HOURS = (dt.time(8, 0), dt.time(17, 0))
# When a campaign sets no least time between attempts, an attempt on a customer with a
# follow-up moves it at least this far ahead.
DEFAULT_RETRY_GAP = dt.timedelta(hours=1)


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("NO", years=year)


def is_calling_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _public_holidays(day.year)


def calling_hours(campaign: Campaign) -> tuple[dt.time, dt.time]:
    """The campaign's daily window, in Oslo time."""
    consumer = campaign.crm.kind == "b2c"
    start, end = CONSUMER_HOURS if consumer else BUSINESS_HOURS
    start = campaign.calling_from or start
    end = campaign.calling_until or end
    if consumer:  # the law's window bounds whatever the campaign says
        start, end = max(start, CONSUMER_HOURS[0]), min(end, CONSUMER_HOURS[1])
    return start, end


def next_calling_time(campaign: Campaign, at: dt.datetime) -> dt.datetime:
    """``at`` itself when the campaign may call then, otherwise the start of its next window."""
    start, end = calling_hours(campaign)
    local = at.astimezone(OSLO)
    day = local.date()
    if is_calling_day(day) and start <= local.time() < end:
        return at
    if not (is_calling_day(day) and local.time() < start):
        day += dt.timedelta(days=1)
        while not is_calling_day(day):
            day += dt.timedelta(days=1)
    return dt.datetime.combine(day, start, tzinfo=OSLO).astimezone(dt.UTC)


def retry_time(campaign: Campaign, at: dt.datetime) -> dt.datetime:
    """When a customer whose follow-up got an attempt is due again (rule 10): the campaign's
    least time between attempts later, or an hour, moved into the campaign's calling hours."""
    minutes = campaign.min_minutes_between_attempts
    gap = dt.timedelta(minutes=minutes) if minutes else DEFAULT_RETRY_GAP
    return next_calling_time(campaign, at + gap)


def suggested_follow_up(campaign: Campaign, at: dt.datetime, minutes: int) -> dt.datetime:
    """An outcome's default follow-up: ``minutes`` after ``at``, in the calling hours."""
    return next_calling_time(campaign, at + dt.timedelta(minutes=minutes))
