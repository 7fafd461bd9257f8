"""SMS through 46elks, end to end over HTTP on this machine: the agent's message goes to a
local 46elks (tests/telephony/fakes.py) with the data owner's API credentials, 46elks'
delivery reports and the customer's replies come back over HTTP into the hook view, and
every way the provider can fail ends as the agent can understand it, never sent twice."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from kundeflyt.accounts.permissions import Perm
from kundeflyt.common.errors import DomainError
from kundeflyt.crm.models import CRM, BlockedNumber, Customer
from kundeflyt.privacy.models import PrivacyRequest, Right
from kundeflyt.telephony.backends import BACKENDS
from kundeflyt.telephony.models import Backend, ProviderAccount, Sms
from kundeflyt.telephony.services import RETRY_DELAYS, provider_account_save, sms_due_send
from tests.factories import CampaignFactory, CRMFactory, UserFactory
from tests.telephony.conftest import PHONE, Send, Texting
from tests.telephony.fakes import Answer, FakeElks, closed_port_url, elks  # noqa: F401


@pytest.fixture
def account(
    texting: Texting,
    elks: FakeElks,  # noqa: F811
    live_server: LiveServer,
    settings: Any,
) -> ProviderAccount:
    """The data owner sends through 46elks (the local one); callbacks reach the live server."""
    settings.TELEPHONY_API_URLS = {"46elks": elks.api_url, "twilio": closed_port_url()}
    settings.PUBLIC_BASE_URL = live_server.url
    administrator = UserFactory(perms=[Perm.ADMINISTRATOR])
    return provider_account_save(
        administrator,
        account=ProviderAccount(
            data_owner=texting.world.crm.data_owner, backend=Backend.ELKS, username=elks.username
        ),
        secret=elks.password,
    )


def shown_address(account: ProviderAccount, kind: str) -> str:
    """The callback address the administrator's page shows, to be given to 46elks."""
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


# --- Sending --------------------------------------------------------------------------------


def test_a_message_goes_to_46elks_with_the_api_credentials_and_an_authenticated_report_address(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    live_server: LiveServer,
) -> None:
    """Given a data owner set up with 46elks, when the agent sends an SMS, then 46elks gets
    one form POST with the API username and password, and a delivery-report address with
    Kundeflyt's own callback credentials in it; the message waits as "queued" under
    46elks' id."""
    sms = send(text="Hei! Fastpris i tre år.")

    [request] = elks.sms_requests()
    assert request.basic_auth == (elks.username, elks.password)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    host = live_server.url.removeprefix("http://")
    assert request.form == {
        "from": "Nordlys",
        "to": PHONE,
        "message": "Hei! Fastpris i tre år.",
        "whendelivered": (
            f"http://kundeflyt:{account.callback_secret}@{host}"
            f"/telephony/hooks/{account.pk}/sms-status/?sms={sms.key}"
        ),
    }
    assert re.fullmatch(r"s[0-9a-f]{32}", sms.provider_id)
    assert sms.provider_id in elks.messages
    assert (sms.status, sms.backend, sms.attempts, sms.error) == ("queued", "46elks", 1, "")
    assert sms.next_attempt_at is None


def test_without_a_public_address_no_report_is_asked_for(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    settings: Any,
) -> None:
    """Nothing will report on it: taken by 46elks is as far as Kundeflyt will know, "sent"
    (not "queued" for ever, which would keep the screen asking)."""
    settings.PUBLIC_BASE_URL = ""

    sms = send(text="Hei")

    [request] = elks.sms_requests()
    assert "whendelivered" not in request.form
    assert sms.status == "sent" and sms.provider_id


# --- Delivery reports -----------------------------------------------------------------------


def test_reports_move_the_status_forward_and_never_back(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    texting: Texting,
    client: Client,
) -> None:
    """46elks reports "sent", then "delivered"; the same report again, or a late "sent",
    is acknowledged (so 46elks stops retrying) and changes nothing."""
    sms = send(text="Hei")

    assert elks.report(sms.provider_id, "sent").status == 200
    sms.refresh_from_db()
    assert sms.status == "sent"

    assert elks.report(sms.provider_id, "delivered").status == 200
    sms.refresh_from_db()
    assert sms.status == "delivered"
    delivered_at = sms.status_at

    assert elks.report(sms.provider_id, "delivered").status == 200
    assert elks.report(sms.provider_id, "sent").status == 200
    sms.refresh_from_db()
    assert (sms.status, sms.status_at) == ("delivered", delivered_at)
    assert "Delivered" in agent_sees(client, texting)


