"""Calls and SMS from the customer screen in Chromium (S7, issue 14), through the console
provider. SMS: the agent picks a template, sees the message as it will go with its length,
sends it and sees it delivered; the customer's STOPP, written in the outbox, blocks the
number; customer details show both. Calls: the agent follows the call on the screen, an
unanswered one pre-selects "no answer", and the call log shows the registration it led to."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kundeflyt.accounts.permissions import Perm
from kundeflyt.crm.models import BlockedNumber, Customer
from kundeflyt.telephony.models import Call, Purpose, Sms, SmsTemplate
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


def test_an_agent_calls_the_customer_no_answer_is_pre_selected_and_the_call_is_in_the_log(
    page: Page,
    live_server,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    world.campaign.calls_enabled = True
    world.campaign.caller_number = "21000000"
    world.campaign.save()
    customer = world.customer(1, phone1="41234567")
    world.agent.phone = "+4798765432"
    world.agent.save()
    log_in(page, live_server.url, "agent")
    page.get_by_role("button", name="Start working").first.click()

    page.get_by_role("button", name="Call 41 23 45 67").click()
    panel = page.locator("#call-panel")
    expect(panel).to_contain_text("Call to 41 23 45 67")
    expect(panel.locator(".badge")).to_have_text("Ringing")
    panel.get_by_role("button", name="Customer answers").click()
    expect(panel.locator(".badge")).to_have_text("Answered")
    panel.get_by_role("button", name="Hang up").click()
    expect(panel).to_contain_text("talk time 0:")
    expect(panel.get_by_role("button")).to_have_count(0)

    # A second call nobody answers: "no answer" is chosen for the agent, who saves it.
    page.get_by_role("button", name="Call 41 23 45 67").click()
    panel.get_by_role("button", name="No answer").click()
    expect(panel.locator(".badge")).to_have_text("No answer")
    no_answer = page.get_by_role("radio", name=re.compile(r"\bIkke svar$"))
    expect(no_answer).to_be_checked()
    page.get_by_label("After saving").select_option("stay")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#messages")).to_contain_text("Saved")

    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    log = page.locator("#call-list")
    expect(log.locator("li")).to_have_count(2)
    expect(log.locator("li").first).to_contain_text("No answer")
    expect(log.locator("li").first).to_contain_text("Registered: Ikke svar")
    expect(log.locator("li").nth(1)).to_contain_text("Answered")
    assert Call.objects.filter(event__isnull=False).count() == 2  # both led to the save
