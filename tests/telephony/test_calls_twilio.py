"""Click-to-call through Twilio, end to end over HTTP on this machine: the call is placed
with a local Twilio (tests/telephony/fakes.py) as the data owner's account, with TwiML that
dials the customer from the campaign's number; Twilio's signed status callbacks of the
customer's leg, of the agent's leg and of the recording come back over HTTP into the hook
view; anything not signed with the account's auth token is refused, a report only moves a
call forward, and a call the provider refused is ended once, never placed again."""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils.html import escape
from pytest_django.live_server_helper import LiveServer

from kundeflyt.accounts.permissions import Perm
from kundeflyt.handling.models import Placement
from kundeflyt.handling.services import outcome_register
from kundeflyt.telephony import calls
from kundeflyt.telephony.backends import BACKENDS
from kundeflyt.telephony.models import Backend, Call, ProviderAccount
from kundeflyt.telephony.services import provider_account_save
from tests.factories import UserFactory
from tests.telephony.conftest import PHONE, Texting
from tests.telephony.fakes import (  # noqa: F401
    Answer,
    FakeTwilio,
    closed_port_url,
    twilio,
    twilio_signature,
)

AGENT_PHONE = "+4798765432"
CALLER = "+4721000000"


@pytest.fixture
def calling(texting: Texting) -> Texting:
    """The agent has a phone for calls; the campaign makes calls from its own number."""
    texting.agent.phone = AGENT_PHONE
    texting.agent.save()
    texting.world.campaign.calls_enabled = True
    texting.world.campaign.caller_number = CALLER
    texting.world.campaign.save()
    return texting


@pytest.fixture
def account(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    live_server: LiveServer,
    settings: Any,
) -> ProviderAccount:
    """The data owner calls through Twilio (the local one); callbacks reach the live server."""
    settings.TELEPHONY_API_URLS = {"46elks": closed_port_url(), "twilio": twilio.api_url}
    settings.PUBLIC_BASE_URL = live_server.url
    settings.TELEPHONY_TIMEOUT_SECONDS = 2.0
    return provider_account_save(
        UserFactory(perms=[Perm.ADMINISTRATOR]),
        account=ProviderAccount(
            data_owner=calling.world.crm.data_owner,
            backend=Backend.TWILIO,
            username=twilio.account_sid,
        ),
        secret=twilio.auth_token,
    )


def place(texting: Texting, phone: str = PHONE) -> Call:
    """The agent presses Call: committed at once, and the worker places it (the tests run
    background tasks at once)."""
    call = calls.call_start(texting.agent, customer_id=texting.customer.pk, phone=phone)
    call.refresh_from_db()
    return call


def fresh(call: Call) -> Call:
    return Call.objects.get(pk=call.pk)


def state(call: Call) -> tuple[str, str, int | None, str]:
    call = fresh(call)
    return call.status, call.result, call.duration_seconds, call.recording_url


def hook_address(account: ProviderAccount, key: uuid.UUID | str, leg: str) -> str:
    base = BACKENDS[account.backend](account, "").callback_url("call")
    return f"{base}?call={key}&leg={leg}"


def agent_sees(client: Client, texting: Texting, call: Call) -> str:
    """The screen's call panel, as the agent's browser asks for it."""
    client.force_login(texting.agent)
    page = client.get("/telephony/calls/panel/", {"call": call.pk})
    assert page.status_code == 200
    return page.content.decode()


def acknowledged(*hooks: Any) -> bool:
    """Twilio wants a 2xx, and an empty body or TwiML: nothing else is read."""
    return all(
        hook.status == 200 and (hook.body == b"" or hook.body.lstrip().startswith(b"<?xml"))
        for hook in hooks
    )


# --- Placing the call -----------------------------------------------------------------------


