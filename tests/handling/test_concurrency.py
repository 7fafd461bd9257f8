"""Races on PostgreSQL (rules 1–4): real threads, each with its own connection, started together.

The tests run in committed transactions (``transaction=True``) so that every thread sees the
world the test built. Each thread opens its connection before the barrier, so the calls
themselves start together, and closes it at the end, so that the test database can be dropped.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from kundeflyt.accounts.models import User
from kundeflyt.campaigns.models import Campaign, Product
from kundeflyt.common.errors import Conflict, DomainError
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import Customer
from kundeflyt.handling.models import Event, Placement
from kundeflyt.handling.services import (
    AfterSave,
    ProductInput,
    Selection,
    customer_move,
    customer_present_next,
    customer_select,
    outcome_register,
)
from tests.factories import CampaignFactory, UserFactory
from tests.world import World

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

T = TypeVar("T")
JOIN_SECONDS = 120


@dataclass
class Result(Generic[T]):
    """What one thread's call returned, or the error it raised."""

    value: T | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def together(*calls: Callable[[], T]) -> list[Result[T]]:
    """Run each call in its own thread, released at the same moment by a barrier."""
    barrier = threading.Barrier(len(calls))
    results: list[Result[T]] = [Result() for _ in calls]

    def run(index: int, call: Callable[[], T]) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=JOIN_SECONDS)
            results[index].value = call()
        except BaseException as error:  # handed to the test, which asserts on it
            results[index].error = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results


def after(seconds: float, call: Callable[[], T]) -> Callable[[], T]:
    """``call``, started ``seconds`` after the barrier opens."""

    def delayed() -> T:
        time.sleep(seconds)
        return call()

    return delayed


def lapse(customer_id: int) -> None:
    """The holder went away: the lease ran out a second ago."""
    Placement.objects.filter(pk=customer_id).update(
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )


def holders_with_more_than_one() -> dict[int, int]:
    rows = (
        Placement.objects.filter(holder__isnull=False)
        .values("holder")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    return {row["holder"]: row["n"] for row in rows}


# --- Presenting the next customer to 32 agents at once -----------------------------------

AGENTS = 32
# The services cost ~20 ms of Python per presentation and registration, and the GIL
# serialises the threads' Python: 5,000 asks (issue 2's figure) take almost three minutes on
# two cores, most of CI's PostgreSQL run. CI's hypothesis profile asks 2,000 times, 32
# agents still racing for every customer; HYPOTHESIS_PROFILE=deep asks the 5,000, and
# KUNDEFLYT_RACE_ASKS sets any number (500 for a quick run while developing).
DEFAULT_ASKS = "5000" if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else "2000"
ASKS = int(os.environ.get("KUNDEFLYT_RACE_ASKS", DEFAULT_ASKS))
CUSTOMERS = ASKS - AGENTS  # every agent's last ask finds the queue empty


def seed_queue(world: World, count: int) -> list[int]:
    """``count`` available customers in the campaign, half of them in the hot segment.

    Bulk rows instead of ``customer_create``: the race is about presenting, and thousands of
    audited creations would take most of the test's time."""
    entry = world.campaign.flow.entry_state()
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        Customer(crm=world.crm, customer_id=f"race-{n}", name=f"Kunde {n}", source="import")
        for n in range(count)
    )
    Placement.objects.bulk_create(
        Placement(
            customer=customer,
            campaign=world.campaign,
            segment=world.hot if n % 2 else None,
            state=entry,
            state_since=now,
            waiting_since=now - dt.timedelta(seconds=count - n),
            set_by_process="test-setup",
        )
        for n, customer in enumerate(customers)
    )
    return [customer.pk for customer in customers]


@dataclass(frozen=True)
class Presented:
    customer_id: int
    agent_id: int
    token: int


