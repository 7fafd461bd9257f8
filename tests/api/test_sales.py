"""Products offered and sold, and meetings booked, each as a list of its own: drawn from the
registrations the token's user may count, with the registrations' filters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kundeflyt.accounts.permissions import Perm
from kundeflyt.campaigns.models import Product
from kundeflyt.flows.models import Outcome, State, StateKind
from kundeflyt.handling.models import Event, Meeting
from kundeflyt.handling.services import (
    AfterSave,
    MeetingInput,
    ProductInput,
    customer_select,
    outcome_register,
)
from tests.api.conftest import Api, Tenants, grant, token_for
from tests.world import World

pytestmark = pytest.mark.django_db


def register(world: World, customer_id: int, outcome: Outcome, **kw: Any) -> Event:
    selection = customer_select(world.agent, customer_id=customer_id)
    return outcome_register(
        world.agent,
        customer_id=customer_id,
        token=selection.token,
        outcome_id=outcome.pk,
        then=AfterSave.MY_WORK,
        **kw,
    )


def booking(world: World) -> Outcome:
    flow = world.campaign.flow
    meeting = State.objects.create(
        flow=flow, key="meeting", name="Møte", kind=StateKind.IN_PROGRESS
    )
    book = Outcome.objects.create(
        flow=flow,
        key="book",
        name="Book møte",
        to_state=meeting,
        follow_up="required",
        books_meeting=True,
    )
    book.from_states.add(flow.states.get(key="available"))
    return book


@pytest.fixture
def reporter(client: Client, tenants: Tenants) -> Api:
    user = grant(tenants.world.supervisor, Perm.REPORTING, Perm.INDIVIDUAL_RESULTS, Perm.REVENUE)
    return Api(client, token_for(user))


def test_products_and_meetings_come_as_lists_of_their_own(
    reporter: Api, client: Client, tenants: Tenants
) -> None:
    world = tenants.world
    product = Product.objects.create(campaign=world.campaign, name="Fastpris", price=Decimal(49))
    sale = register(
        world,
        world.customer(1).pk,
        world.outcome("sold"),
        products=[ProductInput(product.pk, quantity=2, unit_price=Decimal("49.00"))],
    )
    soon = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0)
    booked = register(
        world,
        world.customer(2).pk,
        booking(world),
        follow_up_at=soon + dt.timedelta(days=1),
        meeting=MeetingInput(starts_at=soon, place="Storgata 1", with_whom="Daglig leder"),
    )

    lines = reporter.get("/product-lines").json()["items"]
    meetings = reporter.get("/meetings").json()["items"]

    assert [(ln["registration"], ln["product"], ln["quantity"]) for ln in lines] == [
        (sale.pk, product.pk, 2)
    ]
    assert lines[0]["unit_price"] == "49.00" and lines[0]["counts_in_reports"]
    assert reporter.get("/product-lines", status="offered").json()["items"] == []
    assert reporter.get("/product-lines", status="sold", product=product.pk).json()["items"]
    assert [(m["registration"], m["place"], m["booked_by"]) for m in meetings] == [
        (booked.pk, "Storgata 1", world.agent.pk)
    ]
    assert meetings[0]["deleted_at"] is None
    now = timezone.now().isoformat()
    assert reporter.get("/meetings", starts_before=now).json()["items"] == []
    assert len(reporter.get("/meetings", starts_from=now).json()["items"]) == 1
    outsider = Api(client, token_for(grant(tenants.other_user, Perm.REPORTING)))
    assert outsider.get("/product-lines").json()["items"] == []
    assert outsider.get("/meetings").json()["items"] == []
    assert Api(client, token_for(world.agent2)).get("/meetings").status_code == 403


def test_a_sync_learns_of_a_meeting_taken_back_since_its_last_run(
    reporter: Api, tenants: Tenants
) -> None:
    world = tenants.world
    soon = timezone.now() + dt.timedelta(days=3)
    booked = register(
        world,
        world.customer(2).pk,
        booking(world),
        follow_up_at=soon + dt.timedelta(days=1),
        meeting=MeetingInput(starts_at=soon),
    )
    Event.objects.filter(pk=booked.pk).update(registered_at=timezone.now() - dt.timedelta(days=2))
    last_run = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert reporter.get("/meetings", changed_since=last_run).json()["items"] == []

    Meeting.objects.update(deleted_at=timezone.now())
    taken_back = reporter.get("/meetings", changed_since=last_run).json()["items"]

    assert [m["registration"] for m in taken_back] == [booked.pk]
    assert taken_back[0]["deleted_at"] is not None


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/product-lines", {"status": "kanskje"}, "status"),
        ("/product-lines", {"product": 0}, "product"),
        ("/meetings", {"starts_from": "i morgen"}, "starts_from"),
        ("/meetings", {"starts_before": "9999-12-31T23:59:59-12:00"}, "starts_before"),
    ],
)
def test_bad_input_names_its_field(
    reporter: Api, path: str, params: dict[str, Any], field: str
) -> None:
    answer = reporter.get(path, **params)

    assert answer.status_code == 422
    assert answer.json()["field"] == field
