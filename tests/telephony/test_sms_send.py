"""Sending an SMS from the customer screen (S7) through the console provider: who may, to
which numbers, with which words, and what the history keeps."""

from __future__ import annotations

from typing import Any

import pytest

from kundeflyt.common.errors import Conflict, DomainError, NotAllowed, NotFound
from kundeflyt.crm.models import CRM, BlockedNumber
from kundeflyt.handling.services import customer_release
from kundeflyt.telephony.models import Purpose, Sms, SmsTemplate
from kundeflyt.telephony.services import sms_attempt, sms_send
from tests.factories import CampaignFactory, UserFactory
from tests.telephony.conftest import PHONE, Send, Texting


def test_a_template_goes_filled_in_and_is_delivered_by_the_console(
    texting: Texting, send: Send
) -> None:
    texting.customer.marketing_consent_on = texting.customer.created_at.date()
    texting.customer.save()

    sms = send(template_id=texting.offer.pk)

    assert sms.text == "Hei Kunde 1! Fastpris i tre år. Svar STOPP for å melde deg av. Hilsen Siri"
    assert (sms.status, sms.sender, sms.to, sms.user) == (
        "delivered",
        "Nordlys",
        PHONE,
        texting.agent,
    )
    assert sms.purpose == Purpose.MARKETING and sms.template == texting.offer
    assert sms.provider_id == f"console-{sms.key}" and sms.attempts == 1 and sms.segments == 1


def test_marketing_to_a_consumer_without_consent_is_refused_and_a_service_message_goes(
    texting: Texting, send: Send
) -> None:
    CRM.objects.filter(pk=texting.world.crm.pk).update(kind=CRM.Kind.B2C)

    with pytest.raises(DomainError, match="consent") as refused:
        send(template_id=texting.offer.pk)
    assert refused.value.field == "purpose"
    with pytest.raises(DomainError, match="consent"):
        send(text="Kjøp nå!", purpose=Purpose.MARKETING)
    assert not Sms.objects.exists()

    texting.customer.fields["org_number"] = "923609016"
    texting.customer.save()
    sms = send(template_id=texting.receipt.pk)
    assert (sms.purpose, sms.status) == (Purpose.SERVICE, "delivered")
    assert sms.text == "Hei Kunde 1, her er avtalen (923609016)."
    sms = send(text="Møtet er flyttet til kl. 14.", purpose=Purpose.SERVICE)
    assert sms.status == "delivered"


def test_a_business_customer_needs_no_consent(send: Send) -> None:
    assert send(text="Hei!", purpose=Purpose.MARKETING).status == Sms.Status.DELIVERED


def test_a_placeholder_the_customer_has_no_value_for_is_refused(
    texting: Texting, send: Send
) -> None:
    with pytest.raises(DomainError, match=r"\{org_number\}"):
        send(template_id=texting.receipt.pk)
    assert not Sms.objects.exists()


def test_a_blocked_number_gets_nothing(texting: Texting, send: Send) -> None:
    BlockedNumber.objects.create(phone=PHONE, data_owner=texting.world.crm.data_owner)

    with pytest.raises(DomainError, match="block list") as refused:
        send(text="Hei")
    assert refused.value.field == "phone"
    assert send(text="Hei", phone="+4741234567").status == "delivered"


def test_a_number_blocked_after_writing_stops_the_message_before_it_goes(
    texting: Texting, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        sms = sms_send(texting.agent, customer_id=texting.customer.pk, phone=PHONE, text="Hei")
    BlockedNumber.objects.create(phone=PHONE, data_owner=texting.world.crm.data_owner)

    sms_attempt(sms.pk)

    sms.refresh_from_db()
    assert (sms.status, sms.provider_id, sms.attempts) == ("failed", "", 0)
    assert "block list" in sms.error


@pytest.mark.parametrize(
    ("phone", "text", "field"),
    [
        ("+4790000000", "Hei", "phone"),  # not the customer's
        (PHONE, "", "text"),
        (PHONE, "x" * 1001, "text"),
        (PHONE, "Hei\x00", "text"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    send: Send, phone: str, text: str, field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        send(phone=phone, text=text)
    assert refused.value.field == field
    assert not Sms.objects.exists()


def test_only_from_the_screen_of_the_customer_and_with_the_sms_permission(
    texting: Texting, send: Send
) -> None:
    other = texting.world.customer(2, phone1="+4798765432")
    with pytest.raises(Conflict, match="customer screen"):
        send(customer_id=other.pk, phone="+4798765432", text="Hei")

    without = UserFactory()
    texting.world.crm.data_owner.users.add(without)
    with pytest.raises(NotAllowed):
        send(user=without, text="Hei")

    customer_release(texting.agent, customer_id=texting.customer.pk)
    with pytest.raises(Conflict):
        send(text="Hei")
    assert not Sms.objects.exists()


def test_a_campaign_without_sms_refuses(texting: Texting, send: Send) -> None:
    texting.world.campaign.sms_enabled = False
    texting.world.campaign.save()
    with pytest.raises(NotAllowed, match="does not send SMS"):
        send(text="Hei")


def test_a_template_of_another_campaign_is_not_found(texting: Texting, send: Send) -> None:
    elsewhere = SmsTemplate.objects.create(
        campaign=CampaignFactory(crm=texting.world.crm), name="Annen", text="Hei"
    )
    with pytest.raises(NotFound):
        send(template_id=elsewhere.pk)


def test_marketing_to_consumers_waits_for_the_calling_hours(
    texting: Texting,
    send: Send,
    time_machine: Any,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    import datetime as dt

    from kundeflyt.campaigns.calling_hours import OSLO
    from kundeflyt.handling.services import customer_select
    from tests.conftest import register_loaded

    settings.SELECTION_LEASE_SECONDS = 3600  # the agent keeps the customer open past 21:00
    CRM.objects.filter(pk=texting.world.crm.pk).update(kind=CRM.Kind.B2C)
    texting.customer.marketing_consent_on = dt.date(2026, 1, 5)
    texting.customer.save()
    time_machine.move_to(dt.datetime(2026, 12, 2, 20, 59, tzinfo=OSLO), tick=False)
    register_loaded()
    customer_select(texting.agent, customer_id=texting.customer.pk)
    with django_capture_on_commit_callbacks(execute=False):  # written at 20:59, not sent yet
        sms = sms_send(texting.agent, customer_id=texting.customer.pk, phone=PHONE, text="Tilbud!")
    time_machine.move_to(dt.datetime(2026, 12, 2, 21, 30, tzinfo=OSLO), tick=False)

    with pytest.raises(DomainError, match="closed"):
        send(text="Tilbud!", purpose=Purpose.MARKETING)
    waiting = sms_attempt(sms.pk)  # the worker came late: it waits for the morning

    assert waiting is not None and waiting.status == "queued"
    assert waiting.next_attempt_at == dt.datetime(2026, 12, 3, 9, 0, tzinfo=OSLO)
    assert send(text="Møtet er flyttet.", purpose=Purpose.SERVICE).status == "delivered"
