"""Calls and SMS from the customer screen in Chromium (S7, issue 14), through the console
provider. SMS: the agent picks a template, sees the message as it will go with its length,
sends it and sees it delivered; the customer's STOPP, written in the outbox, blocks the
number; customer details show both. Calls: the agent follows the call on the screen, an
unanswered one pre-selects "no answer", and the call log shows the registration it led to."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from kundeflyt.accounts.permissions import Perm
from kundeflyt.crm.models import BlockedNumber, Customer
from kundeflyt.telephony.models import Call, ProviderAccount, Purpose, Sms, SmsTemplate
from kundeflyt.telephony.services import provider_account_save
from tests.browser.test_agent_day import log_in
from tests.factories import UserFactory
from tests.telephony.fakes import FakeElks, elks  # noqa: F401 (a fixture)
from tests.telephony.test_providers_elks import shown_address
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


def test_through_46elks_the_sms_turns_delivered_when_46elks_reports_it_and_a_call_in_is_offered(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
    world: World,
    elks: FakeElks,  # noqa: F811
    settings: Any,
) -> None:
    """Over HTTP, against a local 46elks: the message goes out queued, 46elks' delivery
    report (a callback to the live server) turns it delivered in the open dialog; a customer
    calling in shows on the My work of an agent with no customer open."""
    settings.TELEPHONY_API_URLS = {"46elks": elks.api_url, "twilio": "http://127.0.0.1:9"}
    settings.PUBLIC_BASE_URL = live_server.url
    world.campaign.sms_enabled = True
    world.campaign.sms_sender = "Nordlys"
    world.campaign.save()
    account = provider_account_save(
        UserFactory(perms=[Perm.ADMINISTRATOR]),
        account=ProviderAccount(
            data_owner=world.crm.data_owner, backend="46elks", username=elks.username
        ),
        secret=elks.password,
    )
    world.customer(1, phone1="41234567")
    texter = UserFactory(username="texter", perms=[Perm.CUSTOMER_HANDLING, Perm.SMS])
    world.crm.data_owner.users.add(texter)
    log_in(page, live_server.url, "texter")
    page.get_by_role("button", name="Start working").first.click()

    page.get_by_role("button", name=re.compile(r"^SMS 41 23 45 67")).click()
    dialog = page.get_by_role("dialog", name="SMS to Kunde 1")
    dialog.get_by_role("textbox", name="Message").fill("Hei! Avtalen kommer i posten.")
    dialog.get_by_role("radio", name="Service message").check()
    dialog.get_by_role("button", name="Send SMS").click()
    sent = dialog.locator(".sms.out").first
    expect(sent).to_contain_text("Queued")
    [request] = elks.sms_requests()
    assert request.form["message"] == "Hei! Avtalen kommer i posten."

    sms_id = Sms.objects.get().provider_id
    assert elks.report(sms_id, "delivered").status == 200
    expect(sent).to_contain_text("Delivered")  # the list asked again, and was told

    # Someone calls in: an agent with no customer open sees it on My work.
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Stop working").click()
    page.goto(f"{live_server.url}/")
    answer = elks.call_back(
        shown_address(account, "call-in"),
        {"direction": "incoming", "callid": "c1", "from": "+4741234567", "to": elks.number},
    )
    assert answer.status == 200
    page.reload()
    expect(page.locator("#incoming")).to_contain_text("Incoming call from 41 23 45 67")
    expect(page.locator("#incoming").get_by_role("link", name="Kunde 1")).to_be_visible()
