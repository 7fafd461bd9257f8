"""Safe to expose (issue 9, findings 2–7): no input breaks a page or takes a server's time,
stored values are bounded, redirects stay on the site, details show only what permissions
grant, and a broken database is seen as broken."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import DatabaseError, connection
from django.test import Client, override_settings
from django.urls import path, reverse
from django.utils import timezone

from kundeflyt.campaigns.models import Product
from kundeflyt.crm.models import Customer
from kundeflyt.flows.models import Outcome, State, StateKind
from kundeflyt.handling.models import Event, Meeting, Placement, ProductLine
from kundeflyt.handling.services import AfterSave, customer_select, outcome_register
from tests.world import World


@pytest.fixture
def agent_client(client: Client, world: World) -> Client:
    client.force_login(world.agent)
    return client


def rows() -> dict[str, Any]:
    """What the refusals must leave untouched."""
    return {
        "customers": list(Customer.objects.order_by("pk").values()),
        "placements": list(Placement.objects.order_by("pk").values()),
        "events": Event.objects.count(),
        "lines": ProductLine.objects.count(),
        "meetings": Meeting.objects.count(),
    }


# --- 2. A 9-byte value froze a server ------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["1e999999", "9" * 5000, "1e-999999", "NaN", "Infinity", "12,5e20"]
)
def test_a_number_field_refuses_huge_or_strange_numbers_at_once(
    agent_client: Client, world: World, value: str
) -> None:
    customer = world.customer(1)
    before = rows()
    response = agent_client.post(
        reverse("handling:customer_field", args=[customer.pk, "employees"]),
        {"value": value},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert 'id="card-employees-error" role="alert"' in response.content.decode()
    assert rows() == before


# --- 3 and 4. Stored bad input, and 500s instead of a clear error -------------------------


@pytest.fixture
def on_screen(agent_client: Client, world: World) -> dict[str, Any]:
    """An agent with a customer on the screen, a product and a meeting outcome."""
    Product.objects.create(campaign=world.campaign, name="Fastpris", price=Decimal("10"))
    meeting = State.objects.create(
        flow=world.campaign.flow, key="meeting", name="Møte", kind=StateKind.IN_PROGRESS
    )
    book = Outcome.objects.create(
        flow=world.campaign.flow,
        key="book",
        name="Book møte",
        to_state=meeting,
        follow_up="required",
        books_meeting=True,
    )
    book.from_states.add(world.campaign.flow.states.get(key="available"))
    customer = world.customer(1)
    selection = customer_select(world.agent, customer_id=customer.pk)
    return {"customer": str(customer.pk), "token": str(selection.token)}


def tomorrow() -> str:
    return (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


def product(world: World) -> Product:
    return Product.objects.get(campaign=world.campaign)


BAD_SAVES: list[tuple[str, dict[str, Any]]] = [
    ("customer=abc", {"customer": "abc"}),
    ("token=abc", {"token": "abc"}),
    ("outcome=²", {"outcome": "²"}),
    ("product_qty_abc", {"outcome": "sold", "product_qty_abc": "1"}),
    ("quantity ≥ 2³¹", {"outcome": "sold", "qty": str(2**31)}),
    ("price NaN", {"outcome": "sold", "qty": "1", "price": "NaN"}),
    ("price sNaN", {"outcome": "sold", "qty": "1", "price": "sNaN"}),
    ("price Infinity", {"outcome": "sold", "qty": "1", "price": "Infinity"}),
    ("price 1e15", {"outcome": "sold", "qty": "1", "price": "1e15"}),
    ("price > 10^10", {"outcome": "sold", "qty": "1", "price": "10000000000"}),
    ("price negative", {"outcome": "sold", "qty": "1", "price": "-5"}),
    ("comment with NUL", {"outcome": "no_answer", "comment": "hei\x00"}),
    ("comment too long", {"outcome": "no_answer", "comment": "x" * 5001}),
    ("follow-up in year 1", {"outcome": "call_back", "follow_up_at": "0001-01-01T00:30"}),
    ("follow-up in 9999", {"outcome": "call_back", "follow_up_at": "9999-12-31T23:59"}),
    ("follow-up in 20 years", {"outcome": "call_back", "follow_up_at": "2046-01-05T10:00"}),
    ("meeting in year 1", {"outcome": "book", "meeting_at": "0001-01-01T00:30"}),
    ("meeting in the past", {"outcome": "book", "meeting_at": "2026-01-05T10:00"}),
    ("meeting minutes ≥ 2³¹", {"outcome": "book", "meeting_minutes": str(2**31)}),
    ("meeting place too long", {"outcome": "book", "meeting_place": "p" * 201}),
    ("meeting place with NUL", {"outcome": "book", "meeting_place": "p\x00"}),
]


@pytest.mark.parametrize(("name", "bad"), BAD_SAVES, ids=[n for n, _ in BAD_SAVES])
def test_a_bad_save_is_refused_clearly_and_stores_nothing(
    agent_client: Client, world: World, on_screen: dict[str, Any], name: str, bad: dict[str, Any]
) -> None:
    form: dict[str, Any] = dict(on_screen)
    outcome = bad.get("outcome", "no_answer")
    if outcome in ("no_answer", "call_back", "sold", "book"):
        form["outcome"] = str(world.outcome(outcome).pk)
    if outcome in ("call_back", "book"):
        form["follow_up_at"] = tomorrow()
    if outcome == "book":
        form["meeting_at"] = tomorrow()
    if outcome == "sold":
        form[f"product_qty_{product(world).pk}"] = bad.get("qty", "1")
        form[f"product_price_{product(world).pk}"] = bad.get("price", "10")
    form |= {k: v for k, v in bad.items() if k not in ("outcome", "qty", "price")}
    before = rows()

    response = agent_client.post(reverse("handling:outcome_save"), form, HTTP_HX_REQUEST="true")

    assert response.status_code < 500, name
    assert response.status_code in (204, 400), (name, response.status_code)
    if response.status_code == 400:
        assert "Not saved:" in response.content.decode()
    assert rows() == before, name


def test_a_correction_as_the_original_may_book_a_meeting_in_the_past(world: World) -> None:
    """The one exception: the original registration may have booked a meeting that is past."""
    from kundeflyt.handling.services import correction_start

    meeting = State.objects.create(
        flow=world.campaign.flow, key="meeting", name="Møte", kind=StateKind.IN_PROGRESS
    )
    book = Outcome.objects.create(
        flow=world.campaign.flow,
        key="book",
        name="Book møte",
        to_state=meeting,
        follow_up="required",
        books_meeting=True,
    )
    book.from_states.add(world.campaign.flow.states.get(key="available"))
    customer = world.customer(1)
    selection = customer_select(world.agent, customer_id=customer.pk)
    wrong = outcome_register(
        world.agent,
        customer_id=customer.pk,
        token=selection.token,
        outcome_id=world.outcome("no_answer").pk,
        then=AfterSave.MY_WORK,
    )
    from kundeflyt.handling.services import MeetingInput

    selection = correction_start(world.supervisor, event_id=wrong.pk, as_original=True)
    outcome_register(
        world.supervisor,
        customer_id=customer.pk,
        token=selection.token,
        outcome_id=book.pk,
        follow_up_at=timezone.now() + dt.timedelta(days=1),
        meeting=MeetingInput(starts_at=timezone.now() - dt.timedelta(hours=2)),
    )
    assert Meeting.objects.get().starts_at < timezone.now()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("name", "n" * 201),
        ("name", "Ola\x00Nordmann"),
        ("customer_id", "c" * 65),
        ("email", "a" * 250 + "@x.no"),
        ("phone1", "4" * 300),
        ("industry", "x" * 1001),
        ("employees", "1" * 4301),
    ],
)
def test_card_fields_refuse_overlong_or_invisible_text(
    client: Client, world: World, key: str, value: str
) -> None:
    customer = world.customer(1)
    client.force_login(world.supervisor)
    before = rows()
    response = client.post(
        reverse("handling:customer_field", args=[customer.pk, key]),
        {"value": value},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code in (403, 422), response.status_code
    assert rows() == before


@pytest.mark.parametrize(
    ("url_name", "args", "query"),
    [
        ("handling:campaign_customers", "campaign", {"segment": "abc"}),
        ("handling:campaign_customers", "campaign", {"state": "²"}),
        ("handling:campaign_customers", "campaign", {"responsible": "²"}),
        ("handling:my_work", None, {"day": "0001-01-01"}),
        ("handling:my_work", None, {"day": "9999-12-31"}),
        ("handling:search", None, {"q": "Kari\x00"}),
        ("handling:search", None, {"q": "x" * 5000}),
    ],
)
def test_strange_parameters_get_a_page_not_an_error(
    agent_client: Client, world: World, url_name: str, args: str | None, query: dict[str, str]
) -> None:
    world.customer(1)
    url = reverse(url_name, args=[world.campaign.pk] if args else None)
    response = agent_client.get(url, query)
    assert response.status_code == 200


@pytest.mark.parametrize("campaign", ["abc", "²", "9" * 40, ""])
def test_start_working_an_unreadable_campaign_is_refused(
    agent_client: Client, world: World, campaign: str
) -> None:
    response = agent_client.post(reverse("handling:work_start"), {"campaign": campaign})
    assert response.status_code in (302, 404)
    assert not Placement.objects.filter(holder=world.agent).exists()


def test_report_facts_in_year_9999_are_refused_and_reports_still_verify(
    client: Client, world: World
) -> None:
    from kundeflyt.reports.rollup import rollup_verify

    customer = world.customer(1)
    selection = customer_select(world.agent, customer_id=customer.pk)
    event = outcome_register(
        world.agent,
        customer_id=customer.pk,
        token=selection.token,
        outcome_id=world.outcome("no_answer").pk,
    )
    client.force_login(world.supervisor)
    response = client.post(
        reverse("handling:event_report_facts", args=[event.pk]),
        {"included": "on", "counts_at": "9999-12-31T23:00"},
        follow=True,
    )
    assert "is not a date and time" in response.content.decode() or "Choose a time" in (
        response.content.decode()
    )
    event.refresh_from_db()
    assert event.counts_at.year == timezone.now().year
    assert rollup_verify() == []


# --- 5. No open redirect -------------------------------------------------------------------


@pytest.mark.parametrize(
    "back",
    ["https://evil.example/x", "//evil.example/x", "javascript:alert(1)", "/\\evil.example"],
)
def test_a_refused_take_never_leaves_the_site(
    agent_client: Client, world: World, back: str
) -> None:
    customer = world.customer(1)
    Placement.objects.filter(pk=customer.pk).update(is_final=True)  # taking is refused
    response = agent_client.post(
        reverse("handling:customer_take", args=[customer.pk]), {"back": back}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("handling:my_work")


def test_a_refused_take_goes_back_to_the_list_it_came_from(
    agent_client: Client, world: World
) -> None:
    customer = world.customer(1)
    Placement.objects.filter(pk=customer.pk).update(is_final=True)
    back = reverse("handling:campaign_customers", args=[world.campaign.pk]) + "?state=1"
    response = agent_client.post(
        reverse("handling:customer_take", args=[customer.pk]), {"back": back}
    )
    assert response["Location"] == back


# --- 6. Details show what permissions grant -------------------------------------------------


def test_details_hide_prices_and_colleagues_results_without_the_permissions(
    client: Client, world: World
) -> None:
    Product.objects.create(campaign=world.campaign, name="Fastpris", price=Decimal("49.00"))
    customer = world.customer(1)
    selection = customer_select(world.agent2, customer_id=customer.pk)
    from kundeflyt.handling.services import ProductInput

    outcome_register(
        world.agent2,
        customer_id=customer.pk,
        token=selection.token,
        outcome_id=world.outcome("sold").pk,
        products=[ProductInput(product(world).pk, quantity=2, unit_price=Decimal("49.00"))],
    )
    client.force_login(world.agent)
    html = client.get(reverse("handling:customer_details", args=[customer.pk])).content.decode()
    assert "Fastpris" in html
    assert "Unit price" not in html and "98.00" not in html
    assert "Counts for" not in html


def test_an_agent_cannot_rewrite_the_crms_customer_id(agent_client: Client, world: World) -> None:
    customer = world.customer(1)
    response = agent_client.post(
        reverse("handling:customer_field", args=[customer.pk, "customer_id"]),
        {"value": "NY-ID"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert "Only campaign setup may change the customer id." in response.content.decode()
    customer.refresh_from_db()
    assert customer.customer_id == "1"


# --- 7. A broken database is seen as broken ---------------------------------------------


def test_healthz_says_whether_the_database_answers(client: Client, db: None) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    with mock.patch.object(connection, "cursor", side_effect=DatabaseError("refused")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def _boom(request: Any) -> Any:
    raise DatabaseError("connection refused")


urlpatterns = [path("boom/", _boom)]


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
@pytest.mark.parametrize(
    ("language", "words"),
    [("nb", "Noe gikk galt"), ("en", "Something went wrong")],
)
def test_a_server_error_is_a_readable_page_in_the_users_language(
    db: None, language: str, words: str
) -> None:
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE=language)
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert words in html and f'lang="{language}"' in html
    assert "Server Error (500)" not in html
