"""A working day in Chromium (issue 8): the screen keeps what it shows true, a refused save can
be reloaded safely, the keyboard reaches work at once, and a day of work loses no customer."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from kundeflyt.campaigns.models import Product
from kundeflyt.handling.models import Event, Placement
from kundeflyt.handling.selectors import placements_out_of_reach
from tests.browser.test_agent_day import log_in
from tests.world import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_call_button_dials_the_number_just_saved_on_the_card(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    """Item 3: after the phone was edited, Call and SMS still dialled the old number."""
    world.campaign.calls_enabled = True
    world.campaign.save()
    world.customer(1, phone1="41234567")
    log_in(page, live_server.url, "agent")
    page.get_by_role("button", name="Start working").first.click()
    call = page.get_by_role("link", name="Call")
    expect(call).to_have_attribute("href", "tel:+4741234567")

    page.get_by_role("button", name="Edit Phone", exact=True).click()
    field = page.get_by_role("textbox", name="Phone", exact=True)
    field.fill("98765432")
    field.press("Enter")

    expect(page.get_by_role("status")).to_have_text("Saved")
    expect(call).to_have_attribute("href", "tel:+4798765432")
    expect(call).to_contain_text("98 76 54 32")

    page.get_by_role("button", name="Edit Name").click()
    name = page.get_by_role("textbox", name="Name", exact=True)
    name.fill("Kunde Én")
    name.press("Enter")
    expect(page.get_by_role("heading", name="Kunde Én", level=1)).to_be_visible()


def test_a_refused_save_stays_on_the_screen_and_a_reload_posts_nothing(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    """Item 8: a refused save left the browser at /screen/save/, so a reload posted again."""
    world.customer(1)
    Product.objects.create(campaign=world.campaign, name="Fastpris")
    log_in(page, live_server.url, "agent")
    page.get_by_role("button", name="Start working").first.click()

    sale = page.get_by_role("radio", name=re.compile(r"\bSalg$"))
    sale.check()
    expect(page.get_by_label("Comment")).to_be_visible()
    page.get_by_role("button", name="Save").click()  # no product: refused

    expect(page.get_by_role("alert")).to_contain_text("Not saved: Add at least one product.")
    assert page.url == f"{live_server.url}/screen/"
    expect(sale).to_be_checked()  # the agent's choice is kept

    page.reload()
    expect(page.get_by_role("heading", name="Kunde 1")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    assert not Event.objects.exists()


def test_start_working_is_one_shortcut_away_and_every_shortcut_is_listed(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    """Item 11: Start working was 35 Tab presses away from My work."""
    world.customer(1)
    log_in(page, live_server.url, "agent")

    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    for shortcut in ("Start working the first campaign", "Choose an outcome", "Next customer"):
        expect(help_dialog).to_contain_text(shortcut)
    page.keyboard.press("Escape")

    page.keyboard.press("Alt+S")
    expect(page.get_by_role("heading", name="Kunde 1")).to_be_visible()

    # Or with the skip link: Tab, Enter, Tab, Enter.
    page.get_by_role("button", name="Stop working").click()
    expect(page.get_by_text("You have stopped working")).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to campaigns")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Start working").first).to_be_focused()


def test_the_side_panel_shows_what_is_due_and_takes_it(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    """Item 5: the panel showed the 25 oldest overdue follow-ups and none coming, unlinked."""
    now = timezone.now()
    world.customer(1)
    due = world.customer(2)
    coming = world.customer(3)
    Placement.objects.filter(pk=due.pk).update(
        follow_up_at=now - dt.timedelta(hours=1), follow_up_user=world.agent
    )
    Placement.objects.filter(pk=coming.pk).update(
        follow_up_at=now + dt.timedelta(hours=2), follow_up_user=world.agent
    )
    log_in(page, live_server.url, "agent")
    page.get_by_role("button", name="Start working").first.click()

    panel = page.get_by_role("region", name="My follow-ups")
    expect(panel).to_contain_text("1 due now")
    expect(panel.get_by_role("link", name="Kunde 3")).to_be_visible()
    panel.get_by_role("button", name="Take Kunde 2").click()

    expect(page.get_by_role("heading", name="Kunde 2")).to_be_visible()
    assert Placement.objects.get(pk=due.pk).holder == world.agent


def test_a_day_of_attempts_on_follow_ups_loses_no_customer(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    """Done when: an agent works a whole campaign in Chromium, with attempts on follow-up
    customers, and placements_verify finds no lost customer afterwards."""
    offer = world.campaign.flow.states.get(key="offer")
    customers = [world.customer(n, segment=world.hot if n % 2 else world.cold) for n in range(8)]
    for customer in customers[:4]:  # due shared follow-ups in "Tilbud sendt"
        Placement.objects.filter(pk=customer.pk).update(
            state=offer, follow_up_at=timezone.now() - dt.timedelta(minutes=5)
        )
    log_in(page, live_server.url, "agent")
    page.get_by_role("button", name="Start working").first.click()

    for _ in customers:
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_text(re.compile(r"^Kunde \d$"))
        shown = heading.inner_text()
        page.wait_for_load_state()  # the keyboard script is in
        page.keyboard.press("1")  # "Ikke svar"
        expect(page.get_by_label("Comment")).to_be_visible()
        page.keyboard.press("Control+Enter")
        expect(page.get_by_role("heading", level=1)).not_to_have_text(shown)

    assert Event.objects.filter(outcome__key="no_answer").count() == len(customers)
    assert not placements_out_of_reach("lost").exists()
    out = io.StringIO()
    call_command("placements_verify", stdout=out)
    assert "Lost (no one will ever be presented them): 0" in out.getvalue()
    for customer in customers[:4]:
        placement = Placement.objects.get(pk=customer.pk)
        assert placement.state == offer and placement.follow_up_at > timezone.now()


def test_a_long_overdue_list_opens_from_its_count_and_takes_a_customer(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    """My work brings only the count of a long overdue list; opening it, by mouse or keyboard,
    brings the latest ones, each one a take away."""
    now = timezone.now()
    for n in range(1, 9):
        customer = world.customer(n)
        Placement.objects.filter(pk=customer.pk).update(
            follow_up_at=now - dt.timedelta(days=1, hours=n), follow_up_user=world.agent
        )
    log_in(page, live_server.url, "agent")

    folded = page.locator("summary", has_text="8 overdue from earlier days")
    expect(folded).to_be_visible()
    expect(page.get_by_role("link", name="Kunde 1", exact=True)).to_have_count(0)
    folded.focus()
    page.keyboard.press("Enter")

    rows = page.locator(".overdue-list tbody tr")
    expect(rows).to_have_count(8)
    expect(rows.first).to_contain_text("Kunde 1")  # the latest first
    rows.first.get_by_role("button", name="Take customer").click()

    expect(page.get_by_role("heading", name="Kunde 1")).to_be_visible()