class Monitor:
    """Samples the placements from its own connection while the agents work, so that a
    moment where a user held two customers would be seen, not only the end state."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.samples = 0
        self.most_held_at_once = 0
        self.doubles: dict[int, int] = {}
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.doubles |= holders_with_more_than_one()
                held = Placement.objects.filter(holder__isnull=False).count()
                self.most_held_at_once = max(self.most_held_at_once, held)
                self.samples += 1
                time.sleep(0.005)
        finally:
            connection.close()

    def __enter__(self) -> Monitor:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(JOIN_SECONDS)


def test_every_customer_is_presented_to_exactly_one_of_32_agents_asking_at_once(
    world: World,
) -> None:
    # Given one attempt per customer, so that a customer once presented never comes back,
    # and 32 agents of the data owner.
    Campaign.objects.filter(pk=world.campaign.pk).update(max_attempts=1)
    campaign = Campaign.objects.get(pk=world.campaign.pk)
    product = Product.objects.create(campaign=campaign, name="Fastpris", price=100)
    agents: list[User] = UserFactory.create_batch(AGENTS)
    world.crm.data_owner.users.add(*agents)
    queue = seed_queue(world, CUSTOMERS)
    no_answer, refused, sold = (world.outcome(key).pk for key in ("no_answer", "refused", "sold"))
    presented: list[Presented] = []
    asks = Counter[int]()
    barrier = threading.Barrier(AGENTS)
    errors: list[BaseException] = []

    def work(agent: User) -> None:
        """Ask for the next customer, register an outcome that takes it out of the queue,
        ask again, until nobody is waiting."""
        try:
            connection.ensure_connection()
            barrier.wait(timeout=JOIN_SECONDS)
            n = 0
            while True:
                selection = customer_present_next(agent, campaign=campaign)
                asks[agent.pk] += 1
                if selection is None:
                    return
                presented.append(Presented(selection.customer_id, agent.pk, selection.token))
                register(agent, selection, n)
                n += 1
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    def register(agent: User, selection: Selection, n: int) -> None:
        # Alternate an attempt and the two final outcomes; staying on the customer leaves it
        # to the agent's next ask to release it.
        outcome = (no_answer, refused, sold)[n % 3]
        outcome_register(
            agent,
            customer_id=selection.customer_id,
            token=selection.token,
            outcome_id=outcome,
            comment="Nei takk" if outcome == refused else "",
            products=[ProductInput(product_id=product.pk)] if outcome == sold else None,
            then=AfterSave.STAY if n % 2 else AfterSave.NEXT_FROM_LIST,
        )

    # When they all ask at once, over and over.
    started = time.monotonic()
    with Monitor() as monitor:
        threads = [threading.Thread(target=work, args=(agent,)) for agent in agents]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(JOIN_SECONDS)
    elapsed = time.monotonic() - started
    assert not any(thread.is_alive() for thread in threads), "an agent hung (deadlock?)"
    assert errors == []

    # Then every customer went to exactly one agent, and each agent's last ask found nobody.
    assert sum(asks.values()) == ASKS
    assert all(asks[agent.pk] >= 1 for agent in agents)
    times_presented = Counter(p.customer_id for p in presented)
    assert [c for c, n in times_presented.items() if n > 1] == []
    assert sorted(times_presented) == sorted(queue)
    # Each placement was claimed once: its selection number went from 0 to 1 and no further.
    assert {p.token for p in presented} == {1}
    assert set(Placement.objects.values_list("lease_token", flat=True)) == {1}
    assert len({p.agent_id for p in presented}) == AGENTS  # they really worked side by side
    # The registrations and the audit trail tell the same story.
    to_agent = {p.customer_id: p.agent_id for p in presented}
    events = list(Event.objects.values_list("customer_id", "actor_user_id"))
    assert len(events) == CUSTOMERS and dict(events) == to_agent
    presents = AuditEntry.objects.filter(action="customer.present")
    assert dict(presents.values_list("customer_id", "actor_user_id")) == to_agent
    assert presents.count() == CUSTOMERS
    # And no user ever held two customers: not while they worked, not at the end.
    assert monitor.samples > 0 and monitor.doubles == {}
    assert holders_with_more_than_one() == {}
    assert Placement.objects.filter(holder__isnull=False).count() <= AGENTS
    print(
        f"\n{ASKS} asks by {AGENTS} agents in {elapsed:.1f} s "
        f"({ASKS / elapsed:.0f} asks/s with their registrations); "
        f"{monitor.samples} samples, at most {monitor.most_held_at_once} held at once"
    )


def test_the_database_itself_refuses_a_second_current_customer(world: World) -> None:
    """The guarantee above rests on the partial unique index, not only on the services."""
    constraints = connection.introspection.get_constraints(
        connection.cursor(), Placement._meta.db_table
    )
    assert constraints["one_selection_per_user"]["unique"]
    assert constraints["one_selection_per_user"]["columns"] == ["holder_id"]


# --- Two users taking the same customer ----------------------------------------------------


def test_two_users_taking_the_same_customer_at_once_one_wins_and_the_other_is_told_who(
    world: World,
) -> None:
    rounds = 50
    customers = [world.customer(n).pk for n in range(rounds)]
    names = {world.agent.pk: str(world.agent), world.agent2.pk: str(world.agent2)}
    winners = Counter[int]()

    for customer_id in customers:
        results = together(
            partial(customer_select, world.agent, customer_id=customer_id),
            partial(customer_select, world.agent2, customer_id=customer_id),
        )

        won = [r for r in results if r.ok]
        lost = [r for r in results if not r.ok]
        assert len(won) == 1 and len(lost) == 1, results
        assert won[0].value is not None
        winner = won[0].value.placement.holder_id
        assert winner is not None
        assert isinstance(lost[0].error, Conflict) and lost[0].error.code == "held"
        assert names[winner] in lost[0].error.message
        assert Placement.objects.get(pk=customer_id).holder_id == winner
        assert (
            AuditEntry.objects.filter(action="customer.select", customer=customer_id).count() == 1
        )
        winners[winner] += 1

    assert sum(winners.values()) == rounds
    print(f"\n{ {names[pk]: n for pk, n in winners.items()} }")


# --- Fencing: a lapsed holder who was taken over cannot register ---------------------------


def test_a_holder_taken_over_after_the_lease_lapsed_cannot_register(world: World) -> None:
    customer_id = world.customer(1).pk
    old = customer_select(world.agent, customer_id=customer_id)
    lapse(customer_id)
    new = customer_select(world.agent2, customer_id=customer_id)

    with pytest.raises(Conflict, match="Ola Hansen") as refused:
        outcome_register(
            world.agent,
            customer_id=customer_id,
            token=old.token,
            outcome_id=world.outcome("no_answer").pk,
        )

    assert refused.value.code == "lease_lost"
    assert not Event.objects.filter(customer=customer_id).exists()
    event = outcome_register(
        world.agent2,
        customer_id=customer_id,
        token=new.token,
        outcome_id=world.outcome("no_answer").pk,
    )
    assert event.actor_user == world.agent2


def test_a_lapsed_holder_registering_while_another_takes_over_never_both_succeed(
    world: World,
) -> None:
    rounds = 30
    no_answer = world.outcome("no_answer").pk
    orders = Counter[str]()

    for n in range(rounds):
        customer_id = world.customer(n).pk
        old = customer_select(world.agent, customer_id=customer_id)
        lapse(customer_id)

        registered, taken = together(
            # The registration needs fewer queries before its lock than the takeover before
            # its claim: a growing head start for the takeover lets either come first.
            after(
                n % 10 * 0.002,
                partial(
                    outcome_register,
                    world.agent,
                    customer_id=customer_id,
                    token=old.token,
                    outcome_id=no_answer,
                ),
            ),
            partial(customer_select, world.agent2, customer_id=customer_id),
        )

        placement = Placement.objects.get(pk=customer_id)
        events = list(Event.objects.filter(customer=customer_id))
        if registered.ok:
            # The old holder got in first: the registration renewed its lease, so the
            # takeover was refused, naming the holder.
            orders["registered first"] += 1
            assert isinstance(taken.error, Conflict) and "Kari Nordmann" in taken.error.message
            assert [e.actor_user_id for e in events] == [world.agent.pk]
            assert placement.holder == world.agent and placement.lease_token == old.token
        else:
            orders["taken over first"] += 1
            assert isinstance(registered.error, Conflict)
            assert registered.error.code == "lease_lost"
            assert isinstance(taken.value, Selection)
            assert events == []
            assert placement.holder == world.agent2
            assert placement.lease_token == taken.value.token != old.token
            assert placement.attempts == 0
        # The new holder's selection is the agent2's current one: release it for the next round.
        Placement.objects.filter(pk=customer_id).update(holder=None, lease_expires_at=None)

    assert sum(orders.values()) == rounds
    print(f"\n{dict(orders)}")


# --- An outcome registered while a supervisor moves the customer ---------------------------


def test_registering_while_a_supervisor_moves_the_customer_leaves_one_consistent_story(
    world: World,
) -> None:
    rounds = 30
    target = CampaignFactory(crm=world.crm, name="Gjenvinning")
    target_entry = target.flow.entry_state()
    entry = world.campaign.flow.entry_state()
    refused = world.outcome("refused")
    orders = Counter[str]()

    for n in range(rounds):
        customer_id = world.customer(n).pk
        selection = customer_select(world.agent, customer_id=customer_id)
        # The move refuses while the agent's lease is live; lapsed, the move may cut it.
        lapse(customer_id)
        # Staying keeps the customer held after the registration (the move is then refused);
        # moving on releases it (the move then follows the registration).
        then = AfterSave.STAY if n % 2 else AfterSave.NEXT_FROM_LIST

        registered, moved = together(
            partial(
                outcome_register,
                world.agent,
                customer_id=customer_id,
                token=selection.token,
                outcome_id=refused.pk,
                comment="Ikke interessert",
                then=then,
            ),
            partial(customer_move, world.supervisor, customer_id=customer_id, campaign=target),
        )

        for result in (registered, moved):
            assert result.ok or isinstance(result.error, DomainError), result.error
        assert registered.ok or moved.ok, "both were refused"
        placement = Placement.objects.select_related("state").get(pk=customer_id)
        events = list(Event.objects.filter(customer=customer_id))
        move_audit = list(AuditEntry.objects.filter(action="customer.move", customer=customer_id))

        if registered.ok:
            # The registration came first, on the agent's campaign, from the entry state.
            [event] = events
            assert (event.campaign_id, event.from_state_id) == (world.campaign.pk, entry.pk)
            assert event.to_state_id == refused.to_state_id
        else:
            # The move cut the lapsed lease: the registration is fenced off, nothing written.
            assert isinstance(registered.error, Conflict)
            assert registered.error.code == "lease_lost"
            assert events == []
        if moved.ok:
            # The move's audit row records exactly what it found and what it left.
            [audit] = move_audit
            assert audit.actor_user_id == world.supervisor.pk
            assert audit.before["campaign"] == world.campaign.pk
            assert audit.after == {
                "campaign": target.pk,
                "segment": None,
                "state": target_entry.pk,
                "follow_up_at": None,
                "follow_up_user": None,
                "holder": None,
                "correction": None,
            }
            assert (placement.campaign_id, placement.state_id) == (target.pk, target_entry.pk)
            assert not placement.is_final and placement.holder_id is None
        else:
            assert isinstance(moved.error, Conflict) and "Kari Nordmann" in moved.error.message
            assert move_audit == []
            assert placement.campaign_id == world.campaign.pk
            assert placement.state_id == refused.to_state_id and placement.is_final
            assert placement.holder_id == world.agent.pk

        if registered.ok and moved.ok:
            orders["registered, then moved"] += 1
            assert then == AfterSave.NEXT_FROM_LIST
            assert move_audit[0].before["state"] == refused.to_state_id
            assert move_audit[0].before["holder"] is None
            assert move_audit[0].at >= events[0].registered_at
        elif registered.ok:
            orders["registered, move refused"] += 1
            assert then == AfterSave.STAY
        else:
            orders["moved, registration refused"] += 1
            assert move_audit[0].before["state"] == entry.pk
            assert move_audit[0].before["holder"] == world.agent.pk
        Placement.objects.filter(holder=world.agent).update(holder=None, lease_expires_at=None)

    assert sum(orders.values()) == rounds
    print(f"\n{dict(orders)}")


# --- One current customer per user, even from two tabs at once -----------------------------


def test_one_user_taking_two_customers_from_two_threads_ends_with_at_most_one(
    world: World,
) -> None:
    rounds = 30
    outcomes = Counter[str]()

    for n in range(rounds):
        first, second = world.customer(f"a{n}").pk, world.customer(f"b{n}").pk

        results = together(
            partial(customer_select, world.agent, customer_id=first),
            partial(customer_select, world.agent, customer_id=second),
        )

        for result in results:
            assert result.ok or isinstance(result.error, Conflict), result.error
        won = [r.value.customer_id for r in results if r.ok and r.value is not None]
        assert won, "both were refused"
        held = list(Placement.objects.filter(holder=world.agent).values_list("pk", flat=True))
        assert len(held) == 1 and held[0] in won
        outcomes["both in turn" if len(won) == 2 else "one refused"] += 1

    assert sum(outcomes.values()) == rounds
    print(f"\n{dict(outcomes)}")


@pytest.fixture(autouse=True)
def _no_connection_left_open(transactional_db: None) -> Iterator[None]:
    """Threads must close their connections, or the test database cannot be dropped.

    Only connections opened during the test count: the live server of the browser tests keeps
    its own for the whole session."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        (started,) = cursor.fetchone()
    yield
    others = -1
    for _wait in range(50):  # a backend leaves pg_stat_activity shortly after its client
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_start >= %s",
                [started],
            )
            (others,) = cursor.fetchone()
        if others == 0:
            break
        time.sleep(0.05)
    assert others == 0


