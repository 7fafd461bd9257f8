"""SMS through Twilio, end to end over HTTP on this machine: the agent's message goes to a
local Twilio (tests/telephony/fakes.py) signed in as the data owner's account, Twilio's
signed status callbacks and the customer's replies come back over HTTP into the hook view,
anything not signed with the account's auth token is refused, and every way the provider
can fail ends as the agent can understand it, never sent twice."""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from kundeflyt.accounts.permissions import Perm
from kundeflyt.common.errors import DomainError
from kundeflyt.crm.models import BlockedNumber, Customer
from kundeflyt.privacy.models import PrivacyRequest, Right
from kundeflyt.telephony.backends import BACKENDS
from kundeflyt.telephony.models import Backend, ProviderAccount, Sms
from kundeflyt.telephony.services import RETRY_DELAYS, provider_account_save, sms_due_send
from tests.factories import UserFactory
from tests.telephony.conftest import PHONE, Send, Texting
from tests.telephony.fakes import (  # noqa: F401
    Answer,
    FakeElks,
    FakeTwilio,
    closed_port_url,
    elks,
    twilio,
    twilio_signature,
)


@pytest.fixture
def account(
    texting: Texting,
    twilio: FakeTwilio,  # noqa: F811
    live_server: LiveServer,
    settings: Any,
) -> ProviderAccount:
    """The data owner sends through Twilio (the local one); callbacks reach the live server."""
    settings.TELEPHONY_API_URLS = {"46elks": closed_port_url(), "twilio": twilio.api_url}
    settings.PUBLIC_BASE_URL = live_server.url
    administrator = UserFactory(perms=[Perm.ADMINISTRATOR])
    return provider_account_save(
        administrator,
        account=ProviderAccount(
            data_owner=texting.world.crm.data_owner,
            backend=Backend.TWILIO,
            username=twilio.account_sid,
        ),
        secret=twilio.auth_token,
    )


def shown_address(account: ProviderAccount, kind: str) -> str:
    """The callback address the administrator's page shows, to be given to Twilio."""
    return BACKENDS[account.backend](account, "").callback_url(kind)


def later(sms: Sms, *, by: dt.timedelta = dt.timedelta(seconds=1)) -> dt.datetime:
    assert sms.next_attempt_at is not None
    return sms.next_attempt_at + by


def agent_sees(client: Client, texting: Texting) -> str:
    """The customer's latest SMS as the agent's dialog lists them."""
    client.force_login(texting.agent)
    page = client.get("/telephony/sms/list/", {"customer": texting.customer.pk})
    assert page.status_code == 200
    return page.content.decode()


