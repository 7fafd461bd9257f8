"""When a campaign may call (DESIGN.md rule 11): the times a follow-up is suggested or moved to,
and, for the campaigns the law binds, when customers may be presented, taken and followed up.

Consumers (B2C) may be called on weekdays 09:00–21:00 Oslo time, never on Saturdays, Sundays
or public holidays (markedsføringsloven §§ 12–14); a campaign may narrow that window, never
widen it. A B2B campaign may opt in to the same rules (``Campaign.consumer_rules``). Other
businesses (B2B) are called in the campaign's working hours, weekdays 08:00–17:00 unless the
campaign says otherwise, and not on public holidays either: offices are closed. Those hours
only place suggested follow-ups; nothing is refused outside them.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.utils import dateformat
from django.utils.translation import gettext as _

from kundeflyt.campaigns.models import Campaign
from kundeflyt.common.errors import DomainError

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


def follows_consumer_rules(campaign: Campaign) -> bool:
    """Whether DESIGN.md rule 11 binds the campaign: its CRM is B2C, or it opted in."""
    return campaign.consumer_rules or campaign.crm.kind == "b2c"


def calling_hours(campaign: Campaign) -> tuple[dt.time, dt.time]:
    """The campaign's daily window, in Oslo time."""
    consumer = follows_consumer_rules(campaign)
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


# --- Enforcing the law (DESIGN.md rule 11) ----------------------------------------------------


def opens_at(campaign: Campaign, at: dt.datetime) -> dt.datetime | None:
    """None while the campaign may call at ``at``; otherwise when its next window opens.
    Only campaigns that follow the consumer rules are ever closed."""
    if not follows_consumer_rules(campaign):
        return None
    opens = next_calling_time(campaign, at)
    return None if opens == at else opens


def is_open_now(campaign: Campaign, at: dt.datetime) -> bool:
    return opens_at(campaign, at) is None


def when_words(moment: dt.datetime, now: dt.datetime) -> str:
    """When ``moment`` is, in words: "today 09:00", "tomorrow 09:00" or "Monday 09:00" (Oslo
    time). A window always opens within a week (Easter is the longest wait), so a weekday
    names the day without doubt."""
    local, today = moment.astimezone(OSLO), now.astimezone(OSLO).date()
    time = dateformat.format(local, "H:i")
    if local.date() == today:
        # Translators: when a campaign opens for calls, inside a sentence: "It opens today 09:00".
        return _("today %(time)s") % {"time": time}
    if local.date() == today + dt.timedelta(days=1):
        return _("tomorrow %(time)s") % {"time": time}
    return _("%(weekday)s %(time)s") % {"weekday": dateformat.format(local, "l"), "time": time}


def check_open_for_calls(campaign: Campaign, at: dt.datetime) -> None:
    """DESIGN.md rule 11: no consumer is presented or taken outside the calling hours."""
    opens = opens_at(campaign, at)
    if opens is not None:
        raise DomainError(
            _("The campaign is closed for calls now. It opens %(when)s.")
            % {"when": when_words(opens, at)},
            field="campaign",
            code="closed",
        )


def check_follow_up_time(campaign: Campaign, follow_up_at: dt.datetime) -> None:
    """DESIGN.md rule 11: a follow-up set by hand in a campaign the law binds falls in its
    calling hours, as the suggested ones do."""
    if opens_at(campaign, follow_up_at) is None:
        return
    start, end = calling_hours(campaign)
    raise DomainError(
        _(
            "The follow-up time is outside the campaign's calling hours: weekdays "
            "%(start)s–%(end)s, never on Saturdays, Sundays or public holidays (the marketing law)."
        )
        % {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")},
        field="follow_up_at",
        code="calling_hours",
    )
