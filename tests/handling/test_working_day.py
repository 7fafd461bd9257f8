"""The working day (items 5, 6, 9 and 15 of issue 8): what is due is in sight, work sent back
comes first, the loop is the same however a customer came, and the presence poll is cheap."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kundeflyt.accounts.backends import PeopleBackend
from kundeflyt.handling.models import Placement
from kundeflyt.handling.selectors import customer_presence, side_panel
from kundeflyt.handling.selectors.work import (
    OVERDUE_OPEN,
    OVERDUE_SHOWN,
    SIDE_COMING_SHOWN,
    SIDE_DUE_SHOWN,
)
from kundeflyt.handling.services import correction_send, customer_select, outcome_register
from tests.world import World


@pytest.fixture
def agent_client(client: Client, world: World) -> Client:
    client.force_login(world.agent)
    return client


def follow_up(world: World, n: int, hours: float) -> int:
    customer = world.customer(n)
    Placement.objects.filter(pk=customer.pk).update(
        follow_up_at=timezone.now() + dt.timedelta(hours=hours), follow_up_user=world.agent
    )
    return customer.pk


# --- The side panel (item 5) ------------------------------------------------------------------


def test_the_side_panel_shows_the_due_count_then_due_now_and_the_coming_ones(
    world: World,
) -> None:
    overdue = [follow_up(world, n, -24 * n) for n in range(1, 9)]  # 8 overdue, up to 8 days
    coming = [follow_up(world, 10 + n, n) for n in range(1, 12)]  # 11 coming, hourly

    panel = side_panel(world.agent)

    assert panel.due_count == 8
    # The ones due most recently first (they were the ones hidden behind the oldest before).
    assert [p.pk for p in panel.due] == overdue[:SIDE_DUE_SHOWN]
    assert [p.pk for p in panel.coming] == coming[:SIDE_COMING_SHOWN]


def test_the_side_panel_links_each_follow_up_and_answers_304_when_nothing_changed(
    agent_client: Client, world: World
) -> None:
    due = follow_up(world, 1, -1)
    coming = follow_up(world, 2, 2)
    url = reverse("handling:side_panel")

    first = agent_client.get(url)

    html = first.content.decode()
    assert first.status_code == 200 and "1 due now" in html
    for pk in (due, coming):
        assert reverse("handling:customer_details", args=[pk]) in html
        assert reverse("handling:customer_take", args=[pk]) in html
    etag = first["ETag"]
    assert agent_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304

    follow_up(world, 3, -2)  # something new is due
    changed = agent_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and "2 due now" in changed.content.decode()


def test_the_customer_screen_polls_the_side_panel_every_minute(
    agent_client: Client, world: World
) -> None:
    customer = world.customer(1)
    customer_select(world.agent, customer_id=customer.pk)
    html = agent_client.get(reverse("handling:screen")).content.decode()
    assert f'hx-get="{reverse("handling:side_panel")}" hx-trigger="every 60s"' in html


# --- My work (item 6) -------------------------------------------------------------------------


def test_work_sent_back_comes_first_and_a_long_overdue_list_is_folded(
    agent_client: Client, world: World
) -> None:
    for n in range(1, 28):
        follow_up(world, n, -24 * (1 + n % 5))
    customer = world.customer(99)
    selection = customer_select(world.agent, customer_id=customer.pk)
    event = outcome_register(
        world.agent,
        customer_id=customer.pk,
        token=selection.token,
        outcome_id=world.outcome("no_answer").pk,
        then="my_work",  # type: ignore[arg-type]
    )
    correction_send(
        world.supervisor,
        event_id=event.pk,
        to_user=world.agent,
        reason="Feil utfall",
        allowed_outcome_ids=[world.outcome("call_back").pk],
    )

    html = agent_client.get(reverse("handling:my_work")).content.decode()

    assert html.index("For correction") < html.index("Follow-ups today")
    assert html.index("Feil utfall") < html.index("overdue from earlier days")
    # Folded behind its count, and asked for only when opened.
    assert f'<details class="overdue" hx-get="{reverse("handling:my_overdue")}"' in html
    assert "27 overdue from earlier days" in html
    assert "Take customer" not in html
    opened = agent_client.get(reverse("handling:my_overdue")).content.decode()
    assert opened.count("Take customer") == 27 and "Showing the latest" not in opened


def test_my_work_costs_the_same_however_many_are_overdue(
    agent_client: Client, world: World
) -> None:
    """Only the count comes with the page; the list, the latest first and at most
    OVERDUE_SHOWN of them, comes when the agent opens it."""

    def count() -> int:
        agent_client.get(reverse("handling:my_work"))  # the configuration, cached
        with CaptureQueriesContext(connection) as captured:
            assert agent_client.get(reverse("handling:my_work")).status_code == 200
        return len(captured)

    ids = [follow_up(world, n, -24 - n) for n in range(1, OVERDUE_OPEN + 2)]
    few = count()
    ids += [follow_up(world, n, -24 - n) for n in range(OVERDUE_OPEN + 2, OVERDUE_SHOWN + 6)]

    assert count() == few
    opened = agent_client.get(reverse("handling:my_overdue")).content.decode()
    assert opened.count("Take customer") == OVERDUE_SHOWN
    assert f"Showing the latest {OVERDUE_SHOWN}." in opened
    latest, oldest_shown = ids[0], ids[OVERDUE_SHOWN - 1]
    assert opened.index(f"/customers/{latest}/") < opened.index(f"/customers/{oldest_shown}/")
    assert f"/customers/{ids[OVERDUE_SHOWN]}/" not in opened


def test_a_short_overdue_list_comes_open_with_the_page(agent_client: Client, world: World) -> None:
    for n in range(1, OVERDUE_OPEN + 1):
        follow_up(world, n, -24 - n)
    html = agent_client.get(reverse("handling:my_work")).content.decode()
    assert '<details class="overdue" open>' in html
    assert html.count("Take customer") == OVERDUE_OPEN


def test_my_work_counts_the_waiting_customers_up_to_a_limit(
    agent_client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting every waiting customer of a large campaign would read all of it."""
    monkeypatch.setattr("kundeflyt.handling.selectors.work.WAITING_COUNTED", 3)
    for n in range(2):
        world.customer(n)
    assert "2 waiting" in agent_client.get(reverse("handling:my_work")).content.decode()
    for n in range(2, 5):
        world.customer(n)
    assert "3+ waiting" in agent_client.get(reverse("handling:my_work")).content.decode()


