"""Rule 10, no customer is lost: every placement that is not final, blocked or anonymised is in
its campaign's queue, has a follow-up, or waits for correction. Every writer keeps it, the
check lists what breaks it, and the repair makes each lost customer a shared follow-up."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kundeflyt.accounts.models import User
from kundeflyt.campaigns.calling_hours import OSLO, calling_hours, is_calling_day, retry_time
from kundeflyt.campaigns.models import Campaign, Product
from kundeflyt.common.errors import DomainError
from kundeflyt.common.models import AuditEntry
from kundeflyt.flows.models import Outcome, State, StateKind
from kundeflyt.handling.models import CorrectionRequest, Event, Placement
from kundeflyt.handling.selectors import placements_out_of_reach
from kundeflyt.handling.services import (
    AfterSave,
    ProductInput,
    correction_cancel,
    correction_send,
    correction_start,
    customer_add,
    customer_move,
    customer_present_next,
    customer_release,
    customer_select,
    follow_up_set,
    outcome_register,
)
from tests.factories import CampaignFactory
from tests.world import SETUP, World


def later(hours: float = 3) -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=hours)


@pytest.fixture
def meeting(world: World) -> State:
    """An in-progress state "Møte booket", reached by booking a meeting (which requires a
    follow-up), and left by a sale; attempts are offered from it."""
    flow = world.campaign.flow
    state = State.objects.create(
        flow=flow, key="meeting", name="Møte booket", kind=StateKind.IN_PROGRESS, position=6
    )
    book = Outcome.objects.create(
        flow=flow,
        key="book",
        name="Møte booket",
        to_state=state,
        follow_up="required",
        follow_up_default_minutes=60 * 24,
        position=5,
    )
    book.from_states.set([flow.states.get(key="available")])
    for key in ("no_answer", "call_back", "sold", "refused"):
        Outcome.objects.get(flow=flow, key=key).from_states.add(state)
    return state


def placed(world: World, n: int, **changes: Any) -> Placement:
    customer = world.customer(n, segment=world.hot)
    Placement.objects.filter(pk=customer.pk).update(**changes)
    return Placement.objects.select_related("state").get(pk=customer.pk)


def in_offer(world: World, n: int, **changes: Any) -> Placement:
    offer = world.campaign.flow.states.get(key="offer")
    defaults = {"state": offer, "follow_up_at": later(), "follow_up_user": world.agent}
    return placed(world, n, **(defaults | changes))


def register(user: User, customer_id: int, key: str, world: World, **kwargs: Any) -> Event:
    selection = customer_select(user, customer_id=customer_id)
    return outcome_register(
        user,
        customer_id=customer_id,
        token=selection.token,
        outcome_id=world.outcome(key).pk,
        then=AfterSave.MY_WORK,
        **kwargs,
    )


def assert_in_calling_hours(world: World, moment: dt.datetime) -> None:
    start, end = calling_hours(world.campaign)
    local = moment.astimezone(OSLO)
    assert is_calling_day(local.date()) and start <= local.time() < end, local


def assert_nobody_lost() -> None:
    lost = list(placements_out_of_reach("lost").values_list("pk", "state__name"))
    assert lost == []


# --- The attempt that lost customers --------------------------------------------------------


def test_an_attempt_on_a_follow_up_moves_it_to_the_next_retry_time(world: World) -> None:
    """The bug: "Ikke svar" on a customer in "Tilbud sendt" cleared its follow-up, and no one
    was ever presented the customer again."""
    placement = in_offer(world, 1)

    event = register(world.agent, placement.pk, "no_answer", world)

    after = Placement.objects.get(pk=placement.pk)
    assert after.state.key == "offer"
    assert after.follow_up_at == retry_time(world.campaign, event.registered_at)
    assert after.follow_up_at > event.registered_at
    assert_in_calling_hours(world, after.follow_up_at)
    assert after.follow_up_user == world.agent  # still the agent's personal follow-up
    assert after.attempts == 1
    assert event.follow_up_at is None  # the event records what the agent chose: nothing
    assert_nobody_lost()


def test_the_retry_waits_the_campaigns_least_time_between_attempts(world: World) -> None:
    world.campaign.min_minutes_between_attempts = 60 * 24 * 3
    world.campaign.save()
    placement = in_offer(world, 1, follow_up_user=None)

    event = register(world.agent2, placement.pk, "no_answer", world)

    after = Placement.objects.get(pk=placement.pk)
    assert after.follow_up_at >= event.registered_at + dt.timedelta(days=3)
    assert after.follow_up_user is None  # a shared follow-up stays shared
    assert_in_calling_hours(world, after.follow_up_at)


def test_a_follow_up_the_outcome_sets_wins(world: World) -> None:
    placement = in_offer(world, 1)
    when = later(30)

    register(world.agent, placement.pk, "call_back", world, follow_up_at=when)

    after = Placement.objects.get(pk=placement.pk)
    assert after.follow_up_at == when and after.follow_up_user is None


def test_no_answer_on_an_available_customer_leaves_it_in_the_queue(world: World) -> None:
    placement = placed(world, 1)

    register(world.agent, placement.pk, "no_answer", world)

    after = Placement.objects.get(pk=placement.pk)
    assert after.follow_up_at is None and after.state.kind == StateKind.AVAILABLE
    assert after.attempts == 1


def test_no_answer_on_a_call_back_keeps_the_call_back(world: World) -> None:
    placement = placed(world, 1, follow_up_at=later(-1), follow_up_user=world.agent)

    event = register(world.agent, placement.pk, "no_answer", world)

    after = Placement.objects.get(pk=placement.pk)
    assert after.follow_up_at == retry_time(world.campaign, event.registered_at)
    assert after.follow_up_user == world.agent


def test_an_in_progress_customer_without_a_follow_up_gets_a_shared_one(
    world: World, meeting: State
) -> None:
    """A customer lost before the fix (or by a flow saved before the rule) is found again by
    the next attempt on it."""
    placement = placed(world, 1, state=meeting)

    event = register(world.agent, placement.pk, "no_answer", world)

    after = Placement.objects.get(pk=placement.pk)
    assert after.follow_up_at == retry_time(world.campaign, event.registered_at)
    assert after.follow_up_user is None


def test_the_outcome_panel_says_where_the_follow_up_moves(client: Any, world: World) -> None:
    placement = in_offer(world, 1)
    customer_select(world.agent, customer_id=placement.pk)
    client.force_login(world.agent)

    def fields(key: str) -> str:
        return client.get(
            reverse("handling:outcome_fields"), {"outcome": world.outcome(key).pk}
        ).content.decode()

    assert "follow-up moves to" in fields("no_answer")
    assert "follow-up moves to" not in fields("call_back")  # it sets a time of its own
    assert "follow-up moves to" not in fields("sold")


# --- The other writers ----------------------------------------------------------------------


def test_a_move_withdraws_the_correction_the_customer_waited_for(world: World) -> None:
    placement = placed(world, 1)
    event = register(world.agent, placement.pk, "no_answer", world)
    correction_send(
        world.supervisor,
        event_id=event.pk,
        to_user=world.agent,
        reason="Feil",
        allowed_outcome_ids=[world.outcome("call_back").pk],
    )
    target = CampaignFactory(crm=world.crm, name="Gjenvinning")

    customer_move(world.supervisor, customer_id=placement.pk, campaign=target)

    assert CorrectionRequest.objects.get().status == CorrectionRequest.Status.CANCELLED
    after = Placement.objects.get(pk=placement.pk)
    assert after.correction is None and after.state.kind == StateKind.AVAILABLE
    assert_nobody_lost()


def test_a_correction_rewinding_into_a_follow_up_state_keeps_a_follow_up(world: World) -> None:
    # In "Tilbud sendt" with a follow-up, then a wrong refusal from there.
    placement = in_offer(world, 1)
    wrong = register(world.agent, placement.pk, "refused", world, comment="Nei")
    assert Placement.objects.get(pk=placement.pk).is_final

    selection = correction_start(world.supervisor, event_id=wrong.pk, as_original=True)
    outcome_register(
        world.supervisor,
        customer_id=placement.pk,
        token=selection.token,
        outcome_id=world.outcome("no_answer").pk,
    )

    after = Placement.objects.get(pk=placement.pk)
    assert after.state.key == "offer" and not after.is_final
    assert after.follow_up_at is not None
    assert_nobody_lost()


def test_correcting_it_myself_is_one_change_a_refusal_leaves_nothing(world: World) -> None:
    """Item 2: "Correct it myself" started the correction, then took the customer in a second
    transaction; a refused take left a correction no one would register."""
    placement = placed(world, 1)
    wrong = register(world.agent, placement.pk, "no_answer", world)
    world.campaign.visible_until = timezone.localdate() - dt.timedelta(days=1)
    world.campaign.save()  # closed: the customer can no longer be taken

    with pytest.raises(DomainError):
        correction_start(world.supervisor, event_id=wrong.pk, as_original=True)

    assert not CorrectionRequest.objects.exists()
    assert Placement.objects.get(pk=placement.pk).correction is None


def test_a_withdrawn_correction_leaves_the_customer_where_it_was(world: World) -> None:
    placement = in_offer(world, 1)
    wrong = register(world.agent, placement.pk, "no_answer", world)
    correction = correction_send(
        world.supervisor,
        event_id=wrong.pk,
        to_user=world.agent2,
        reason="Sjekk",
        allowed_outcome_ids=[world.outcome("call_back").pk],
    )

    correction_cancel(world.supervisor, correction_id=correction.pk)

    after = Placement.objects.get(pk=placement.pk)
    assert after.correction is None and after.follow_up_at is not None
    assert_nobody_lost()


# --- The check, the repair and the reach filters --------------------------------------------


def verify(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("placements_verify", *args, stdout=out)
    except CommandError as error:
        return out.getvalue() + str(error), error.returncode
    return out.getvalue(), 0


def test_placements_verify_lists_lost_customers_and_repair_makes_them_shared_follow_ups(
    world: World, meeting: State
) -> None:
    lost = placed(world, 1, state=meeting)  # as the bug left them
    kept = in_offer(world, 2)

    output, status = verify()
    assert status == 1
    assert "Lost (no one will ever be presented them): 1" in output and "Kunde 1" in output

    output, status = verify("--repair")
    assert status == 0 and "Repaired 1 lost customers." in output
    repaired = Placement.objects.get(pk=lost.pk)
    assert repaired.follow_up_at is not None and repaired.follow_up_user is None
    assert repaired.follow_up_at <= timezone.now()  # due now: the next agent gets it
    entry = AuditEntry.objects.get(action="placement.repair")
    assert entry.actor_process == "placements_repair" and entry.customer_id == lost.pk
    assert Placement.objects.get(pk=kept.pk).follow_up_user == world.agent
    selection = customer_present_next(world.agent2, campaign=world.campaign)
    assert selection is not None and selection.customer_id == lost.pk


def test_a_correction_no_one_will_register_counts_as_lost(world: World) -> None:
    placement = placed(world, 1)
    event = register(world.agent, placement.pk, "no_answer", world)
    correction = correction_send(
        world.supervisor,
        event_id=event.pk,
        to_user=world.agent,
        reason="Feil",
        allowed_outcome_ids=[world.outcome("call_back").pk],
    )
    CorrectionRequest.objects.filter(pk=correction.pk).update(status="cancelled")

    assert list(placements_out_of_reach("lost").values_list("pk", flat=True)) == [placement.pk]
    verify("--repair")
    assert Placement.objects.get(pk=placement.pk).correction is None
    assert_nobody_lost()


def test_customers_reachable_only_in_name_are_listed_and_filtered(
    client: Any, world: World
) -> None:
    archived = in_offer(world, 1, follow_up_user=world.agent2)
    User.objects.filter(pk=world.agent2.pk).update(is_active=False)
    world.campaign.max_attempts = 3
    world.campaign.save()
    used_up = placed(world, 2, attempts=3)
    placed(world, 3, attempts=1)

    output, status = verify()
    assert status == 0  # reachable only in name is a warning, not a loss
    assert "archived users (reassign them): 1" in output
    assert "attempts are used up: 1" in output

    client.force_login(world.supervisor)
    url = reverse("handling:campaign_customers", args=[world.campaign.pk])
    page = client.get(url, {"reach": "archived_responsible"}).content.decode()
    assert "Kunde 1" in page and "Kunde 2" not in page and "Kunde 3" not in page
    page = client.get(url, {"reach": "attempts_used"}).content.decode()
    assert "Kunde 2" in page and "Kunde 1" not in page
    assert used_up.pk != archived.pk


def test_a_correction_sent_to_a_user_since_archived_is_listed(world: World) -> None:
    placement = placed(world, 1)
    event = register(world.agent, placement.pk, "no_answer", world)
    correction_send(
        world.supervisor,
        event_id=event.pk,
        to_user=world.agent2,
        reason="Feil",
        allowed_outcome_ids=[world.outcome("call_back").pk],
    )
    assert not placements_out_of_reach("archived_corrector").exists()
    User.objects.filter(pk=world.agent2.pk).update(is_active=False)

    assert [p.pk for p in placements_out_of_reach("archived_corrector")] == [placement.pk]
    output, status = verify()
    assert "Waiting for correction by an archived user (withdraw it): 1" in output
    assert status == 0


def test_the_follow_ups_of_archived_users_are_handed_over_in_bulk(
    client: Any, world: World
) -> None:
    first = in_offer(world, 1, follow_up_user=world.agent2)
    second = in_offer(world, 2, follow_up_user=world.agent2)
    mine = in_offer(world, 3, follow_up_user=world.agent)
    User.objects.filter(pk=world.agent2.pk).update(is_active=False)
    client.force_login(world.supervisor)

    response = client.post(
        reverse("handling:campaign_follow_ups_reassign", args=[world.campaign.pk]),
        {"to_user": world.agent.pk},
        follow=True,
    )

    assert "2 follow-ups are handed over." in response.content.decode()
    for placement in (first, second, mine):
        assert Placement.objects.get(pk=placement.pk).follow_up_user == world.agent
    assert AuditEntry.objects.filter(action="followup.reassign").count() == 2
    assert not placements_out_of_reach("archived_responsible").exists()


def test_handing_over_needs_extended_handling_and_a_worker_of_the_campaign(
    client: Any, world: World
) -> None:
    in_offer(world, 1, follow_up_user=world.agent2)
    User.objects.filter(pk=world.agent2.pk).update(is_active=False)
    url = reverse("handling:campaign_follow_ups_reassign", args=[world.campaign.pk])

    client.force_login(world.agent)
    response = client.post(url, {"to_user": "shared"}, follow=True)
    assert "You do not have the permission" in response.content.decode()

    client.force_login(world.supervisor)
    response = client.post(url, {"to_user": "999999"}, follow=True)
    assert "Choose a user who works this campaign." in response.content.decode()
    assert Placement.objects.filter(follow_up_user=world.agent2).count() == 1


# --- A day of random work never loses a customer ----------------------------------------------

# Registering is what agents do most: it is drawn more often, so that an outcome often meets
# the state an earlier one left.
OPERATIONS = ["register"] * 5 + ["move_segment", "move_campaign", "follow_up", "correct", "release"]
OUTCOMES = ["no_answer", "no_answer", "call_back", "offer_sent", "book", "sold", "refused"]
CUSTOMERS = 2

step = st.tuples(
    st.sampled_from(OPERATIONS),
    st.integers(0, CUSTOMERS - 1),  # customer
    st.integers(0, len(OUTCOMES) - 1),
    st.integers(0, 2),  # who: agent, agent2, supervisor
    st.booleans(),  # a follow-up where the outcome allows one / a personal one
)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=20))
def test_random_work_never_loses_a_customer(
    world: World, meeting: State, steps: list[tuple[str, int, int, int, bool]]
) -> None:
    """Whatever the services are asked, in whatever order, by whom, and whether they refuse:
    after every step no placement is lost."""
    batch = Placement.objects.count()
    product = Product.objects.get_or_create(campaign=world.campaign, name="Fastpris")[0]
    other = Campaign.objects.filter(name="Gjenvinning").first() or CampaignFactory(
        crm=world.crm, name="Gjenvinning", flow=world.campaign.flow
    )
    customers = [
        customer_add(SETUP, campaign=world.campaign, customer_id=f"R{batch}-{n}", name=f"R{n}").pk
        for n in range(CUSTOMERS)
    ]
    people = [world.agent, world.agent2, world.supervisor]
    for operation, index, outcome_index, who_index, flag in steps:
        customer_id, who = customers[index], people[who_index]
        key = OUTCOMES[outcome_index]
        try:
            match operation:
                case "register":
                    outcome = Outcome.objects.get(
                        flow=Placement.objects.get(pk=customer_id).campaign.flow, key=key
                    )
                    wants = outcome.follow_up == "required" or (
                        outcome.follow_up == "optional" and flag
                    )
                    register(
                        who,
                        customer_id,
                        key,
                        world,
                        comment="Notat",
                        follow_up_at=later(5) if wants else None,
                        follow_up_user=who if wants and flag else None,
                        products=[ProductInput(product.pk)] if outcome.products != "none" else [],
                    )
                case "move_segment":
                    customer_move(world.supervisor, customer_id=customer_id, segment=world.cold)
                case "move_campaign":
                    placement = Placement.objects.get(pk=customer_id)
                    target = other if placement.campaign_id == world.campaign.pk else world.campaign
                    customer_move(world.supervisor, customer_id=customer_id, campaign=target)
                case "follow_up":
                    follow_up_set(
                        world.supervisor,
                        customer_id=customer_id,
                        follow_up_at=later(2) if flag else None,
                        responsible=who if flag and who != world.supervisor else None,
                    )
                case "correct":
                    event = (
                        Event.objects.filter(customer_id=customer_id, is_corrected=False)
                        .order_by("-registered_at", "-pk")
                        .first()
                    )
                    if event is not None:
                        selection = correction_start(
                            world.supervisor, event_id=event.pk, as_original=flag
                        )
                        outcome_register(
                            world.supervisor,
                            customer_id=customer_id,
                            token=selection.token,
                            outcome_id=Outcome.objects.get(
                                flow=event.campaign.flow, key="no_answer"
                            ).pk,
                        )
                case "release":
                    customer_release(world.supervisor, customer_id=customer_id)
        except DomainError:
            pass  # a refusal changes nothing, and nothing is lost by it either
        assert_nobody_lost()
    for customer_id in customers:
        customer_release(world.supervisor, customer_id=customer_id)
