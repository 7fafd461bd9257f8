"""SMS from the customer screen in Chromium (S7, issue 14), through the console provider: the
agent picks a template, sees the message as it will go with its length, sends it, and sees it
delivered; a supervisor sees it on the customer's details; the customer's STOPP, written in
the outbox, puts the number on the block list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kundeflyt.accounts.permissions import Perm
from kundeflyt.crm.models import BlockedNumber, Customer
from kundeflyt.telephony.models import Purpose, Sms, SmsTemplate
from tests.browser.test_agent_day import log_in
from tests.factories import UserFactory
from tests.world import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_texts_a_customer_from_a_template_and_the_reply_stopp_blocks_the_number(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    world.campaign.sms_enabled = True
    world.campaign.sms_sender = "Nordlys"
    world.campaign.save()
    SmsTemplate.objects.create(
        campaign=world.campaign,
        name="Avtalen",
        purpose=Purpose.SERVICE,
        text="Hei {navn}! Her er avtalen. Hilsen {selger}",
    )
    customer = world.customer(1, phone1="41234567")
    texter = UserFactory(
        username="texter", first_name="Siri", perms=[Perm.CUSTOMER_HANDLING, Perm.SMS]
    )
    world.crm.data_owner.users.add(texter)
    log_in(page, live_server.url, "texter")
    page.get_by_role("button", name="Start working").first.click()

    page.get_by_role("button", name=re.compile(r"^SMS 41 23 45 67")).click()
    dialog = page.get_by_role("dialog", name="SMS to Kunde 1")
    expect(dialog).to_be_visible()
    message = dialog.get_by_role("textbox", name="Message")
    expect(message).to_be_focused()
    message.fill("Hei! 😀")
    expect(dialog.locator("#sms-measure")).to_contain_text("7 characters · 1 SMS · UCS-2")
    expect(dialog.locator("#sms-measure")).to_contain_text("70 characters instead of 160")

    dialog.get_by_label("Template").select_option(label="Avtalen (service message)")
    expect(message).to_have_value("Hei Kunde 1! Her er avtalen. Hilsen Siri")
    expect(message).to_have_attribute("readonly", "")
    expect(dialog.locator("#sms-measure")).to_contain_text("40 characters · 1 SMS · GSM-7")
    page.keyboard.press("Control+Enter")

    expect(dialog.get_by_role("status")).to_have_text("The SMS to 41 23 45 67 is on its way.")
    sent = dialog.locator(".sms.out").first
    expect(sent).to_contain_text("Delivered")
    expect(sent).to_contain_text("Hei Kunde 1! Her er avtalen. Hilsen Siri")
    expect(sent).to_contain_text("to 41 23 45 67, by Siri")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    sms = Sms.objects.get()
    assert (sms.status, sms.to, sms.sender) == ("delivered", "+4741234567", "Nordlys")

    # The customer answers STOPP (written in the console's outbox by an administrator).
    setup = UserFactory(username="setup", perms=[Perm.CAMPAIGN_SETUP, Perm.CUSTOMER_HANDLING])
    world.crm.data_owner.users.add(setup)
    page.context.clear_cookies()
    log_in(page, live_server.url, "setup")
    page.goto(f"{live_server.url}/telephony/outbox/")
    row = page.get_by_role("row").filter(has_text="Hei Kunde 1!")
    row.get_by_label("Reply from 41 23 45 67").fill("Stopp")
    row.get_by_role("button", name="Reply").click()
    expect(page.get_by_role("status").or_(page.locator(".message.success"))).to_contain_text(
        "The reply was received."
    )
    assert BlockedNumber.objects.filter(
        phone="+4741234567", data_owner=world.crm.data_owner
    ).exists()
    assert Customer.objects.get(pk=customer.pk).is_blocked

    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    history = page.locator("#sms-list")
    expect(history.locator(".sms.in")).to_contain_text("Stopp")
    expect(history.locator(".sms.in")).to_contain_text("Received")
    expect(history.locator(".sms.out")).to_contain_text("Delivered")