def test_a_call_rings_the_agent_through_twilio_with_twiml_that_dials_the_customer(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    live_server: LiveServer,
    client: Client,
) -> None:
    """Given a data owner set up with Twilio, when the agent calls the customer, then Twilio
    gets one form POST to the account's Calls resource with the AccountSid and AuthToken
    that rings the agent's phone from the campaign's number, with well-formed TwiML that
    dials the customer with the campaign's number as caller id, recorded from the answer,
    and each leg's progress and the recording reported to addresses with the call's key."""
    call = place(calling)

    [request] = twilio.call_requests()
    assert request.path == f"/2010-04-01/Accounts/{twilio.account_sid}/Calls.json"
    assert request.basic_auth == (twilio.account_sid, twilio.auth_token)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    progress = f"{live_server.url}/telephony/hooks/{account.pk}/call/?call={call.key}"
    assert set(request.form) == {"To", "From", "Timeout", "StatusCallback", "Twiml"}
    assert (request.form["To"], request.form["From"], request.form["Timeout"]) == (
        AGENT_PHONE,
        CALLER,
        "30",
    )
    assert request.form["StatusCallback"] == f"{progress}&leg=agent"

    twiml = twilio.twiml(call.provider_id)
    assert twiml.tag == "Response" and [child.tag for child in twiml] == ["Dial"]
    dial = twilio.dial(call.provider_id)
    assert dial.attrib == {
        "callerId": CALLER,
        "timeout": "30",
        "record": "record-from-answer",
        "recordingStatusCallback": f"{progress}&leg=recording",
    }
    assert [child.tag for child in dial] == ["Number"]
    number = twilio.dialled(call.provider_id)
    assert (number.text or "").strip() == PHONE
    assert number.attrib == {
        "statusCallbackEvent": "ringing answered completed",
        "statusCallback": f"{progress}&leg=customer",
    }
    for address in (dial.get("recordingStatusCallback", ""), number.get("statusCallback", "")):
        parts = urlsplit(address)
        assert parts.username is None and parts.password is None  # Twilio signs instead
        assert parse_qs(parts.query)["call"] == [str(call.key)]

    assert re.fullmatch(r"CA[0-9a-f]{32}", call.provider_id)
    assert (call.status, call.result, call.backend, call.error) == ("ringing", "", "twilio", "")
    assert "Ringing" in agent_sees(client, calling, call)


def test_without_a_public_address_the_twiml_asks_for_no_callbacks(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    settings: Any,
) -> None:
    settings.PUBLIC_BASE_URL = ""

    call = place(calling)

    [request] = twilio.call_requests()
    assert "StatusCallback" not in request.form
    dial = twilio.dial(call.provider_id)
    assert dial.attrib == {"callerId": CALLER, "timeout": "30"}
    assert (dial.text, list(dial)) == (PHONE, [])
    assert call.status == "ended" and "PUBLIC_BASE_URL" in call.error


# --- How the call goes ----------------------------------------------------------------------


def test_an_answered_call_goes_ringing_answered_ended_with_its_talk_time_and_recording(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    client: Client,
) -> None:
    """The customer's leg rings, is answered (in-progress) and completes after 42 s; the
    agent's leg completes after it, and the recording's address comes last."""
    call = place(calling)
    sid = call.provider_id

    assert acknowledged(twilio.customer_leg(sid, "ringing"))
    assert state(call) == ("ringing", "", None, "")

    assert acknowledged(twilio.customer_leg(sid, "in-progress"))
    answered = fresh(call)
    assert (answered.status, answered.result) == ("answered", "")
    assert answered.answered_at is not None and answered.ended_at is None

    assert acknowledged(twilio.customer_leg(sid, "completed", duration=42))
    assert state(call) == ("ended", "answered", 42, "")
    ended = fresh(call)
    assert ended.answered_at == answered.answered_at and ended.ended_at is not None

    assert acknowledged(twilio.agent_leg(sid, "completed", duration=55))
    recording = f"https://api.twilio.com/2010-04-01/Accounts/{twilio.account_sid}/Recordings/RE1"
    assert acknowledged(twilio.recording(sid, recording_url=recording))
    assert state(call) == ("ended", "answered", 42, recording)
    panel = agent_sees(client, calling, call)
    assert "Answered" in panel and "0:42" in panel


