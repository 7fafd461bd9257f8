"""Giving out in Chromium (issue 10): a field filter on the data owner's customers, the live
count, the give-out to a campaign segment, and an agent presented them."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from kundeflyt.crm.services import customer_create
from kundeflyt.handling.models import Placement
from tests.browser.test_agent_day import log_in
from tests.world import SETUP, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_supervisor_gives_out_big_companies_and_an_agent_gets_them(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    for n, employees in enumerate([5, 60, 250], start=1):
        customer_create(
            SETUP,
            crm=world.crm,
            customer_id=f"L{n}",
            name=f"Løs {n}",
            fields={"employees": employees},
        )
    log_in(page, live_server.url, "supervisor")
    page.get_by_role("link", name="Customers", exact=True).click()

    page.get_by_label("Campaign").select_option(label="In no campaign")
    page.get_by_label("Information field").select_option(label="Ansatte")
    page.get_by_label("How to compare").select_option("range")
    page.get_by_placeholder("From").fill("50")
    expect(page.locator("#customer-count")).to_have_text("2 customers")

    page.get_by_role("button", name="Give out…").click()
    expect(page.get_by_text("2 customers are selected.")).to_be_visible()
    page.get_by_label("To campaign").select_option(label="Strøm bedrift")
    page.get_by_label("Segment").select_option(label="Strøm bedrift · Varme")
    page.get_by_role("button", name="Give out 2 customers").click()
    expect(page.get_by_role("status")).to_contain_text("2 placed, 0 moved")

    placed = Placement.objects.filter(segment=world.hot).values_list("customer__name", flat=True)
    assert sorted(placed) == ["Løs 2", "Løs 3"]

    agent = page.context.browser.new_page()  # type: ignore[union-attr]
    log_in(agent, live_server.url, "agent")
    agent.get_by_role("button", name="Start working").first.click()
    expect(agent.get_by_role("heading", level=1)).to_have_text("Løs 2")