def test_the_fake_signs_as_twilio_documents() -> None:
    """The example of Twilio's webhook-security documentation, so that the fake's signature
    owes nothing to the backend's."""
    fields = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"

    assert twilio_signature("12345", url, fields.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


# --- Sending --------------------------------------------------------------------------------


def test_a_message_goes_to_twilio_as_the_account_with_a_plain_status_callback(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    live_server: LiveServer,
) -> None:
    """Given a data owner set up with Twilio, when the agent sends an SMS, then Twilio gets
    one form POST to the account's Messages resource with the AccountSid and AuthToken, and
    a status callback address without credentials (Twilio signs its callbacks); the message
    waits as "queued" under Twilio's SID."""
    sms = send(text="Hei! Fastpris i tre år.")

    [request] = twilio.sms_requests()
    assert request.path == f"/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
    assert request.basic_auth == (twilio.account_sid, twilio.auth_token)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form == {
        "From": "Nordlys",
        "To": PHONE,
        "Body": "Hei! Fastpris i tre år.",
        "StatusCallback": (
            f"{live_server.url}/telephony/hooks/{account.pk}/sms-status/?sms={sms.key}"
        ),
    }
    assert re.fullmatch(r"SM[0-9a-f]{32}", sms.provider_id)
    assert sms.provider_id in twilio.messages
    assert (sms.status, sms.backend, sms.attempts, sms.error) == ("queued", "twilio", 1, "")


# --- Status callbacks -----------------------------------------------------------------------


def test_callbacks_move_the_status_forward_and_never_back(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    texting: Texting,
    client: Client,
) -> None:
    sms = send(text="Hei")

    assert twilio.report(sms.provider_id, "sent").status == 200
    sms.refresh_from_db()
    assert sms.status == "sent"

    assert twilio.report(sms.provider_id, "delivered").status == 200
    sms.refresh_from_db()
    assert sms.status == "delivered"
    delivered_at = sms.status_at

    assert twilio.report(sms.provider_id, "delivered").status == 200
    assert twilio.report(sms.provider_id, "sent").status == 200
    assert twilio.report(sms.provider_id, "undelivered", error_code="30003").status == 200
    sms.refresh_from_db()
    assert (sms.status, sms.status_at, sms.error) == ("delivered", delivered_at, "")
    assert "Delivered" in agent_sees(client, texting)


@pytest.mark.parametrize(("status", "code"), [("undelivered", "30003"), ("failed", "30008")])
def test_a_message_twilio_could_not_deliver_fails_with_its_error_code(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    texting: Texting,
    client: Client,
    status: str,
    code: str,
) -> None:
    sms = send(text="Hei")
    assert twilio.report(sms.provider_id, "sent").status == 200

    assert twilio.report(sms.provider_id, status, error_code=code).status == 200

    sms.refresh_from_db()
    assert (sms.status, sms.error) == ("failed", f"Twilio {code}")
    assert f"Twilio {code}" in agent_sees(client, texting)


FORGERIES: dict[str, dict[str, Any]] = {
    "no signature": {"signature": ""},
    "a wrong signature": {"signature": base64.b64encode(secrets.token_bytes(20)).decode()},
    "signed with another token": {"token": secrets.token_hex(16)},
    "fields changed after signing": {"tamper": {"MessageStatus": "failed", "ErrorCode": "1"}},
    "another account's callback": {"account_sid": "AC" + secrets.token_hex(16)},
}


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_status_callback_is_refused_and_changes_nothing(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    forgery: dict[str, Any],
) -> None:
    sms = send(text="Hei")

    assert twilio.report(sms.provider_id, "delivered", **forgery).status == 403
    assert (
        twilio.report(sms.provider_id, "undelivered", error_code="30003", **forgery).status == 403
    )

    sms.refresh_from_db()
    assert (sms.status, sms.error) == ("queued", "")


def test_a_callback_signed_for_another_address_is_refused(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
) -> None:
    """The signature covers the address: a genuine callback for another address (say, the
    inbound hook) replayed to the status hook proves nothing."""
    sms = send(text="Hei")
    status_url = shown_address(account, "sms-status")
    fields = {
        "AccountSid": twilio.account_sid,
        "MessageSid": sms.provider_id,
        "MessageStatus": "delivered",
    }
    signed_elsewhere = twilio_signature(
        twilio.auth_token, shown_address(account, "sms-in"), fields.items()
    )

    assert twilio.signed_post(status_url, fields, signature=signed_elsewhere).status == 403
    assert twilio.signed_post(status_url, fields).status == 200  # the same, signed for here
    sms.refresh_from_db()
    assert sms.status == "delivered"


def test_a_callback_on_an_unknown_message_or_account_is_not_found(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
) -> None:
    status_url = shown_address(account, "sms-status")
    assert twilio.report("SM" + "0" * 32, "delivered", url=status_url).status == 404

    sms = send(text="Hei")
    elsewhere = status_url.replace(f"/hooks/{account.pk}/", f"/hooks/{account.pk + 1000}/")
    assert twilio.report(sms.provider_id, "delivered", url=elsewhere).status == 404

    sms.refresh_from_db()
    assert sms.status == "queued"


# --- The customer's replies -----------------------------------------------------------------


@pytest.mark.parametrize("body", ["STOPP", " stopp ", "Stop!"])
def test_stopp_from_the_customer_puts_the_number_on_the_data_owners_block_list(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    texting: Texting,
    body: str,
) -> None:
    """STOPP blocks the number for the data owner, blocks the customer, and the privacy log
    records the objection; the reply is kept on the customer's history. Twilio gets empty
    TwiML (no reply), and delivering the same SMS again records it once."""
    inbound = shown_address(account, "sms-in")
    sid = "SM" + "1" * 32

    hook = twilio.text_in(url=inbound, sender=PHONE, body=body, sid=sid)
    again = twilio.text_in(url=inbound, sender=PHONE, body=body, sid=sid)

    assert hook.status == again.status == 200
    assert hook.content_type.startswith("text/xml")
    assert hook.body.endswith(b"<Response></Response>")
    owner = texting.world.crm.data_owner
    assert list(BlockedNumber.objects.values_list("phone", "data_owner")) == [(PHONE, owner.pk)]
    assert Customer.objects.get(pk=texting.customer.pk).is_blocked
    [objection] = PrivacyRequest.objects.all()
    assert (objection.right, objection.customer, objection.data_owner) == (
        Right.OBJECTION,
        texting.customer,
        owner,
    )
    [reply] = Sms.objects.filter(direction="in")
    assert (reply.customer, reply.sender, reply.to, reply.text) == (
        texting.customer,
        PHONE,
        twilio.number,
        body,
    )
    assert (reply.status, reply.provider_id, reply.backend) == ("received", sid, "twilio")

    with pytest.raises(DomainError, match="block list"):
        send(text="Hei igjen")
    assert twilio.sms_requests() == []


@pytest.mark.parametrize(
    "forgery",
    [{"signature": ""}, {"token": secrets.token_hex(16)}],
    ids=["unsigned", "signed with another token"],
)
def test_a_forged_stopp_is_refused_and_blocks_nothing(
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    texting: Texting,
    forgery: dict[str, str],
) -> None:
    hook = twilio.text_in(
        url=shown_address(account, "sms-in"), sender=PHONE, body="STOPP", **forgery
    )

    assert hook.status == 403
    assert not Sms.objects.exists() and not BlockedNumber.objects.exists()
    assert not Customer.objects.get(pk=texting.customer.pk).is_blocked


# --- When Twilio fails ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [503, 429])
def test_an_overloaded_provider_is_tried_again_later_and_the_message_goes_once(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    texting: Texting,
    client: Client,
    status: int,
) -> None:
    twilio.answer_next(Answer(status=status))

    sms = send(text="Hei")

    assert (sms.status, sms.provider_id, sms.attempts) == ("queued", "", 1)
    assert sms.next_attempt_at is not None and sms.error.startswith(f"{status}: ")
    assert "trying again at" in agent_sees(client, texting)
    assert sms_due_send(now=timezone.now()) == 0
    assert len(twilio.sms_requests()) == 1

    assert sms_due_send(now=later(sms)) == 1

    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.error, sms.next_attempt_at) == ("queued", 2, "", None)
    assert sms.provider_id in twilio.messages
    assert sms_due_send(now=timezone.now() + dt.timedelta(days=1)) == 0
    assert len(twilio.sms_requests()) == 2