def test_a_failed_report_fails_the_message_for_good(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
) -> None:
    sms = send(text="Hei")

    assert elks.report(sms.provider_id, "failed").status == 200
    assert elks.report(sms.provider_id, "delivered").status == 200

    sms.refresh_from_db()
    assert sms.status == "failed"


FORGED: dict[str, Callable[[FakeElks, ProviderAccount], tuple[str, str] | None]] = {
    "no credentials": lambda fake, account: None,
    "a wrong password": lambda fake, account: ("kundeflyt", "wrong"),
    "the password with another user": lambda fake, account: ("admin", account.callback_secret),
    "46elks' own API credentials": lambda fake, account: (fake.username, fake.password),
}


@pytest.mark.parametrize("forged", FORGED.values(), ids=FORGED.keys())
def test_a_forged_report_is_refused_and_changes_nothing(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    forged: Callable[[FakeElks, ProviderAccount], tuple[str, str] | None],
) -> None:
    """46elks' reports are not signed: only the credentials in the address prove them."""
    sms = send(text="Hei")

    for status in ("delivered", "failed"):
        assert elks.report(sms.provider_id, status, auth=forged(elks, account)).status == 403

    sms.refresh_from_db()
    assert (sms.status, sms.error) == ("queued", "")


def test_a_report_on_an_unknown_message_or_account_is_not_found(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    live_server: LiveServer,
) -> None:
    """A report on a message Kundeflyt does not know (yet) answers 404, so 46elks tries
    again later; so does one to an account that does not exist, or a hook of no kind."""
    status_url = shown_address(account, "sms-status")
    assert elks.report("s" + "0" * 32, "delivered", url=status_url).status == 404

    elsewhere = status_url.replace(f"/hooks/{account.pk}/", f"/hooks/{account.pk + 1000}/")
    sms = send(text="Hei")
    assert elks.report(sms.provider_id, "delivered", url=elsewhere).status == 404
    nowhere = status_url.replace("/sms-status/", "/sms-nothing/")
    assert elks.report(sms.provider_id, "delivered", url=nowhere).status == 404

    sms.refresh_from_db()
    assert sms.status == "queued"


# --- The customer's replies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "message"),
    [
        ("004791234567", "STOPP"),
        ("+47 912 34 567", " stopp "),
        (PHONE, "Stopp."),
    ],
)
def test_stopp_from_the_customer_puts_the_number_on_the_data_owners_block_list(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    texting: Texting,
    sender: str,
    message: str,
) -> None:
    """Given the customer's number in any format 46elks may pass on, STOPP blocks the
    number for the data owner, blocks the customer, and the privacy log records the
    objection; the reply is kept on the customer's history, and none is sent back. 46elks
    delivering the same SMS again records it once."""
    inbound = shown_address(account, "sms-in")
    sms_id = "s" + "1" * 32

    hook = elks.text_in(url=inbound, sender=sender, message=message, sms_id=sms_id)
    again = elks.text_in(url=inbound, sender=sender, message=message, sms_id=sms_id)

    assert hook.status == again.status == 200
    assert hook.body == b"" and elks.replies == []
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
        elks.number,
        message,
    )
    assert (reply.status, reply.provider_id, reply.backend) == ("received", sms_id, "46elks")

    with pytest.raises(DomainError, match="block list"):
        send(text="Hei igjen")
    assert elks.sms_requests() == []


def test_an_ordinary_reply_is_kept_and_blocks_nothing(
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    texting: Texting,
) -> None:
    hook = elks.text_in(
        url=shown_address(account, "sms-in"), sender=PHONE, message="Ring meg i morgen"
    )

    assert hook.status == 200
    [reply] = Sms.objects.filter(direction="in")
    assert (reply.customer, reply.text) == (texting.customer, "Ring meg i morgen")
    assert not BlockedNumber.objects.exists() and not PrivacyRequest.objects.exists()
    assert not Customer.objects.get(pk=texting.customer.pk).is_blocked