def test_callbacks_delivered_again_or_late_change_nothing(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
) -> None:
    call = place(calling)
    sid = call.provider_id
    twilio.customer_leg(sid, "in-progress")
    twilio.customer_leg(sid, "completed", duration=42)
    first = "https://api.twilio.com/recordings/RE1"
    twilio.recording(sid, recording_url=first)
    ended = fresh(call)

    late = [
        twilio.customer_leg(sid, "completed", duration=42),
        twilio.customer_leg(sid, "completed", duration=50),
        twilio.customer_leg(sid, "ringing"),
        twilio.customer_leg(sid, "in-progress"),
        twilio.customer_leg(sid, "busy"),
        twilio.agent_leg(sid, "completed", duration=60),
        twilio.agent_leg(sid, "no-answer"),
        twilio.recording(sid, recording_url="https://api.twilio.com/recordings/RE2"),
    ]

    assert acknowledged(*late)
    again = fresh(call)
    assert state(call) == ("ended", "answered", 42, first)
    assert (again.answered_at, again.ended_at) == (ended.answered_at, ended.ended_at)


@pytest.mark.parametrize(
    ("status", "result"), [("no-answer", "no_answer"), ("busy", "busy"), ("failed", "failed")]
)
def test_a_customer_leg_that_is_not_answered_ends_the_call_with_why_and_the_agents_end_keeps_it(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    status: str,
    result: str,
) -> None:
    call = place(calling)
    sid = call.provider_id
    twilio.customer_leg(sid, "ringing")

    assert acknowledged(twilio.customer_leg(sid, status))
    assert state(call) == ("ended", result, 0, "")
    assert fresh(call).answered_at is None

    assert acknowledged(twilio.agent_leg(sid, "completed", duration=31))
    assert state(call) == ("ended", result, 0, "")


@pytest.mark.parametrize("status", ["completed", "no-answer", "busy", "failed", "canceled"])
def test_the_agents_leg_ending_with_no_word_of_the_customer_fails_the_call(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    status: str,
) -> None:
    """The agent's phone never answered (or the call ended before the customer was dialled):
    the parent call's end is the only report."""
    call = place(calling)

    assert acknowledged(twilio.agent_leg(call.provider_id, status))

    assert state(call)[:2] == ("ended", "failed")
    assert fresh(call).answered_at is None


def test_the_agents_end_arriving_before_the_customers_end_keeps_an_answered_call_answered(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
) -> None:
    """Both legs end together when one hangs up; their callbacks may come in either order."""
    call = place(calling)
    sid = call.provider_id
    twilio.customer_leg(sid, "in-progress")

    assert acknowledged(twilio.agent_leg(sid, "completed", duration=50))
    assert acknowledged(twilio.customer_leg(sid, "completed", duration=42))

    assert state(call) == ("ended", "answered", 42, "")


@pytest.mark.parametrize("status", ["in-progress", "absent", "failed"])
def test_a_recording_that_is_not_completed_stores_nothing(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    status: str,
) -> None:
    call = place(calling)
    twilio.customer_leg(call.provider_id, "completed", duration=42)

    assert acknowledged(twilio.recording(call.provider_id, status=status))

    assert state(call) == ("ended", "answered", 42, "")


def test_a_registration_after_the_call_is_linked_to_it(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    client: Client,
) -> None:
    call = place(calling)
    twilio.customer_leg(call.provider_id, "no-answer")
    token = Placement.objects.get(pk=calling.customer.pk).lease_token

    event = outcome_register(
        calling.agent,
        customer_id=calling.customer.pk,
        token=token,
        outcome_id=calling.world.outcome("no_answer").pk,
    )

    assert fresh(call).event == event
    client.force_login(calling.agent)
    page = client.get("/telephony/calls/list/", {"customer": calling.customer.pk})
    assert page.status_code == 200
    assert "No answer" in page.content.decode()


# --- Callbacks that are not Twilio's or not about the call ----------------------------------

