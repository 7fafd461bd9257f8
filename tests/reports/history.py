"""Histories for report tests: events written with their rollup calls exactly per the contract
in ``kundeflyt/reports/rollup.py``, and an independent recount of every report from the raw
events, in plain Python.

The correction and report-fact services (issue 4) are written elsewhere; ``correct``,
``set_included`` and ``reattribute`` below change the events as those services must, with
the rollup calls the contract asks for, so the reports can be checked against any history.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kundeflyt.accounts.models import Team, User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.campaigns.models import Campaign, OutcomeOption, Product, Segment
from kundeflyt.crm.models import Customer
from kundeflyt.flows.models import Outcome, State, StateKind
from kundeflyt.handling.models import Event, Meeting, ProductLine
from kundeflyt.reports.rollup import rollup_change, rollup_event
from kundeflyt.reports.selectors import UNSEGMENTED, ReportFilter, per_hour, percent
from tests.factories import CampaignFactory, CRMFactory, TeamFactory, UserFactory
from tests.world import World

OSLO = ZoneInfo("Europe/Oslo")
UTC = dt.UTC


@dataclass
class Shop:
    """The world of the report tests: two teams, a meeting outcome with options, products, a
    reporting boss, and a campaign of another data owner the boss may not see."""

    world: World
    north: Team
    south: Team
    agent3: User  # no team
    boss: User  # reporting, individual results and revenue
    lead: User  # reporting only
    meeting: Outcome
    refused: Outcome
    options: list[OutcomeOption]
    products: list[Product]
    hidden: Campaign  # another data owner's campaign
    customers: list[Customer]
    hidden_customer: Customer

    @property
    def campaign(self) -> Campaign:
        return self.world.campaign

    @property
    def users(self) -> list[User | None]:
        return [self.world.agent, self.world.agent2, self.agent3, None]

    @property
    def segments(self) -> list[Segment | None]:
        return [self.world.hot, self.world.cold, None]

    def outcomes(self, campaign: Campaign | None = None) -> list[Outcome]:
        flow = (campaign or self.campaign).flow
        return list(Outcome.objects.filter(flow=flow).order_by("position", "pk"))


def make_shop(world: World) -> Shop:
    north, south = TeamFactory(name="Nord"), TeamFactory(name="Sør")
    User.objects.filter(pk=world.agent.pk).update(team=north)
    User.objects.filter(pk=world.agent2.pk).update(team=south)
    world.agent.refresh_from_db()
    world.agent2.refresh_from_db()
    agent3 = UserFactory(username="agent3", first_name="Sara", last_name="Nilsen")
    boss = UserFactory(
        username="boss",
        first_name="Henrik",
        last_name="Lund",
        perms=[Perm.REPORTING, Perm.INDIVIDUAL_RESULTS, Perm.REVENUE],
    )
    lead = UserFactory(
        username="lead", first_name="Lise", last_name="Leder", perms=[Perm.REPORTING]
    )
    world.crm.data_owner.users.add(agent3, boss, lead)
    flow = world.campaign.flow
    meeting_state = State.objects.create(
        flow=flow, key="meeting", name="Møte booket", kind=StateKind.IN_PROGRESS, position=4
    )
    meeting = Outcome.objects.create(
        flow=flow,
        key="meeting_booked",
        name="Møte booket",
        to_state=meeting_state,
        books_meeting=True,
        position=5,
    )
    meeting.from_states.set(flow.states.filter(kind=StateKind.AVAILABLE))
    refused = Outcome.objects.get(flow=flow, key="refused")
    options = [
        OutcomeOption.objects.create(campaign=world.campaign, outcome=refused, label=label)
        for label in ("Har avtale", "For dyrt")
    ]
    products = [
        Product.objects.create(campaign=world.campaign, name="Fastpris", price=Decimal("49.90")),
        Product.objects.create(campaign=world.campaign, name="Spotpris", price=Decimal("0.10")),
    ]
    hidden = CampaignFactory(crm=CRMFactory(name="Annen"), name="Skjult oppdrag")
    hidden_product = Product.objects.create(campaign=hidden, name="Skjult", price=Decimal("10"))
    assert hidden_product
    customers = [world.customer(n) for n in range(1, 5)]
    hidden_customer = Customer.objects.create(crm=hidden.crm, customer_id="x1", name="Skjult kunde")
    return Shop(
        world,
        north,
        south,
        agent3,
        boss,
        lead,
        meeting,
        refused,
        options,
        products,
        hidden,
        customers,
        hidden_customer,
    )


@pytest.fixture
def shop(world: World) -> Shop:
    return make_shop(world)


# --- Writing events per the contract ------------------------------------------------------------


def register(
    customer: Customer,
    *,
    campaign: Campaign,
    outcome: Outcome,
    user: User | None,
    at: dt.datetime,
    segment: Segment | None = None,
    option: OutcomeOption | None = None,
    products: Iterable[tuple[Product, int, Decimal | None]] = (),
    corrects: Event | None = None,
    counts_for: User | str | None = "actor",
    counts_at: dt.datetime | None = None,
) -> Event:
    """An event as ``outcome_register`` writes it (without its checks), then ``+1``."""
    from_state = campaign.flow.entry_state()
    event = Event.objects.create(
        customer=customer,
        campaign=campaign,
        segment=segment,
        outcome=outcome,
        option=option,
        from_state=from_state,
        to_state=outcome.to_state or from_state,
        actor_user=user,
        actor_process="" if user else "test",
        registered_at=at,
        counts_for_user=user if counts_for == "actor" else counts_for,
        counts_at=counts_at or at,
        corrects=corrects,
    )
    status = outcome.products if outcome.products != "none" else None
    ProductLine.objects.bulk_create(
        ProductLine(
            customer=customer,
            campaign=campaign,
            event=event,
            product=product,
            status=status or ProductLine.Status.SOLD,
            quantity=quantity,
            unit_price=product.price if price is None else price,
            currency=campaign.currency,
        )
        for product, quantity, price in (products if status else ())
    )
    if outcome.books_meeting:
        Meeting.objects.create(
            customer=customer,
            campaign=campaign,
            event=event,
            starts_at=at + dt.timedelta(days=2),
            booked_by=user,
        )
    rollup_event(event, +1)
    return event


def correct(
    event: Event, *, by: User, outcome: Outcome, at: dt.datetime, as_original: bool
) -> Event:
    """D15: the wrong event leaves the reports, the new one enters them; *as the original
    user at the original time* makes the new one count for them."""
    with rollup_change(event):
        event.is_corrected = True
        event.save(update_fields=["is_corrected"])
    return register(
        event.customer,
        campaign=event.campaign,
        outcome=outcome,
        user=by,
        at=at,
        segment=event.segment,
        option=None,
        corrects=event,
        counts_for=event.counts_for_user if as_original else by,
        counts_at=event.counts_at if as_original else at,
    )


def set_included(event: Event, included: bool) -> None:
    with rollup_change(event):
        event.included_in_reports = included
        event.save(update_fields=["included_in_reports"])


def reattribute(event: Event, *, user: User | None, at: dt.datetime) -> None:
    """D16: the event counts for another user and at another time."""
    with rollup_change(event):
        event.counts_for_user = user
        event.counts_at = at
        event.save(update_fields=["counts_for_user", "counts_at"])


# --- The independent recount --------------------------------------------------------------------


@dataclass
class Counted:
    """One event that counts, with what every report needs, read straight from the rows."""

    day: dt.date
    hour: int
    campaign: Campaign
    segment_id: int | None
    user: User | None
    outcome: Outcome
    option: OutcomeOption | None
    meetings: int
    lines: list[ProductLine]


def counted(
    visible: Iterable[int], f: ReportFilter, *, user_keys: list[int] | None = None
) -> list[Counted]:
    """Events that are included and not corrected, in campaigns the reader sees, matching the
    filters, by *counts for* user and the day of *counts at* in Oslo."""
    found = []
    visible = set(visible)
    events = Event.objects.select_related(
        "campaign__crm", "outcome", "option", "counts_for_user__team"
    ).prefetch_related("product_lines__product", "meetings")
    for e in events:
        if not e.included_in_reports or e.is_corrected:
            continue
        local = e.counts_at.astimezone(OSLO)
        if e.campaign_id not in visible or not (f.first <= local.date() <= f.last):
            continue
        if f.segment is not None and (e.segment_id or UNSEGMENTED) != f.segment:
            continue
        if f.outcome is not None and e.outcome_id != f.outcome:
            continue
        if user_keys is not None and (e.counts_for_user_id or 0) not in user_keys:
            continue
        found.append(
            Counted(
                local.date(),
                local.hour,
                e.campaign,
                e.segment_id,
                e.counts_for_user,
                e.outcome,
                e.option,
                len(e.meetings.all()),
                list(e.product_lines.all()),
            )
        )
    return found


def person(user: User | None, individual: bool) -> tuple[str, ...]:
    if user is None:
        return ("No user (process)", "No user (process)") if individual else ("No user (process)",)
    team = user.team.name if user.team else "No team"
    return (str(user), team) if individual else (team,)


def expected_activity(events: list[Counted], *, individual: bool, hours: bool) -> dict[str, Any]:
    """The activity report's rows as the recount sees them: name → figures."""

    def figures(group: list[Counted], hour_keys: set[Any]) -> tuple[Any, ...]:
        n = len(group)
        progressive = sum(1 for c in group if c.outcome.to_state_id is not None)
        values: tuple[Any, ...] = (n, n - progressive, progressive, percent(progressive, n))
        if hours:
            values += (len(hour_keys), per_hour(n, len(hour_keys)))
        return values

    def by(key: Any) -> dict[Any, tuple[Any, ...]]:
        groups: dict[Any, list[Counted]] = defaultdict(list)
        for c in events:
            groups[key(c)].append(c)
        return {
            k: figures(g, {(c.day, c.hour, c.campaign.pk, c.user.pk if c.user else 0) for c in g})
            for k, g in groups.items()
        }

    return {
        "people": by(lambda c: person(c.user, individual)),
        "campaigns": by(lambda c: (c.campaign.name,)),
        "days": by(lambda c: (c.day,)),
        "total": figures(
            events, {(c.day, c.hour, c.campaign.pk, c.user.pk if c.user else 0) for c in events}
        ),
    }


