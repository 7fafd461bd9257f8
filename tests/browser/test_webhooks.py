"""A supervisor in Chromium subscribes a client's system to new customers, copies the
signing secret, and sees the message delivered in the webhook's log."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from kundeflyt.accounts.permissions import Perm
from kundeflyt.crm.services import customer_create
from kundeflyt.webhooks.models import Subscription
from tests.api.conftest import grant
from tests.webhooks.conftest import Receiver, receiver  # noqa: F401 - the fixture
from tests.world import SETUP, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_subscribe_copy_the_secret_and_see_the_message_delivered(
    page: Page,
    live_server: Any,
    world: World,
    receiver: Receiver,  # noqa: F811
) -> None:
    grant(world.supervisor, Perm.API_ACCESS, Perm.CAMPAIGN_SETUP)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(world.supervisor.username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/account/")
    page.get_by_role("link", name="Manage webhooks").click()

    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    page.get_by_label("Data owner").select_option(str(world.crm.data_owner_id))
    page.get_by_label("Address").fill(receiver.url)
    page.get_by_label("Description").fill("Kundens CRM")
    page.get_by_label("Customer created").check()
    page.get_by_role("button", name="Make the webhook").click()

    secret = page.get_by_label("Signing secret")
    expect(secret).to_have_value(Subscription.objects.get().secret)
    screenshot(page, "webhooks")
    customer_create(SETUP, crm=world.crm, customer_id="W-1", name="Kari", phone1="+4791234567")
    assert len(receiver.got) == 1  # sent once the customer's transaction committed
    page.get_by_role("link", name=f"Delivery log of {receiver.url}").click()
    expect(page.get_by_role("cell", name="Delivered")).to_be_visible()
    expect(page.get_by_role("cell", name="204")).to_be_visible()
    screenshot(page, "webhook-log")


def screenshot(page: Page, name: str) -> None:
    """With ``SCREENSHOTS=<folder>``, the page as a 1440×900 window shows it, to look at."""
    if folder := os.environ.get("SCREENSHOTS"):
        page.set_viewport_size({"width": 1440, "height": 900})
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)
