"""An agent's own work: the current customer, My work and the side panel's follow-ups."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Window
from django.utils import timezone

from kundeflyt.accounts.models import User
from kundeflyt.accounts.visibility import campaigns_open_to, campaigns_visible_to
from kundeflyt.campaigns.calling_hours import follows_consumer_rules, opens_at, when_words
from kundeflyt.campaigns.config import campaign_config
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.handling.models import CorrectionRequest, Event, Meeting, Placement
from kundeflyt.handling.selectors.names import names
from kundeflyt.privacy.register import register_latest, register_stale_since


def current_selection(user: User) -> Placement | None:
    """The user's current customer, if their lease has not lapsed."""
    return _as_shown(user, holder=user, lease_expires_at__gt=timezone.now())


def placement_as_shown(user: User, customer_id: int) -> Placement:
    """A placement read as the customer screen shows it."""
    placement = _as_shown(user, pk=customer_id)
    assert placement is not None
    return placement


def _as_shown(user: User, **where: object) -> Placement | None:
    """The placement with its customer and CRM; campaign (with its CRM and data owner),
    segment, state and holder come from the configuration's names, at no query."""
    placement = Placement.objects.select_related("customer__crm").filter(**where).first()
    if placement is not None:
        names(user).attach(placement, "campaign", "segment", "state", "holder")
    return placement


def my_follow_ups(
    user: User, *, until: dt.datetime | None = None, since: dt.datetime | None = None
) -> QuerySet[Placement]:
    """Personal follow-ups of the user in campaigns they may still see."""
    placements = _follow_ups_of(user)
    if until is not None:
        placements = placements.filter(follow_up_at__lt=until)
    if since is not None:
        placements = placements.filter(follow_up_at__gte=since)
    return placements.order_by("follow_up_at", "pk")


def _listed(user: User, placements: QuerySet[Placement]) -> list[Placement]:
    """Follow-ups as a list shows them: the customer read with them, and campaign, segment
    and state from the configuration's names."""
    rows = list(placements)
    directory = names(user)
    for placement in rows:
        directory.attach(placement, "campaign", "segment", "state")
    return rows


def _follow_ups_of(user: User) -> QuerySet[Placement]:
    return Placement.objects.filter(
        follow_up_user=user, campaign__in=campaigns_visible_to(user), is_final=False
    )


# --- The side panel ---------------------------------------------------------------------------

SIDE_DUE_SHOWN = 5
SIDE_COMING_SHOWN = 8