def test_after_the_last_retry_the_message_fails(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
) -> None:
    tries = len(RETRY_DELAYS) + 1
    twilio.answer_next(*[Answer(status=429)] * tries)

    sms = send(text="Hei")
    while sms.status == "queued":
        assert sms_due_send(now=later(sms, by=dt.timedelta(hours=2))) == 1
        sms.refresh_from_db()

    assert (sms.status, sms.attempts, sms.provider_id) == ("failed", tries, "")
    assert sms.error == "429: Too many requests"
    assert len(twilio.sms_requests()) == tries


def test_a_refused_connection_is_tried_again(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    settings: Any,
) -> None:
    settings.TELEPHONY_API_URLS = {**settings.TELEPHONY_API_URLS, "twilio": closed_port_url()}

    sms = send(text="Hei")

    assert (sms.status, sms.provider_id) == ("queued", "")
    assert sms.next_attempt_at is not None and "refused" in sms.error.lower()

    settings.TELEPHONY_API_URLS = {**settings.TELEPHONY_API_URLS, "twilio": twilio.api_url}
    assert sms_due_send(now=later(sms)) == 1

    sms.refresh_from_db()
    assert sms.status == "queued" and sms.provider_id in twilio.messages
    assert len(twilio.sms_requests()) == 1


def test_an_invalid_number_fails_at_once_with_twilios_message(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
) -> None:
    twilio.invalid_numbers.add(PHONE)

    sms = send(text="Hei")

    assert sms.status == "failed" and sms.next_attempt_at is None
    assert sms.error == f"400: The 'To' number {PHONE} is not a valid phone number."
    assert sms_due_send(now=timezone.now() + dt.timedelta(days=1)) == 0
    assert len(twilio.sms_requests()) == 1


