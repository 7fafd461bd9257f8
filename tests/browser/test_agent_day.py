"""An agent's day in Chromium: log in, work a list, register, follow up, edit the card."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from time_machine import TimeMachineFixture

from kundeflyt.campaigns.calling_hours import OSLO
from kundeflyt.campaigns.models import OutcomeOption, PresentationMode, Product
from kundeflyt.crm.models import CRM
from kundeflyt.flows.models import Outcome, State, StateKind
from kundeflyt.handling.models import Event, Placement, ProductLine
from tests.conftest import register_loaded
from tests.factories import CampaignFactory, CRMFactory
from tests.world import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    page.wait_for_load_state()  # the keyboard script is in before a key is pressed


@pytest.fixture
def sale_with_follow_up(world: World) -> Outcome:
    """A progressive outcome that sells, asks for an option and a follow-up."""
    flow = world.campaign.flow
    customer_state = State.objects.create(
        flow=flow, key="customer", name="Kunde", kind=StateKind.FOLLOW_UP, position=5
    )
    outcome = Outcome.objects.create(
        flow=flow,
        key="sold_follow_up",
        name="Salg med oppfølging",
        to_state=customer_state,
        follow_up="required",
        follow_up_default_minutes=60 * 24,
        products="sold",
        position=9,
    )
    outcome.from_states.add(flow.states.get(key="available"))
    no_answer = Outcome.objects.get(flow=flow, key="no_answer")
    no_answer.from_states.add(customer_state)
    OutcomeOption.objects.create(campaign=world.campaign, outcome=outcome, label="Ny kunde")
    OutcomeOption.objects.create(campaign=world.campaign, outcome=outcome, label="Bytte")
    Product.objects.create(campaign=world.campaign, name="Fastpris 12 mnd", price=Decimal("49"))
    return outcome


def test_an_agent_works_a_list_and_follows_up(
    page: Page,
    live_server,
    world: World,
    sale_with_follow_up: Outcome,  # type: ignore[no-untyped-def]
) -> None:
    first = world.customer(1, segment=world.hot)
    second = world.customer(2, segment=world.cold)
    base = live_server.url

    log_in(page, base, "agent")
    page.get_by_role("button", name="Start working").first.click()

    # An attempt on the first customer, then on to the next from the list.
    expect(page.get_by_role("heading", name="Kunde 1")).to_be_visible()
    page.get_by_text("Ikke svar").click()
    expect(page.get_by_label("Comment")).to_be_visible()  # its fields have arrived
    page.get_by_role("button", name="Save").click()

    # The second customer came with the save's own answer: swapped in, the address and the
    # message as after a page load.
    expect(page.get_by_role("heading", name="Kunde 2")).to_be_visible()
    expect(page.get_by_text("Saved: Kunde 1")).to_be_visible()
    expect(page).to_have_title(re.compile("Kunde 2"))
    assert page.url == f"{base}/screen/"

    # The second customer: a sale with an option, a comment, a follow-up and a product.
    page.get_by_text("Salg med oppfølging").click()
    page.get_by_text("Bytte").click()
    page.get_by_label("Comment").fill("Bytter fra spotpris")
    page.get_by_label("Fastpris 12 mnd", exact=True).fill("2")
    when = (dt.datetime.now() + dt.timedelta(days=1)).replace(hour=10, minute=30)
    page.locator("#follow_up_at").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("After saving").select_option("stay")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Saved: Kunde 2")).to_be_visible()
    side_panel = page.get_by_role("region", name="My follow-ups")
    expect(side_panel.get_by_text("Kunde 2")).to_be_visible()

    event = Event.objects.get(customer=second)
    assert event.option is not None and event.option.label == "Bytte"
    assert event.comment == "Bytter fra spotpris"
    line = ProductLine.objects.get(event=event)
    assert (line.quantity, line.status) == (2, "sold")
    assert Placement.objects.get(pk=second.pk).follow_up_user == world.agent
    assert Event.objects.get(customer=first).outcome.key == "no_answer"

    # The follow-up shows in My work for that day.
    page.get_by_role("button", name="Stop working").click()
    page.goto(f"{base}/?day={when.date().isoformat()}")
    expect(page.get_by_role("cell", name="Kunde 2")).to_be_visible()


def test_the_card_refuses_a_bad_value_and_saves_a_good_one(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    customer = world.customer(1)
    log_in(page, live_server.url, "agent")
    page.get_by_role("button", name="Start working").first.click()

    page.get_by_role("button", name="Edit Ansatte").click()
    field = page.get_by_role("textbox", name="Ansatte", exact=True)
    field.fill("mange")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_role("alert")).to_contain_text("is not a number")
    customer.refresh_from_db()
    assert customer.fields["employees"] is None

    field.fill("42")
    field.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Saved")
    customer.refresh_from_db()
    assert customer.fields["employees"] == 42


def test_a_predictive_campaign_refuses_manual_taking(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    world.campaign.presentation_mode = PresentationMode.MANUAL
    world.campaign.save()
    customer = world.customer(1)
    log_in(page, live_server.url, "agent")
    page.goto(f"{live_server.url}/campaigns/{world.campaign.pk}/customers/")
    # The supervisor turns the campaign predictive while the list is open.
    world.campaign.presentation_mode = PresentationMode.PREDICTIVE
    world.campaign.save()
    page.get_by_role("button", name="Take customer").click()
    expect(page.locator(".message.error")).to_contain_text("cannot be taken by hand")
    expect(page.get_by_role("button", name="Take customer")).to_have_count(0)
    assert Placement.objects.get(pk=customer.pk).holder is None


def test_an_outcome_can_be_registered_with_the_keyboard_alone(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    customer = world.customer(1)
    world.customer(2)
    log_in(page, live_server.url, "agent")
    page.get_by_role("button", name="Start working").first.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Kunde 1")).to_be_visible()
    page.wait_for_load_state()

    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")

    page.keyboard.press("2")  # "Ring tilbake": a follow-up comes with its default time
    expect(page.locator("#follow_up_at")).not_to_have_value("")
    page.keyboard.type("Ring etter lunsj")  # the cursor is in the first field: the comment
    page.keyboard.press("Control+Enter")

    expect(page.get_by_role("heading", name="Kunde 2")).to_be_visible()
    event = Event.objects.get(customer=customer)
    assert event.outcome.key == "call_back" and event.comment == "Ring etter lunsj"
    assert Placement.objects.get(pk=customer.pk).follow_up_user == world.agent


def test_a_consumer_campaign_on_a_saturday_says_when_it_opens_and_refuses_to_start(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
    world: World,
    time_machine: TimeMachineFixture,
) -> None:
    """DESIGN.md rule 11: no consumer is called on a Saturday; My work says when it opens."""
    crm = CRMFactory(data_owner=world.crm.data_owner, kind=CRM.Kind.B2C, name="Privat")
    consumers = CampaignFactory(crm=crm, name="Strøm privat")
    customer = world.customer(1, campaign=consumers)
    register_loaded()  # the register is good: only the hours close the campaign
    time_machine.move_to(dt.datetime(2026, 12, 5, 10, 0, tzinfo=OSLO))  # a Saturday, ticking
    log_in(page, live_server.url, "agent")

    row = page.locator(".campaign-row").filter(has_text="Strøm privat")
    expect(row).to_contain_text("Opens Monday 09:00")
    expect(page.locator(".campaign-row").filter(has_text="Strøm bedrift")).not_to_contain_text(
        "Opens"
    )
    row.get_by_role("button", name="Start working").click()

    expect(page.locator(".message.error")).to_contain_text(
        "The campaign is closed for calls now. It opens Monday 09:00."
    )
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    assert Placement.objects.get(pk=customer.pk).holder is None