@dataclass(frozen=True)
class SidePanel:
    """The user's follow-ups beside the customer screen: how many are due, the ones due most
    recently, then the next ones coming."""

    due_count: int
    due: list[Placement]
    coming: list[Placement]

    @property
    def etag(self) -> str:
        """Changes whenever what the panel shows changes, so that a poll can answer 304."""
        parts = [str(self.due_count)] + [
            f"{p.pk}:{p.follow_up_at}:{p.customer.name}:{p.campaign.is_predictive}"
            for p in (*self.due, *self.coming)
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def side_panel(user: User) -> SidePanel:
    now = timezone.now()
    # The panel names the customer and the campaign; the campaign comes from the names.
    mine = _follow_ups_of(user).select_related("customer")
    # How many are due comes with the latest due ones (a window count), not in a query of its own.
    due: list[Placement] = list(
        mine.filter(follow_up_at__lte=now)
        .annotate(due_count=Window(Count("pk")))
        .order_by("-follow_up_at", "-pk")[:SIDE_DUE_SHOWN]
    )
    coming = list(
        mine.filter(follow_up_at__gt=now).order_by("follow_up_at", "pk")[:SIDE_COMING_SHOWN]
    )
    directory = names(user)
    for placement in (*due, *coming):
        directory.attach(placement, "campaign")
    due_count = due[0].due_count if due else 0  # type: ignore[attr-defined]
    return SidePanel(due_count=due_count, due=due, coming=coming)


# --- My work ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignWork:
    campaign: Campaign
    segments: list[Segment]
    waiting: int  # counted up to WAITING_COUNTED
    waiting_more: bool = False  # there may be more than that
    # DESIGN.md rule 11: a campaign the marketing law binds is closed outside its calling
    # hours; then when it opens ("Monday 09:00"), else None.
    opens: str | None = None
    # Rule 11 again: the Reservasjonsregisteret is out of date (since when), or never loaded.
    register_stale: dt.datetime | None = None
    register_never: bool = False


@dataclass(frozen=True)
class MyWork:
    day: dt.date
    # Today's page only: due before today. The list comes with the page only when it is short
    # (``OVERDUE_OPEN``); a longer one is asked for when opened (``my_overdue``), so that the
    # page costs the same however many have piled up.
    overdue: list[Placement]
    overdue_count: int
    follow_ups: list[Placement]  # the day's
    meetings: list[Meeting]
    corrections: list[CorrectionRequest]
    campaigns: list[CampaignWork]
    results: dict[str, int]


OVERDUE_SHOWN = 50  # the latest, when the overdue list is opened
OVERDUE_OPEN = 5  # up to this many are shown open on the page itself


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def my_work(user: User, *, day: dt.date | None = None) -> MyWork:
    """Everything on the user's My work page, for ``day`` (today by default: with overdue)."""
    today = timezone.localdate()
    day = day or today
    start, end = day_bounds(day)
    now = timezone.now()
    overdue: list[Placement] = []
    overdue_count = 0
    if day == today:
        # How many comes with the first few, not in a query of its own.
        overdue = my_overdue(user, shown=OVERDUE_OPEN, counted=True)
        overdue_count = overdue[0].overdue_count if overdue else 0  # type: ignore[attr-defined]
        if overdue_count > OVERDUE_OPEN:
            overdue = []
    follow_ups = _listed(
        user, my_follow_ups(user, since=start, until=end).select_related("customer")
    )
    # What the configuration's names have (campaigns with their CRM and data owner, outcomes,
    # users) is not joined; the customers are.
    directory = names(user)
    meetings = list(
        Meeting.objects.filter(
            booked_by=user, deleted_at__isnull=True, starts_at__gte=start, starts_at__lt=end
        )
        .select_related("customer")
        .order_by("starts_at")
    )
    for meeting in meetings:
        directory.attach(meeting, "campaign")
    corrections = list(
        CorrectionRequest.objects.filter(to_user=user, status=CorrectionRequest.Status.OPEN)
        .select_related("event__customer")
        .order_by("created_at")
    )
    for correction in corrections:
        directory.attach(correction, "actor_user")
        directory.attach(correction.event, "outcome", "campaign")
    waiting = dict(
        campaigns_open_to(user)
        .annotate(waiting=_waiting(now))
        .order_by("name")
        .values_list("pk", "waiting")
    )
    # A campaign made since this request read the configuration's version shows next time.
    open_campaigns = [directory.campaigns[pk] for pk in waiting if pk in directory.campaigns]
    register = register_stale_since(now, register_latest()) if open_campaigns else None
    today_start, today_end = day_bounds(today)
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
        overdue=overdue,
        overdue_count=overdue_count,
        follow_ups=follow_ups,
        meetings=meetings,
        corrections=corrections,
        campaigns=[_campaign_work(user, c, waiting[c.pk], now, register) for c in open_campaigns],
        results={k: v or 0 for k, v in mine_today.items()},
    )


def my_overdue(user: User, *, shown: int = OVERDUE_SHOWN, counted: bool = False) -> list[Placement]:
    """The user's follow-ups due before today, the latest first, at most ``shown``; with
    ``counted`` each carries ``overdue_count``, how many there are in all."""
    start, _end = day_bounds(timezone.localdate())
    earlier = my_follow_ups(user, until=start)
    rows = earlier.select_related("customer")
    if counted:  # counted once, without the customers (a window count would join them all)
        rows = rows.annotate(overdue_count=_CountOf(earlier.order_by().values("pk")))
    return _listed(user, rows.order_by("-follow_up_at", "-pk")[:shown])


WAITING_COUNTED = 1000  # "1000+": counting further would read the whole campaign


class _CountOf(Subquery):
    """COUNT(*) of a (limited) subquery's rows."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) counted)"
    output_field = IntegerField()


def _waiting(now: dt.datetime) -> _CountOf:
    """How many of each campaign's customers nobody holds and are due, up to
    ``WAITING_COUNTED``, so that My work costs the same however large the campaigns grow."""
    waiting = Placement.objects.filter(
        Q(follow_up_at__isnull=True) | Q(follow_up_at__lte=now),
        campaign=OuterRef("pk"),
        is_final=False,
        holder__isnull=True,
    )
    return _CountOf(waiting.order_by().values("pk")[:WAITING_COUNTED])


def _campaign_work(
    user: User,
    campaign: Campaign,
    waiting: int,
    now: dt.datetime,
    register_stale: dt.datetime | None,
) -> CampaignWork:
    opens = opens_at(campaign, now)  # no query: the names hold the campaign with its CRM
    stale = register_stale if follows_consumer_rules(campaign) else None
    return CampaignWork(
        campaign,
        list(campaign_config(campaign, user).segments),
        waiting,
        waiting_more=waiting >= WAITING_COUNTED,
        opens=when_words(opens, now) if opens is not None else None,
        register_stale=stale,
        register_never=stale is not None and stale.year == 1,
    )
