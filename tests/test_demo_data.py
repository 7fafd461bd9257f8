"""The demo data of ``make run``: made once, true to the flow, and ready to work with."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from time_machine import TimeMachineFixture

from kundeflyt.accounts.models import Team, User
from kundeflyt.campaigns.calling_hours import next_calling_time, retry_time, when_words
from kundeflyt.campaigns.models import Campaign, ExtraField, OutcomeOption
from kundeflyt.common.fields import is_valid_org_number
from kundeflyt.common.models import AuditEntry
from kundeflyt.common.phones import normalise_phone
from kundeflyt.crm.models import CRM, Customer, DataOwner
from kundeflyt.demo import DATA_OWNER_NAME, DEMO_USERS, PASSWORD, demo_build
from kundeflyt.flows.models import Flow, ProductRule, StateKind
from kundeflyt.handling.models import Event, Meeting, Placement, ProductLine
from kundeflyt.handling.selectors import placements_out_of_reach

pytestmark = pytest.mark.django_db

AGENTS = ["agent1", "agent2", "agent3"]
OSLO = ZoneInfo("Europe/Oslo")


def run_demo() -> str:
    out = io.StringIO()
    call_command("demo_data", "--customers", "200", stdout=out)
    return out.getvalue()


@pytest.fixture
def demo() -> str:
    return run_demo()


def counts() -> dict[str, int]:
    models = [DataOwner, CRM, Campaign, Customer, Placement, Event, ProductLine, Meeting]
    return {m.__name__: m.objects.count() for m in [*models, User, Team, AuditEntry]}


def assert_history_is_true(now: dt.datetime) -> None:
    """Replay every customer's events through the flow: each outcome was offered from the
    state the customer was in, and the placement ends where the last event left it."""
    flow = Flow.objects.get(name="Standard telemarketing")
    entry = flow.entry_state()
    offered_from = {
        o.pk: {s.pk for s in o.from_states.all()}
        for o in flow.outcomes.prefetch_related("from_states")
    }
    options = defaultdict(set)
    for option in OutcomeOption.objects.all():
        options[(option.campaign_id, option.outcome_id)].add(option.pk)
    history = defaultdict(list)
    for event in Event.objects.select_related("outcome", "actor_user").order_by(
        "registered_at", "id"
    ):
        history[event.customer_id].append(event)

    kinds = {s.pk: s.kind for s in flow.states.all()}
    campaigns = {c.pk: c for c in Campaign.objects.select_related("crm")}
    placements = Placement.objects.select_related("state", "customer")
    assert placements.count() == Customer.objects.count()
    assert not placements_out_of_reach("lost").exists()
    for placement in placements:
        previous_user = None
        state_id, state_since = entry.pk, placement.customer.created_at
        attempts, waiting_since, follow_up = 0, placement.customer.created_at, (None, None)
        events = history[placement.pk]
        assert len(events) <= 5
        for event in events:
            outcome = event.outcome
            assert event.from_state_id == state_id
            assert event.from_state_id in offered_from[outcome.pk]
            assert event.to_state_id == (outcome.to_state_id or event.from_state_id)
            assert placement.customer.created_at < event.registered_at < now
            assert event.registered_at >= now - dt.timedelta(days=90)
            local = event.registered_at.astimezone(OSLO)
            assert local.weekday() < 5 and 8 <= local.hour < 16
            assert event.actor_user.username in AGENTS
            assert event.counts_for_user_id == event.actor_user_id
            assert event.counts_at == event.registered_at
            assert event.campaign_id == placement.campaign_id
            assert event.segment_id == placement.segment_id
            wanted = options[(event.campaign_id, outcome.pk)]
            assert (event.option_id in wanted) if wanted else event.option_id is None
            if event.follow_up_at is not None:
                assert event.follow_up_at > event.registered_at
            assert event.follow_up_user_id is None or event.follow_up_at is not None
            if outcome.follow_up == "required":
                assert event.follow_up_at is not None
            if outcome.follow_up == "none":
                assert event.follow_up_at is None
            had_follow_up = follow_up[0] is not None
            if outcome.to_state_id is None:
                attempts += 1
                waiting_since = event.registered_at
            else:
                if outcome.to_state_id != state_id:
                    state_since = event.registered_at
                state_id, attempts = outcome.to_state_id, 0
            follow_up = (event.follow_up_at, event.follow_up_user_id)
            # Rule 10: an attempt moves a follow-up on instead of clearing it, and a customer
            # left in a state worked through its follow-up gets a shared one.
            kind = kinds[state_id]
            if event.follow_up_at is None and kind != StateKind.FINAL:
                retry = retry_time(campaigns[placement.campaign_id], event.registered_at)
                assert retry > event.registered_at
                if outcome.to_state_id is None and had_follow_up:
                    follow_up = (retry, previous_user)
                elif kind in (StateKind.FOLLOW_UP, StateKind.IN_PROGRESS):
                    follow_up = (retry, None)
            previous_user = follow_up[1]
        assert placement.state_id == state_id
        assert placement.is_final == (placement.state.kind == StateKind.FINAL)
        assert placement.state_since == state_since
        assert placement.attempts == attempts
        assert placement.waiting_since == waiting_since
        assert (placement.follow_up_at, placement.follow_up_user_id) == follow_up
        assert placement.holder_id is None


def test_a_second_run_finds_the_demo_and_adds_nothing(demo: str) -> None:
    before = counts()

    again = run_demo()

    assert counts() == before
    assert "already there" in again
    for output in (demo, again):
        assert "http://127.0.0.1:8000/admin/" in output
        for user in DEMO_USERS:
            assert f"{user.username}" in output
        assert PASSWORD in output


def test_the_demo_sets_up_a_b2b_and_a_b2c_campaign(demo: str) -> None:
    owner = DataOwner.objects.get(name=DATA_OWNER_NAME)
    assert owner.controller_name == DATA_OWNER_NAME and owner.purpose
    b2b, b2c = owner.crms.get(kind=CRM.Kind.B2B), owner.crms.get(kind=CRM.Kind.B2C)
    org = b2b.fields.get(key="org_number")
    assert (org.type, org.unique, org.lookups) == ("org_number", True, ["brreg", "proff"])
    assert b2c.fields.get(key="postcode").type == "digits"
    assert b2b.customers.count() == 120 and b2c.customers.count() == 80

    business = Campaign.objects.get(name="Strøm til bedrifter")
    assert business.crm == b2b and business.flow.name == "Standard telemarketing"
    assert [(s.name, s.priority) for s in business.segments.all()] == [
        ("Oslo og Viken", 1),
        ("Vestlandet", 2),
        ("Resten av landet", 3),
    ]
    assert not business.is_predictive and business.calls_enabled
    assert business.links.count() == 2 and business.information
    assert business.products.get(name="Spotpris Bedrift").price == 0
    assert sorted(
        OutcomeOption.objects.filter(campaign=business, outcome__key="not_interested").values_list(
            "label", flat=True
        )
    ) == sorted(["Har avtale", "For dyrt", "Ikke beslutningstaker", "Ønsker ikke å bli ringt"])
    assert ExtraField.objects.filter(campaign=business, outcome__key="meeting_booked").exists()

    private = Campaign.objects.get(name="Vinterkampanje privat")
    assert private.crm == b2c and private.is_predictive and private.sms_enabled
    assert (private.max_attempts, private.min_minutes_between_attempts) == (5, 60)
    assert private.segments.count() == 3 and private.products.exists()


def test_every_event_follows_the_flow_and_every_placement_its_last_event(demo: str) -> None:
    assert Event.objects.values("customer").distinct().count() > 80

    assert_history_is_true(timezone.now())


@pytest.mark.parametrize(
    "now",
    [
        dt.datetime(2025, 3, 5, 10, 30, tzinfo=OSLO),  # a Wednesday morning
        dt.datetime(2025, 3, 3, 7, 15, tzinfo=OSLO),  # a Monday before work starts
        dt.datetime(2025, 3, 8, 13, 0, tzinfo=OSLO),  # a Saturday
        dt.datetime(2025, 3, 7, 17, 45, tzinfo=OSLO),  # a Friday after work
    ],
)
def test_the_history_is_true_whenever_the_demo_is_made(now: dt.datetime) -> None:
    demo_build(customers=150, now=now)

    assert_history_is_true(now)
    assert Placement.objects.filter(follow_up_user__isnull=False, follow_up_at__lte=now).exists()


def test_products_and_meetings_come_only_from_outcomes_that_make_them(demo: str) -> None:
    events = Event.objects.select_related("outcome").prefetch_related("product_lines", "meetings")
    for event in events:
        lines = list(event.product_lines.all())
        if event.outcome.products == ProductRule.NONE:
            assert lines == []
        else:
            assert lines and {line.status for line in lines} == {event.outcome.products}
            for line in lines:
                assert line.product.campaign_id == event.campaign_id
                assert line.customer_id == event.customer_id and line.quantity >= 1
        meetings = list(event.meetings.all())
        assert len(meetings) == (1 if event.outcome.books_meeting else 0)
        for meeting in meetings:
            assert meeting.booked_by_id == event.actor_user_id
            assert meeting.starts_at > event.registered_at
    assert ProductLine.objects.filter(status=ProductLine.Status.SOLD).exists()
    assert ProductLine.objects.filter(status=ProductLine.Status.OFFERED).exists()


def test_agents_have_personal_follow_ups_and_some_are_due(demo: str) -> None:
    now = timezone.now()
    personal = Placement.objects.filter(follow_up_user__username__in=AGENTS, is_final=False)

    assert personal.filter(follow_up_at__lte=now).exists()
    assert personal.filter(follow_up_at__gt=now).exists()
    assert Placement.objects.filter(follow_up_at__isnull=False, follow_up_user=None).exists()


def test_phones_are_valid_e164_mobiles_and_org_numbers_valid_and_unique(demo: str) -> None:
    phones = [p for c in Customer.objects.all() for p in c.phones]
    assert len(phones) >= 200 and len(set(phones)) == len(phones)
    for phone in phones:
        assert normalise_phone(phone) == phone
        assert phone.startswith(("+474", "+479")) and len(phone) == 11

    org_numbers = [c.fields["org_number"] for c in Customer.objects.filter(crm__kind=CRM.Kind.B2B)]
    assert all(is_valid_org_number(n) for n in org_numbers)
    assert len(set(org_numbers)) == len(org_numbers) == 120


def test_the_demo_users_log_in_with_their_roles(demo: str, client: Client) -> None:
    for spec in DEMO_USERS:
        assert client.login(username=spec.username, password=PASSWORD), spec.username
        client.logout()

    agent = User.objects.get(username="agent1")
    assert agent.language == "nb" and agent.team is not None
    assert agent.has_perm("accounts.customer_handling")
    assert not agent.has_perm("accounts.reporting")
    leader = User.objects.get(username="leder")
    for perm in ["extended_customer_handling", "correct_registrations", "revenue"]:
        assert leader.has_perm(f"accounts.{perm}")
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.groups.filter(name="Administrator").exists()


def test_at_night_the_business_campaign_is_worked_and_the_consumer_one_says_when_it_opens(
    demo: str, time_machine: TimeMachineFixture
) -> None:
    """DESIGN.md rule 11 holds in the demo too: a developer who runs it on a Saturday night
    works the B2B campaign (the law does not bind it), and My work says when the consumer
    campaign opens."""
    from kundeflyt.common.errors import DomainError
    from kundeflyt.handling.selectors import my_work
    from kundeflyt.handling.services import customer_present_next

    today = timezone.localdate()
    saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)
    night = dt.datetime.combine(saturday, dt.time(3, 0), tzinfo=OSLO)
    time_machine.move_to(night, tick=False)
    agent = User.objects.get(username="agent1")
    business = Campaign.objects.get(name="Strøm til bedrifter")
    private = Campaign.objects.get(name="Vinterkampanje privat")
    # Monday 09:00, or Tuesday when the Monday is a public holiday (Easter, Whit Monday).
    when = when_words(next_calling_time(private, night), night)
    assert when in ("Monday 09:00", "Tuesday 09:00")

    opens = {cw.campaign.name: cw.opens for cw in my_work(agent).campaigns}
    assert opens == {business.name: None, private.name: when}
    assert customer_present_next(agent, campaign=business) is not None
    with pytest.raises(DomainError, match=f"It opens {when}"):
        customer_present_next(agent, campaign=private)