@pytest.mark.parametrize(
    ("answer", "error", "went_out"),
    [
        pytest.param(Answer(status=500), "500: Internal server error", False, id="500"),
        pytest.param(Answer(status=504, acted=True), "504: <html>", True, id="gateway timeout"),
        pytest.param(
            Answer(delay=2.0),
            "no answer in time: it may have been sent",
            True,
            id="no answer in time",
        ),
        pytest.param(Answer(hang_up=True), "Remote end closed connection", True, id="hung up"),
    ],
)
def test_a_failure_that_may_have_sent_the_message_is_never_retried(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    settings: Any,
    answer: Answer,
    error: str,
    went_out: bool,
) -> None:
    settings.TELEPHONY_TIMEOUT_SECONDS = 0.3
    twilio.answer_next(answer)

    sms = send(text="Hei")

    assert (sms.status, sms.next_attempt_at, sms.provider_id) == ("failed", None, "")
    assert error in sms.error
    assert len(twilio.messages) == int(went_out)
    assert sms_due_send(now=timezone.now() + dt.timedelta(days=1)) == 0
    assert len(twilio.sms_requests()) == 1


def test_a_wrong_auth_token_fails_the_message(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
) -> None:
    provider_account_save(
        UserFactory(perms=[Perm.ADMINISTRATOR]), account=account, secret=secrets.token_hex(16)
    )

    sms = send(text="Hei")

    assert (sms.status, sms.error) == ("failed", "401: Authenticate")
    assert len(twilio.sms_requests()) == 1 and twilio.messages == {}


def test_an_unreadable_stored_secret_fails_the_message_before_anything_is_sent(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    settings: Any,
) -> None:
    settings.CREDENTIALS_KEY = "another key"

    sms = send(text="Hei")

    assert sms.status == "failed" and "can't be read" in sms.error
    assert twilio.requests == []


def test_with_an_unreadable_stored_token_callbacks_are_refused(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    settings: Any,
) -> None:
    """Twilio's callbacks are proven by the auth token alone: when the stored token can't be
    read (CREDENTIALS_KEY changed), none can be checked, so all are refused."""
    sms = send(text="Hei")
    settings.CREDENTIALS_KEY = "another key"

    assert twilio.report(sms.provider_id, "delivered").status == 403
    hook = twilio.text_in(url=shown_address(account, "sms-in"), sender=PHONE, body="STOPP")

    assert hook.status == 403
    sms.refresh_from_db()
    assert sms.status == "queued"
    assert not BlockedNumber.objects.exists()


def test_a_retry_after_the_data_owner_changed_provider_is_followed_to_delivery(
    send: Send,
    twilio: FakeTwilio,  # noqa: F811
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    settings: Any,
) -> None:
    """Twilio is overloaded; before the retry, the administrator moves the data owner to
    46elks. The retry goes through 46elks, and 46elks' report on it is taken."""
    settings.TELEPHONY_API_URLS = {**settings.TELEPHONY_API_URLS, "46elks": elks.api_url}
    twilio.answer_next(Answer(status=503))
    sms = send(text="Hei")
    account.backend, account.username = Backend.ELKS, elks.username
    provider_account_save(
        UserFactory(perms=[Perm.ADMINISTRATOR]), account=account, secret=elks.password
    )

    assert sms_due_send(now=later(sms)) == 1
    sms.refresh_from_db()
    assert sms.provider_id in elks.messages
    assert elks.report(sms.provider_id, "delivered").status == 200

    sms.refresh_from_db()
    assert (sms.status, sms.backend) == ("delivered", "46elks")
