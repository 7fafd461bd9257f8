"""Customer details in Chromium (D1–D16): inspect, administer, correct, without taking."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Browser, Page, expect

from kundeflyt.campaigns.models import PresentationMode
from kundeflyt.handling.models import CorrectionRequest, Event, Placement
from kundeflyt.handling.services import AfterSave, customer_select, outcome_register
from tests.factories import CampaignFactory
from tests.world import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()


def registered(world: World, customer_id: int, key: str, **kwargs: object) -> Event:
    selection = customer_select(world.agent, customer_id=customer_id)
    return outcome_register(
        world.agent,
        customer_id=customer_id,
        token=selection.token,
        outcome_id=world.outcome(key).pk,
        then=AfterSave.MY_WORK,
        **kwargs,
    )  # type: ignore[arg-type]


def open_details(page: Page, base: str, query: str, name: str) -> None:
    page.get_by_role("searchbox", name="Search customers").fill(query)
    page.keyboard.press("Enter")
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def test_details_show_the_customer_and_edit_fields_without_taking_it(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    customer = world.customer("K-1", phone1="91234567")
    log_in(page, live_server.url, "supervisor")
    open_details(page, live_server.url, "912 34 567", "Kunde K-1")

    # Privacy facts behind the padlock.
    page.get_by_text("Privacy").click()
    expect(page.get_by_text(world.crm.data_owner.name).first).to_be_visible()
    # An empty field has its pencil; a bad value is refused, a good one saved.
    page.get_by_role("button", name="Edit Ansatte").click()
    field = page.get_by_role("textbox", name="Ansatte", exact=True)
    field.fill("mange")
    field.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("is not a number")
    field.fill("12")
    field.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    # All fields at once with the table's pencil.
    page.get_by_role("button", name="Edit all fields").click()
    page.get_by_label("Org.nr.", exact=True).fill("123")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("not a valid organisation number")
    page.get_by_label("Org.nr.", exact=True).fill("923 609 016")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("923609016")).to_be_visible()

    customer.refresh_from_db()
    assert customer.fields["employees"] == 12 and customer.fields["org_number"] == "923609016"
    assert Placement.objects.get(pk=customer.pk).holder is None  # D2: never taken


def test_presence_shows_live_who_has_the_customer_open(
    page: Page,
    browser: Browser,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    customer = world.customer("K-1")
    log_in(page, live_server.url, "supervisor")
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    expect(page.get_by_text("Nobody has the customer open")).to_be_visible()

    agent = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    log_in(agent, live_server.url, "agent")
    agent.goto(f"{live_server.url}/customers/{customer.pk}/")
    agent.get_by_role("button", name="Take customer").click()
    expect(agent.get_by_role("heading", name="Outcome")).to_be_visible()

    expect(page.get_by_text("Kari Nordmann has the customer open")).to_be_visible(timeout=12_000)
    agent.context.close()


def test_taking_from_details_is_refused_with_the_reason(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    held = world.customer("K-1")
    customer_select(world.agent2, customer_id=held.pk)
    log_in(page, live_server.url, "agent")
    page.goto(f"{live_server.url}/customers/{held.pk}/")
    page.get_by_role("button", name="Take customer").click()
    expect(page.locator(".message.error")).to_contain_text("Ola Hansen has this customer open")

    world.campaign.presentation_mode = PresentationMode.PREDICTIVE
    world.campaign.save()
    page.reload()
    expect(page.get_by_text("Predictive campaign")).to_be_visible()
    expect(page.get_by_role("button", name="Take customer")).to_have_count(0)


def test_state_actions_follow_up_and_moves(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    customer = world.customer("K-1", segment=world.hot)
    registered(
        world,
        customer.pk,
        "call_back",
        follow_up_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=3),
    )
    other = CampaignFactory(crm=world.crm, name="Gjenvinning")
    log_in(page, live_server.url, "supervisor")
    page.goto(f"{live_server.url}/customers/{customer.pk}/")

    when = (dt.datetime.now() + dt.timedelta(days=2)).replace(hour=9, minute=15)
    page.get_by_label("Follow-up time").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Responsible").select_option(label="Ola Hansen")
    page.get_by_role("button", name="Change follow-up").click()
    expect(page.locator(".message.success")).to_have_text("The follow-up is changed.")
    placement = Placement.objects.get(pk=customer.pk)
    assert placement.follow_up_user == world.agent2
    assert placement.follow_up_at is not None

    page.get_by_label("Move to segment").select_option(label="Kalde")
    page.get_by_role("button", name="Move").first.click()
    expect(page.locator(".message.success")).to_have_text("The customer is moved.")
    assert Placement.objects.get(pk=customer.pk).segment == world.cold

    page.get_by_label("Move to campaign").select_option(label="Gjenvinning")
    page.get_by_role("button", name="Move").nth(1).click()
    expect(page.locator(".message.success")).to_have_text("The customer is moved.")
    placement = Placement.objects.get(pk=customer.pk)
    assert placement.campaign == other and placement.segment is None
    assert placement.follow_up_at is None and placement.state.kind == "available"


def test_send_for_correction_then_the_agent_corrects_from_my_work(
    page: Page,
    browser: Browser,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    customer = world.customer("K-1")
    wrong = registered(world, customer.pk, "refused", comment="Feil")
    log_in(page, live_server.url, "supervisor")
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    event = page.locator(f"#event-{wrong.pk}")
    event.locator("summary").first.click()
    event.locator("summary", has_text="Send for correction").click()
    event.get_by_label("Reason").fill("Kunden ba om å bli ringt opp igjen")
    event.get_by_label("Ring tilbake").check()
    event.get_by_role("button", name="Send for correction").click()
    expect(page.locator(".message.success")).to_have_text("Sent for correction.")

    agent = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    log_in(agent, live_server.url, "agent")
    corrections = agent.get_by_role("region", name="For correction")
    expect(corrections).to_contain_text("Kunden ba om å bli ringt opp igjen")
    corrections.get_by_role("button", name="Open").click()
    outcomes = agent.locator("input[name=outcome]")
    expect(outcomes).to_have_count(1)  # only the allowed outcome
    agent.get_by_text("Ring tilbake").click()
    expect(agent.locator("#follow_up_at")).not_to_have_value("")  # its fields have arrived
    agent.get_by_role("button", name="Save").click()
    expect(agent.get_by_role("heading", name="Campaigns")).to_be_visible()
    agent.context.close()

    wrong.refresh_from_db()
    assert wrong.is_corrected and wrong.corrected_by.outcome.key == "call_back"
    assert CorrectionRequest.objects.get().status == "done"
    page.reload()
    expect(page.get_by_text("corrected").first).to_be_visible()


def test_correct_it_myself_and_report_appearance(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    customer = world.customer("K-1")
    first = registered(world, customer.pk, "no_answer")
    wrong = registered(world, customer.pk, "refused", comment="Feil")
    log_in(page, live_server.url, "supervisor")
    page.goto(f"{live_server.url}/customers/{customer.pk}/")

    # Report appearance of the first registration: out of the reports.
    event = page.locator(f"#event-{first.pk}")
    event.locator("summary").first.click()
    event.get_by_text("Report appearance", exact=True).click()
    event.get_by_label("Included in reports").uncheck()
    event.get_by_role("button", name="Save report appearance").click()
    expect(page.locator(".message.success")).to_have_text("The report appearance is saved.")
    first.refresh_from_db()
    assert not first.included_in_reports

    # Correct the latest myself, as me, now: the customer screen opens from the state before.
    event = page.locator(f"#event-{wrong.pk}")
    event.locator("summary").first.click()
    event.get_by_text("Correct it myself", exact=True).click()
    event.get_by_label("as me, now").check()
    event.get_by_role("button", name="Correct in the customer screen").click()
    expect(page.get_by_role("heading", name="Outcome")).to_be_visible()
    page.get_by_text("Ring tilbake").click()
    expect(page.locator("#follow_up_at")).not_to_have_value("")  # its fields have arrived
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()

    wrong.refresh_from_db()
    assert wrong.is_corrected
    new = wrong.corrected_by
    assert new.counts_for_user == world.supervisor and new.actor_user == world.supervisor
    assert Placement.objects.get(pk=customer.pk).state.key == "available"


def test_selected_customers_can_be_released_by_a_supervisor(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    customer = world.customer("K-1")
    customer_select(world.agent, customer_id=customer.pk)
    log_in(page, live_server.url, "supervisor")
    page.get_by_role("link", name="Selected customers").click()
    expect(page.get_by_role("cell", name="Kari Nordmann", exact=True)).to_be_visible()
    page.get_by_role("button", name="Release Kunde K-1 from Kari Nordmann").click()
    expect(page.locator(".message.success")).to_have_text("The customer is released.")
    assert Placement.objects.get(pk=customer.pk).holder is None