def expected_outcomes(events: list[Counted]) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    per_outcome: dict[str, int] = defaultdict(int)
    per_option: dict[tuple[str, str], int] = defaultdict(int)
    for c in events:
        per_outcome[c.outcome.name] += 1
        if c.option is not None:
            per_option[(c.outcome.name, c.option.label)] += 1
    return dict(per_outcome), dict(per_option)


def expected_products(events: list[Counted]) -> dict[str, tuple[int, int, int, int, Decimal]]:
    """Per product name: offered lines and quantity, sold lines and quantity, sold revenue."""
    found: dict[str, list[Any]] = defaultdict(lambda: [0, 0, 0, 0, Decimal("0.00")])
    for c in events:
        for line in c.lines:
            row = found[line.product.name]
            if line.status == ProductLine.Status.OFFERED:
                row[0] += 1
                row[1] += line.quantity
            else:
                row[2] += 1
                row[3] += line.quantity
                row[4] += line.unit_price * line.quantity
    return {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in found.items()}


def expected_meetings(events: list[Counted], *, individual: bool) -> dict[tuple[str, ...], int]:
    found: dict[tuple[str, ...], int] = defaultdict(int)
    for c in events:
        if c.meetings:
            found[person(c.user, individual)] += c.meetings
    return dict(found)


def rows_by_name(rows: list[list[Any]], width: int) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """A table's rows keyed by their first ``width`` cells."""
    return {tuple(r[:width]): tuple(r[width:]) for r in rows}
