"""The SMS dialog, the SMS card of customer details and the console outbox, as the browser
asks for them (htmx), with the permissions and data-owner boundaries of the pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from kundeflyt.accounts.permissions import Perm
from kundeflyt.crm.models import BlockedNumber, Customer
from kundeflyt.privacy.models import PrivacyRequest
from kundeflyt.telephony.models import Sms
from tests.factories import CampaignFactory, CRMFactory, UserFactory
from tests.telephony.conftest import PHONE, Send, Texting

HTMX = {"HX-Request": "true"}


@pytest.fixture
def agent(client: Client, texting: Texting) -> Client:
    client.force_login(texting.agent)
    return client


def test_the_dialog_offers_the_numbers_and_templates_and_fills_a_template_in(
    agent: Client, texting: Texting
) -> None:
    url = reverse("telephony:sms_compose")
    page = agent.get(url, {"customer": texting.customer.pk, "phone": PHONE}, headers=HTMX)
    text = page.content.decode()
    assert page.status_code == 200
    assert "SMS to Kunde 1" in text and "91 23 45 67" in text and "41 23 45 67" in text
    assert "Tilbud (marketing)" in text and "Avtalen (service message)" in text
    assert "From Nordlys" in text

    chosen = agent.get(
        url,
        {"customer": texting.customer.pk, "phone": PHONE, "template": texting.offer.pk},
        headers=HTMX,
    )
    assert "Hei Kunde 1! Fastpris i tre år. Svar STOPP for å melde deg av. Hilsen Siri" in (
        chosen.content.decode()
    )
    assert "readonly" in chosen.content.decode()


def test_the_length_says_how_many_messages_and_which_alphabet(agent: Client) -> None:
    url = reverse("telephony:sms_measure")
    assert (
        "5 characters · 1 SMS · GSM-7 (155 left)"
        in agent.get(url, {"text": "Hæløå"}).content.decode()
    )
    long = agent.get(url, {"text": "a" * 161}).content.decode()
    assert "161 characters · 2 SMS · GSM-7 (145 left)" in long
    emoji = agent.get(url, {"text": "Hei 😀"}).content.decode()
    assert "6 characters · 1 SMS · UCS-2" in emoji and "70 characters instead of 160" in emoji


def test_sending_answers_with_the_message_on_its_way_and_in_the_list(
    agent: Client, texting: Texting, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        sent = agent.post(
            reverse("telephony:sms_send"),
            {"customer": texting.customer.pk, "phone": PHONE, "text": "Hei!", "purpose": "service"},
            headers=HTMX,
        )
    text = sent.content.decode()
    assert sent.status_code == 200
    assert "The SMS to 91 23 45 67 is on its way." in text
    assert "to 91 23 45 67, by Siri" in text
    assert "every 2s" in text  # on its way: the list asks again until it is delivered
    assert Sms.objects.get().status == "delivered"
    listed = agent.get(reverse("telephony:sms_list"), {"customer": texting.customer.pk})
    assert "Delivered" in listed.content.decode() and "every 2s" not in listed.content.decode()


def test_a_refusal_comes_back_in_the_dialog_and_sends_nothing(
    agent: Client, texting: Texting
) -> None:
    BlockedNumber.objects.create(phone=PHONE, data_owner=texting.world.crm.data_owner)
    refused = agent.post(
        reverse("telephony:sms_send"),
        {"customer": texting.customer.pk, "phone": PHONE, "text": "Hei!", "purpose": "service"},
        headers=HTMX,
    )
    assert refused.status_code == 422
    assert "Not sent: The number is on the block list." in refused.content.decode()
    assert 'aria-invalid="true"' in refused.content.decode()
    assert not Sms.objects.exists()


def test_without_the_sms_permission_the_dialog_is_refused(client: Client, texting: Texting) -> None:
    client.force_login(texting.world.agent)
    url = reverse("telephony:sms_compose")
    answer = client.get(url, {"customer": texting.customer.pk}, headers=HTMX)
    assert answer.status_code == 403
    assert "SMS" in answer.content.decode()
    screen = client.get(reverse("handling:screen"))
    assert "data-sms-open" not in screen.content.decode()


def test_the_list_costs_the_same_queries_for_3_or_30_messages(
    client: Client, texting: Texting, send: Send, django_assert_max_num_queries: Any
) -> None:
    supervisor = texting.world.supervisor
    client.force_login(supervisor)
    url = reverse("telephony:sms_list")
    for n in range(3):
        send(text=f"Melding {n}", purpose="service")
    client.get(url, {"customer": texting.customer.pk})  # the session and user, warmed
    with django_assert_max_num_queries(6) as few:
        page = client.get(url, {"customer": texting.customer.pk})
    assert page.content.decode().count('class="sms out"') == 3
    for n in range(27):
        send(text=f"Melding {n}", purpose="service")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url, {"customer": texting.customer.pk})
    assert page.content.decode().count('class="sms out"') == 20  # the latest 20


def test_another_data_owner_sees_nothing_of_the_customer_s_sms(
    client: Client, texting: Texting, send: Send
) -> None:
    send(text="Hemmelig", purpose="service")
    stranger = UserFactory(perms=[Perm.CUSTOMER_HANDLING, Perm.SMS, Perm.CAMPAIGN_SETUP])
    CRMFactory().data_owner.users.add(stranger)
    client.force_login(stranger)
    listed = client.get(reverse("telephony:sms_list"), {"customer": texting.customer.pk})
    assert listed.status_code == 422 and "Hemmelig" not in listed.content.decode()
    outbox = client.get(reverse("telephony:outbox"))
    assert outbox.status_code == 200 and "Hemmelig" not in outbox.content.decode()
    reply = client.post(
        reverse("telephony:outbox_reply"), {"sms": Sms.objects.get().pk, "text": "STOPP"}
    )
    assert reply.status_code == 302
    assert not BlockedNumber.objects.exists()


def test_a_reply_of_stopp_in_the_outbox_blocks_the_number_for_the_data_owner(
    client: Client, texting: Texting, send: Send
) -> None:
    send(text="Tilbud!", purpose="service")
    other_customer = texting.world.customer(2, phone1=PHONE)  # the same number, twice
    setup = UserFactory(perms=[Perm.CAMPAIGN_SETUP, Perm.CUSTOMER_HANDLING])
    texting.world.crm.data_owner.users.add(setup)
    client.force_login(setup)

    outbox = client.get(reverse("telephony:outbox")).content.decode()
    assert "Tilbud!" in outbox and "Kunde 1" in outbox
    client.post(reverse("telephony:outbox_reply"), {"sms": Sms.objects.get().pk, "text": "Stopp."})

    entry = BlockedNumber.objects.get()
    assert (entry.phone, entry.data_owner, entry.actor_process) == (
        PHONE,
        texting.world.crm.data_owner,
        "sms-inbound",
    )
    assert set(Customer.objects.filter(is_blocked=True).values_list("pk", flat=True)) == {
        texting.customer.pk,
        other_customer.pk,
    }
    assert PrivacyRequest.objects.get().right == "objection"
    reply = Sms.objects.get(direction="in")
    assert (reply.text, reply.status, reply.sender) == ("Stopp.", "received", PHONE)


def test_a_template_with_an_unknown_placeholder_is_refused_in_the_admin(texting: Texting) -> None:
    from django.core.exceptions import ValidationError

    from kundeflyt.telephony.models import SmsTemplate

    template = SmsTemplate(campaign=texting.world.campaign, name="Feil", text="Hei {fornavn}")
    with pytest.raises(ValidationError, match=r"\{fornavn\} is neither a field"):
        template.full_clean()
    SmsTemplate(
        campaign=CampaignFactory(crm=texting.world.crm), name="OK", text="{navn} {org_number}"
    ).full_clean()


def test_the_outbox_shows_no_message_of_a_campaign_the_user_may_not_see(
    client: Client, texting: Texting, send: Send
) -> None:
    send(text="Til en skjult kampanje", purpose="service")
    texting.world.campaign.visible_to_all = False  # only its chosen users and teams see it
    texting.world.campaign.save()
    setup = UserFactory(perms=[Perm.CAMPAIGN_SETUP, Perm.CUSTOMER_HANDLING])
    texting.world.crm.data_owner.users.add(setup)
    client.force_login(setup)

    assert "Til en skjult kampanje" not in client.get(reverse("telephony:outbox")).content.decode()
    client.post(reverse("telephony:outbox_reply"), {"sms": Sms.objects.get().pk, "text": "STOPP"})
    client.post(reverse("telephony:outbox_reply"), {"sms": "²", "text": "STOPP"})  # not a 500
    assert not BlockedNumber.objects.exists()