FORGERIES: dict[str, dict[str, Any]] = {
    "no signature": {"signature": ""},
    "a wrong signature": {"signature": base64.b64encode(secrets.token_bytes(20)).decode()},
    "signed with another token": {"token": secrets.token_hex(16)},
    "fields changed after signing": {"tamper": {"CallDuration": "4200"}},
    "another account's callback": {"extra": {"AccountSid": "AC" + secrets.token_hex(16)}},
    "another account's, signed with its token": {
        "extra": {"AccountSid": "AC" + secrets.token_hex(16)},
        "token": secrets.token_hex(16),
    },
}


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_callback_is_refused_and_changes_nothing(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    forgery: dict[str, Any],
) -> None:
    call = place(calling)
    sid = call.provider_id

    hooks = [
        twilio.customer_leg(sid, "in-progress", **forgery),
        twilio.customer_leg(sid, "completed", duration=42, **forgery),
        twilio.agent_leg(sid, "completed", **forgery),
        twilio.recording(sid, **forgery),
    ]

    assert [hook.status for hook in hooks] == [403] * 4
    assert state(call) == ("ringing", "", None, "")


def test_a_callback_signed_for_another_calls_address_is_refused(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
) -> None:
    """A genuine callback replayed to another call's address: the signature covers the
    address, key and leg included."""
    call = place(calling)
    sid = call.provider_id
    genuine = hook_address(account, uuid.uuid4(), "customer")

    fields = {
        "AccountSid": twilio.account_sid,
        "CallSid": "CA" + "1" * 32,
        "ParentCallSid": sid,
        "CallStatus": "completed",
        "CallDuration": "42",
    }
    signature = twilio_signature(twilio.auth_token, genuine, fields.items())
    ours = hook_address(account, call.key, "customer")
    replayed = twilio.signed_post(ours, fields, signature=signature)

    assert replayed.status == 403
    assert state(call) == ("ringing", "", None, "")


def two_calls(calling: Texting, twilio: FakeTwilio) -> tuple[Call, Call]:  # noqa: F811
    """An earlier call, answered and over, and the one ringing now."""
    earlier = place(calling)
    twilio.customer_leg(earlier.provider_id, "in-progress")
    twilio.customer_leg(earlier.provider_id, "completed", duration=42)
    return fresh(earlier), place(calling)


@pytest.mark.parametrize(
    "address_of",
    [
        pytest.param(
            "earlier",
            id="the earlier call's address",
        ),
        pytest.param("now", id="the ringing call's address"),
    ],
)
def test_a_callback_with_our_key_but_another_calls_sid_changes_neither_call(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    address_of: str,
) -> None:
    earlier, now = two_calls(calling, twilio)
    if address_of == "earlier":
        key, other_sid = earlier.key, now.provider_id
    else:
        key, other_sid = now.key, earlier.provider_id

    hooks = [
        twilio.customer_leg(other_sid, "in-progress", url=hook_address(account, key, "customer")),
        twilio.agent_leg(other_sid, "no-answer", url=hook_address(account, key, "agent")),
        twilio.recording(other_sid, url=hook_address(account, key, "recording")),
    ]

    assert state(earlier) == ("ended", "answered", 42, "")
    assert state(now) == ("ringing", "", None, "")
    assert [hook.status for hook in hooks] == [404] * 3


def test_a_callback_on_an_unknown_call_is_not_found(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
) -> None:
    """Neither our key nor Twilio's SID known (or a key that is no key): 404, nothing moves;
    a leg or status Kundeflyt never asked for is a bad request."""
    call = place(calling)
    unknown = "CA" + "0" * 32

    for key in (uuid.uuid4(), "not-a-key", ""):
        for leg in ("customer", "agent"):
            hook = twilio.agent_leg(
                call.provider_id,
                "completed",
                url=hook_address(account, key, leg),
                extra={"CallSid": unknown, "ParentCallSid": unknown},
            )
            assert hook.status == 404, (key, leg)
    assert (
        twilio.customer_leg(
            call.provider_id, "ringing", url=hook_address(account, call.key, "dance")
        ).status
        == 400
    )
    dancing = twilio.customer_leg(call.provider_id, "ringing", extra={"CallStatus": "dancing"})
    assert dancing.status == 400
    elsewhere = hook_address(account, call.key, "customer").replace(
        f"/hooks/{account.pk}/", f"/hooks/{account.pk + 1000}/"
    )
    assert twilio.customer_leg(call.provider_id, "ringing", url=elsewhere).status == 404

    assert state(call) == ("ringing", "", None, "")


