"""Incoming calls and SMS (issue 14, item 5): the provider's callback finds the customer by
the caller's number in any format; the call is put through to the data owner's switchboard
(or answered busy), kept with the customer, and offered on My work to the agents who have
no customer open and may see that customer."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from kundeflyt.accounts.permissions import Perm
from kundeflyt.telephony.backends.twilio import signature
from kundeflyt.telephony.models import Call, ProviderAccount, Sms
from kundeflyt.telephony.services import provider_account_save
from tests.factories import CRMFactory, UserFactory
from tests.world import World


@pytest.fixture
def elks(world: World, settings: Any) -> ProviderAccount:
    settings.PUBLIC_BASE_URL = "http://testserver"
    admin = UserFactory(perms=[Perm.ADMINISTRATOR])
    account = ProviderAccount(
        data_owner=world.crm.data_owner, backend="46elks", username="u", forward_to="+4722000000"
    )
    return provider_account_save(admin, account=account, secret="s3cret")


def elks_post(client: Client, account: ProviderAccount, kind: str, data: dict[str, str]) -> Any:
    token = base64.b64encode(f"kundeflyt:{account.callback_secret}".encode()).decode()
    return client.post(
        reverse("telephony:hook", args=[account.pk, kind]),
        data,
        headers={"Authorization": f"Basic {token}"},
    )


def test_an_incoming_call_is_put_through_kept_and_offered_to_free_agents(
    client: Client, world: World, elks: ProviderAccount
) -> None:
    customer = world.customer(1, phone1="+4791234567")
    answer = elks_post(
        client,
        elks,
        "call-in",
        {"direction": "incoming", "callid": "c1", "from": "004791234567", "to": "+4676686000"},
    )
    again = elks_post(client, elks, "call-in", {"callid": "c1", "from": "+4791234567"})

    assert answer.status_code == 200 and answer.json() == {"connect": "+4722000000"}
    assert again.status_code == 200
    call = Call.objects.get()
    assert (call.direction, call.customer, call.caller, call.status) == (
        "in",
        customer,
        "+4791234567",
        "ringing",
    )

    client.force_login(world.agent)
    offered = client.get(reverse("telephony:calls_incoming")).content.decode()
    assert "Incoming call from 91 23 45 67" in offered and "Kunde 1" in offered
    page = client.get(reverse("handling:my_work")).content.decode()
    assert reverse("telephony:calls_incoming") in page

    stranger = UserFactory()
    CRMFactory().data_owner.users.add(stranger)
    client.force_login(stranger)
    assert "Incoming call" not in client.get(reverse("telephony:calls_incoming")).content.decode()


def test_without_a_switchboard_the_caller_hears_busy_and_twilio_gets_twiml(
    client: Client, world: World, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = "http://testserver"
    admin = UserFactory(perms=[Perm.ADMINISTRATOR])
    account = provider_account_save(
        admin,
        account=ProviderAccount(data_owner=world.crm.data_owner, backend="twilio", username="AC1"),
        secret="token",
    )
    url = reverse("telephony:hook", args=[account.pk, "call-in"])
    fields = {"CallSid": "CA1", "AccountSid": "AC1", "From": "+4798765432", "To": "+4721000000"}
    signed = signature("token", f"http://testserver{url}", list(fields.items()))

    answer = client.post(url, fields, headers={"X-Twilio-Signature": signed})
    forged = client.post(url, {**fields, "CallSid": "CA2"}, headers={"X-Twilio-Signature": signed})

    assert answer.status_code == 200 and answer["Content-Type"] == "text/xml"
    assert b'<Reject reason="busy"/>' in answer.content
    assert forged.status_code == 403
    call = Call.objects.get()
    assert (call.customer, call.caller) == (None, "+4798765432")


def test_an_incoming_sms_is_kept_with_the_customer_of_that_number(
    client: Client, world: World, elks: ProviderAccount
) -> None:
    customer = world.customer(1, phone1="+4791234567")
    elks_post(
        client,
        elks,
        "sms-in",
        {"id": "s1", "from": "+47 912 34 567", "to": "+4676686000", "message": "Ring meg i morgen"},
    )
    sms = Sms.objects.get()
    assert (sms.customer, sms.direction, sms.text) == (customer, "in", "Ring meg i morgen")
    assert not customer.__class__.objects.get(pk=customer.pk).is_blocked