def test_stopp_binds_only_the_data_owner_it_was_sent_to(
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    texting: Texting,
) -> None:
    """The same person is a customer of another data owner, with an account of its own at
    46elks: STOPP to this data owner's number blocks nothing there (GDPR Art. 21 binds the
    controller the objection was made to)."""
    other_campaign = CampaignFactory(crm=CRMFactory(kind=CRM.Kind.B2B))
    other = texting.world.customer("x1", campaign=other_campaign, phone1=PHONE)

    hook = elks.text_in(url=shown_address(account, "sms-in"), sender=PHONE, message="STOPP")

    assert hook.status == 200
    assert list(BlockedNumber.objects.values_list("data_owner", flat=True)) == [
        account.data_owner_id
    ]
    assert Customer.objects.get(pk=texting.customer.pk).is_blocked
    assert not Customer.objects.get(pk=other.pk).is_blocked
    [reply] = Sms.objects.filter(direction="in")
    assert reply.customer == texting.customer and reply.data_owner_id == account.data_owner_id


def test_another_data_owners_callback_credentials_reach_none_of_our_messages(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
) -> None:
    """Another data owner's 46elks account has callback credentials of its own: through its
    hook they are genuine, yet they name a message that is not its own, so nothing moves;
    and they open no other account's hook."""
    sms = send(text="Hei")
    other = provider_account_save(
        UserFactory(perms=[Perm.ADMINISTRATOR]),
        account=ProviderAccount(
            data_owner=CRMFactory().data_owner, backend=Backend.ELKS, username="other"
        ),
        secret="other-password",
    )
    theirs = shown_address(other, "sms-status")
    ours_with_their_credentials = theirs.replace(f"/hooks/{other.pk}/", f"/hooks/{account.pk}/")

    assert elks.report(sms.provider_id, "failed", url=theirs).status == 404
    assert elks.report(sms.provider_id, "failed", url=ours_with_their_credentials).status == 403

    sms.refresh_from_db()
    assert sms.status == "queued"


@pytest.mark.parametrize("credentials", [None, ("kundeflyt", "wrong")])
def test_a_forged_stopp_is_refused_and_blocks_nothing(
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    texting: Texting,
    credentials: tuple[str, str] | None,
) -> None:
    hook = elks.text_in(
        url=shown_address(account, "sms-in"), sender=PHONE, message="STOPP", auth=credentials
    )

    assert hook.status == 403
    assert not Sms.objects.exists() and not BlockedNumber.objects.exists()
    assert not Customer.objects.get(pk=texting.customer.pk).is_blocked


# --- When 46elks fails ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [503, 429])
def test_an_overloaded_provider_is_tried_again_later_and_the_message_goes_once(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    texting: Texting,
    client: Client,
    status: int,
) -> None:
    """503 and 429 prove nothing was sent: the message stays queued, the agent sees why and
    when it is tried again, and the sweep sends it once when it is due (not before)."""
    elks.answer_next(Answer(status=status))

    sms = send(text="Hei")

    assert (sms.status, sms.provider_id, sms.attempts) == ("queued", "", 1)
    assert sms.next_attempt_at is not None and sms.error.startswith(f"{status}: ")
    assert "trying again at" in agent_sees(client, texting)
    assert sms_due_send(now=timezone.now()) == 0
    assert len(elks.sms_requests()) == 1

    assert sms_due_send(now=later(sms)) == 1

    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.error, sms.next_attempt_at) == ("queued", 2, "", None)
    assert sms.provider_id in elks.messages
    assert sms_due_send(now=timezone.now() + dt.timedelta(days=1)) == 0
    assert len(elks.sms_requests()) == 2


def test_after_the_last_retry_the_message_fails(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
) -> None:
    tries = len(RETRY_DELAYS) + 1
    elks.answer_next(*[Answer(status=503)] * tries)

    sms = send(text="Hei")
    while sms.status == "queued":
        assert sms_due_send(now=later(sms, by=dt.timedelta(hours=2))) == 1
        sms.refresh_from_db()

    assert (sms.status, sms.attempts, sms.provider_id) == ("failed", tries, "")
    assert sms.error.startswith("503: ") and sms.next_attempt_at is None
    assert len(elks.sms_requests()) == tries
    assert sms_due_send(now=timezone.now() + dt.timedelta(days=1)) == 0


def test_a_refused_connection_is_tried_again(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    settings: Any,
) -> None:
    """Nothing listens at the provider's address: nothing can have been sent."""
    settings.TELEPHONY_API_URLS = {**settings.TELEPHONY_API_URLS, "46elks": closed_port_url()}

    sms = send(text="Hei")

    assert (sms.status, sms.provider_id) == ("queued", "")
    assert sms.next_attempt_at is not None and "refused" in sms.error.lower()

    settings.TELEPHONY_API_URLS = {**settings.TELEPHONY_API_URLS, "46elks": elks.api_url}
    assert sms_due_send(now=later(sms)) == 1

    sms.refresh_from_db()
    assert sms.status == "queued" and sms.provider_id in elks.messages
    assert len(elks.sms_requests()) == 1