# --- When Twilio refuses --------------------------------------------------------------------


def wrong_token(twilio: FakeTwilio, account: ProviderAccount, settings: Any) -> None:  # noqa: F811
    provider_account_save(
        UserFactory(perms=[Perm.ADMINISTRATOR]), account=account, secret="not-the-token"
    )


def invalid_agent_phone(twilio: FakeTwilio, account: ProviderAccount, settings: Any) -> None:  # noqa: F811
    twilio.invalid_numbers.add(AGENT_PHONE)


def internal_error(twilio: FakeTwilio, account: ProviderAccount, settings: Any) -> None:  # noqa: F811
    twilio.answer_next(Answer(status=500))


def too_slow(twilio: FakeTwilio, account: ProviderAccount, settings: Any) -> None:  # noqa: F811
    settings.TELEPHONY_TIMEOUT_SECONDS = 0.3
    twilio.answer_next(Answer(delay=1.0))


def unreachable(twilio: FakeTwilio, account: ProviderAccount, settings: Any) -> None:  # noqa: F811
    settings.TELEPHONY_API_URLS = {**settings.TELEPHONY_API_URLS, "twilio": closed_port_url()}


REFUSALS = [
    pytest.param(invalid_agent_phone, "400: Invalid 'To' Phone Number", 1, id="400"),
    pytest.param(wrong_token, "401: Authenticate", 1, id="401"),
    pytest.param(internal_error, "500: Internal server error", 1, id="500"),
    pytest.param(too_slow, "no answer in time", 1, id="timeout"),
    pytest.param(unreachable, "refused", 0, id="connection refused"),
]


@pytest.mark.parametrize(("refusal", "error", "reached"), REFUSALS)
def test_a_call_twilio_does_not_take_ends_failed_once_with_the_reason_shown(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
    settings: Any,
    client: Client,
    refusal: Callable[[FakeTwilio, ProviderAccount, Any], None],
    error: str,
    reached: int,
) -> None:
    """Whatever went wrong, the call is ended as failed with the reason for the agent to
    read, and never placed again (a call may have rung): the agent may call once more."""
    refusal(twilio, account, settings)

    call = place(calling)

    assert (call.status, call.result, call.provider_id) == ("ended", "failed", "")
    assert error in call.error and call.ended_at is not None
    assert len(twilio.call_requests()) == reached
    assert escape(call.error) in agent_sees(client, calling, call)
    assert calls.call_place(call.pk) is None  # never placed again

    settings.TELEPHONY_API_URLS = {**settings.TELEPHONY_API_URLS, "twilio": twilio.api_url}
    twilio.invalid_numbers.clear()
    provider_account_save(
        UserFactory(perms=[Perm.ADMINISTRATOR]), account=account, secret=twilio.auth_token
    )
    again = place(calling)
    assert again.status == "ringing" and again.provider_id in twilio.calls
    assert len(twilio.call_requests()) == reached + 1
    assert state(call)[:2] == ("ended", "failed")


def test_a_call_failed_by_a_gateway_takes_no_report_from_its_legs(
    calling: Texting,
    twilio: FakeTwilio,  # noqa: F811
    account: ProviderAccount,
) -> None:
    """A gateway in front of Twilio gave up waiting, yet Twilio placed the call: it stays
    failed as the agent was told, whatever its legs report."""
    twilio.answer_next(Answer(status=504, acted=True))

    call = place(calling)

    assert (call.status, call.result, call.provider_id) == ("ended", "failed", "")
    [placed] = twilio.calls
    assert twilio.customer_leg(placed, "in-progress").status == 404
    assert twilio.customer_leg(placed, "completed", duration=42).status == 404
    assert state(call) == ("ended", "failed", None, "")
    assert len(twilio.call_requests()) == 1