# --- Rule 10: agents and a supervisor at once never lose a customer ---------------------------


def test_attempts_moves_and_follow_up_changes_at_once_lose_no_customer(world: World) -> None:
    """Six agents work a campaign of customers in "Tilbud sendt" with due shared follow-ups,
    registering "Ikke svar" on each as they are presented, while a supervisor moves the same
    customers between segments and clears or resets their follow-ups. Whatever wins each race,
    no customer is left without a way back (rule 10)."""
    from kundeflyt.handling.selectors import placements_out_of_reach
    from kundeflyt.handling.services import follow_up_set

    offer = world.campaign.flow.states.get(key="offer")
    customers = [world.customer(f"F{n}", segment=world.hot).pk for n in range(60)]
    Placement.objects.filter(pk__in=customers).update(
        state=offer, follow_up_at=timezone.now() - dt.timedelta(minutes=1)
    )
    agents = [UserFactory(username=f"racer{n}") for n in range(6)]
    world.crm.data_owner.users.add(*agents)

    def work(agent: User) -> int:
        done = 0
        while (selection := customer_present_next(agent, campaign=world.campaign)) is not None:
            try:
                outcome_register(
                    agent,
                    customer_id=selection.customer_id,
                    token=selection.token,
                    outcome_id=world.outcome("no_answer").pk,
                    then=AfterSave.MY_WORK,
                )
                done += 1
            except Conflict:
                pass  # the supervisor cut a lapsed selection meanwhile
        return done

    def supervise() -> int:
        changed = 0
        for n, customer_id in enumerate(customers):
            try:
                if n % 2:
                    customer_move(world.supervisor, customer_id=customer_id, segment=world.cold)
                else:
                    follow_up_set(
                        world.supervisor,
                        customer_id=customer_id,
                        follow_up_at=None if n % 4 == 0 else timezone.now() + dt.timedelta(hours=1),
                        responsible=None,
                    )
                changed += 1
            except DomainError:
                pass  # refused: held by an agent, or a follow-up that may not be cleared
        return changed

    results = together(*(partial(work, agent) for agent in agents), supervise)

    assert all(result.ok for result in results), [r.error for r in results if not r.ok]
    assert sum(result.value or 0 for result in results[:-1]) > 0
    assert not placements_out_of_reach("lost").exists()
    assert not Placement.objects.filter(pk__in=customers, follow_up_at__isnull=True).exists()
    assert not holders_with_more_than_one()