# --- Next customer after a customer taken by hand (item 9) ----------------------------------


def test_next_customer_after_a_hand_taken_one_comes_from_its_campaign(
    agent_client: Client, world: World
) -> None:
    taken = world.customer(1)
    waiting = world.customer(2, segment=world.hot)
    agent_client.post(reverse("handling:customer_take", args=[taken.pk]))

    screen = agent_client.get(reverse("handling:screen")).content.decode()
    assert "Next customer" in screen
    assert "Then: next customer from “Strøm bedrift”" in screen

    response = agent_client.post(reverse("handling:work_next"))

    assert response["Location"] == reverse("handling:screen")
    assert Placement.objects.get(pk=waiting.pk).holder == world.agent
    assert Placement.objects.get(pk=taken.pk).holder is None
    # The campaign is now the list being worked: the default after saving is the next one.
    screen = agent_client.get(reverse("handling:screen")).content.decode()
    assert "Then: next customer from the list" in screen


def test_saving_with_next_after_a_hand_taken_customer_presents_the_campaigns_next(
    agent_client: Client, world: World
) -> None:
    taken = world.customer(1)
    waiting = world.customer(2)
    agent_client.post(reverse("handling:customer_take", args=[taken.pk]))
    token = Placement.objects.get(pk=taken.pk).lease_token

    agent_client.post(
        reverse("handling:outcome_save"),
        {
            "customer": taken.pk,
            "token": token,
            "outcome": world.outcome("no_answer").pk,
            "then": "list",
        },
    )

    assert Placement.objects.get(pk=waiting.pk).holder == world.agent


# --- The presence poll (item 15) ------------------------------------------------------------


def test_the_presence_poll_costs_one_query_whatever_the_history(
    agent_client: Client, world: World
) -> None:
    customer = world.customer(1)
    customer_select(world.agent2, customer_id=customer.pk)
    agent = PeopleBackend().get_user(world.agent.pk)  # as a request reads it: with the version
    customer_presence(agent, customer.pk)  # the configuration, cached

    with CaptureQueriesContext(connection) as queries:
        presence = customer_presence(agent, customer.pk)
    assert presence.holder == world.agent2
    assert len(queries) == 1

    url = reverse("handling:customer_presence", args=[customer.pk])
    agent_client.get(url)
    with CaptureQueriesContext(connection) as request_queries:
        html = agent_client.get(url).content.decode()
    assert "Ola Hansen has the customer open" in html
    # Session, user and the holder (the permissions are cached): the whole details page
    # selector (21 queries) is no longer run every 5 s.
    assert len(request_queries) <= 3, [q["sql"] for q in request_queries]
