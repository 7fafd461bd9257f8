"""In Chromium: a privacy officer opens the data owner's record of processing (GDPR Art. 30)
from the privacy page, reads it, and prints it without the page's controls."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from kundeflyt.accounts.permissions import Perm
from kundeflyt.webhooks.models import EventType, Subscription
from tests.browser.test_privacy import log_in
from tests.browser.test_webhooks import screenshot
from tests.factories import UserFactory
from tests.world import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_officer_opens_the_record_of_processing_from_the_privacy_page(
    page: Page, live_server: Any, world: World
) -> None:
    officer = UserFactory(
        username="officer", first_name="Pia", last_name="Vern", perms=[Perm.PRIVACY_OFFICER]
    )
    world.crm.data_owner.users.add(officer)
    world.campaign.purpose = "Salg av strømavtaler til bedrifter"
    world.campaign.save()
    Subscription.objects.create(
        data_owner=world.crm.data_owner,
        url="https://crm.example.no/hooks/kundeflyt",
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        events=[EventType.CUSTOMER_ANONYMISED.value],
    )
    log_in(page, live_server.url, officer.username)

    page.get_by_role("link", name="Privacy", exact=True).click()
    page.get_by_role("link", name=f"Record of processing for {world.crm.data_owner.name}").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Record of processing: {world.crm.data_owner.name}"
    )
    campaign = page.get_by_role("region", name="Strøm bedrift")
    expect(campaign).to_contain_text("Salg av strømavtaler til bedrifter")
    expect(campaign).to_contain_text("Legitimate interest (GDPR Art. 6(1)(f))")
    data = page.get_by_role("table", name="Personal data in Strøm bedrift")
    expect(data.get_by_role("row", name="Ansatte Number")).to_be_visible()
    expect(page.get_by_role("table", name="Webhooks")).to_contain_text("crm.example.no")
    expect(page.get_by_role("table", name="Who has access")).to_contain_text("Pia Vern")
    screenshot(page, "privacy-record")

    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print or save as PDF")).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