def test_an_invalid_number_fails_at_once_with_46elks_message(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
) -> None:
    elks.invalid_numbers.add(PHONE)

    sms = send(text="Hei")

    assert (sms.status, sms.error, sms.next_attempt_at) == (
        "failed",
        "400: Invalid to number",
        None,
    )
    assert sms_due_send(now=timezone.now() + dt.timedelta(days=1)) == 0
    assert len(elks.sms_requests()) == 1


@pytest.mark.parametrize(
    ("answer", "error", "went_out"),
    [
        pytest.param(Answer(status=500), "500: Internal server error", False, id="500"),
        pytest.param(Answer(status=504, acted=True), "504: <html>", True, id="gateway timeout"),
        pytest.param(Answer(status=502, acted=True), "502: <html>", True, id="bad gateway"),
        pytest.param(
            Answer(delay=2.0),
            "no answer in time: it may have been sent",
            True,
            id="no answer in time",
        ),
        pytest.param(Answer(hang_up=True), "Remote end closed connection", True, id="hung up"),
        pytest.param(Answer(cut_short=True), "unexpected answer", True, id="answer cut short"),
        pytest.param(
            Answer(cut_chunked=True),
            "the answer broke off: it may have been sent",
            True,
            id="chunked answer cut short",
        ),
    ],
)
def test_a_failure_that_may_have_sent_the_message_is_never_retried(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    settings: Any,
    answer: Answer,
    error: str,
    went_out: bool,
) -> None:
    """An error inside 46elks, a gateway in front of it that gave up waiting, an answer that
    never comes, a connection closed before or during the answer: the message may have gone
    out (here it did, but for the 500), so it is failed for a person to look at, and never
    sent a second time."""
    settings.TELEPHONY_TIMEOUT_SECONDS = 0.3
    elks.answer_next(answer)

    sms = send(text="Hei")

    assert (sms.status, sms.next_attempt_at, sms.provider_id) == ("failed", None, "")
    assert error in sms.error
    assert len(elks.messages) == int(went_out)
    assert sms_due_send(now=timezone.now() + dt.timedelta(days=1)) == 0
    assert len(elks.sms_requests()) == 1


def test_a_wrong_api_password_fails_the_message(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
) -> None:
    provider_account_save(
        UserFactory(perms=[Perm.ADMINISTRATOR]), account=account, secret="not-the-password"
    )

    sms = send(text="Hei")

    assert sms.status == "failed" and sms.error.startswith("401: ")
    assert sms_due_send(now=timezone.now() + dt.timedelta(days=1)) == 0
    assert len(elks.sms_requests()) == 1 and elks.messages == {}


def test_an_unreadable_stored_secret_fails_the_message_before_anything_is_sent(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    settings: Any,
) -> None:
    settings.CREDENTIALS_KEY = "another key"

    sms = send(text="Hei")

    assert sms.status == "failed" and "can't be read" in sms.error
    assert elks.requests == []


def test_with_an_unreadable_stored_secret_reports_and_stopp_still_arrive(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    texting: Texting,
    settings: Any,
) -> None:
    """46elks' callbacks are proven by Kundeflyt's own callback credentials, not by the API
    password: when the stored password can't be read (CREDENTIALS_KEY changed), sending
    stops, but a delivery report and a customer's STOPP are still taken, not refused until
    46elks gives up on them."""
    sms = send(text="Hei")
    settings.CREDENTIALS_KEY = "another key"

    assert elks.report(sms.provider_id, "delivered").status == 200
    hook = elks.text_in(url=shown_address(account, "sms-in"), sender=PHONE, message="STOPP")

    assert hook.status == 200
    sms.refresh_from_db()
    assert sms.status == "delivered"
    assert BlockedNumber.objects.filter(phone=PHONE, data_owner=account.data_owner).exists()
    assert elks.report(sms.provider_id, "failed", auth=None).status == 403


def test_a_message_46elks_took_is_not_failed_while_its_delivery_report_is_slow(
    send: Send,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
) -> None:
    """A phone that is off gets its SMS when it is switched on, maybe hours later: until
    46elks reports, the message is on its way, not "stopped half-way"."""
    sms = send(text="Hei")

    sms_due_send(now=timezone.now() + dt.timedelta(hours=1))
    assert elks.report(sms.provider_id, "delivered").status == 200

    sms.refresh_from_db()
    assert (sms.status, sms.error) == ("delivered", "")
