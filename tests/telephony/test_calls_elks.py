"""Click-to-call through 46elks, end to end over HTTP on this machine: the call is placed
with a local 46elks (tests/telephony/fakes.py) with the data owner's API credentials; 46elks
loads the first action when the agent answers, follows the actions Kundeflyt answers (busy,
failed, the recording) and reports the end, each over HTTP into the hook view with
Kundeflyt's own callback credentials; anything without them is refused, a report only
moves a call forward, and a call the provider refused is ended once, never placed again."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils.html import escape
from pytest_django.live_server_helper import LiveServer

from kundeflyt.accounts.permissions import Perm
from kundeflyt.common.errors import Conflict
from kundeflyt.handling.models import Event, Placement
from kundeflyt.handling.services import outcome_register
from kundeflyt.telephony import calls
from kundeflyt.telephony.backends import BACKENDS
from kundeflyt.telephony.models import Backend, Call, ProviderAccount
from kundeflyt.telephony.services import provider_account_save
from tests.factories import CRMFactory, UserFactory
from tests.telephony.conftest import PHONE, Texting
from tests.telephony.fakes import Answer, FakeElks, closed_port_url, elks  # noqa: F401

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
    elks: FakeElks,  # noqa: F811
    live_server: LiveServer,
    settings: Any,
) -> ProviderAccount:
    """The data owner calls through 46elks (the local one); callbacks reach the live server."""
    settings.TELEPHONY_API_URLS = {"46elks": elks.api_url, "twilio": closed_port_url()}
    settings.PUBLIC_BASE_URL = live_server.url
    settings.TELEPHONY_TIMEOUT_SECONDS = 2.0
    return provider_account_save(
        UserFactory(perms=[Perm.ADMINISTRATOR]),
        account=ProviderAccount(
            data_owner=calling.world.crm.data_owner, backend=Backend.ELKS, username=elks.username
        ),
        secret=elks.password,
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


def hook_address(account: ProviderAccount, key: uuid.UUID | str, event: str) -> str:
    """The progress address 46elks is given for a call: Kundeflyt's callback credentials in
    it, our key and the event in its query."""
    base = BACKENDS[account.backend](account, "").callback_url("call")
    return f"{base}?call={key}&event={event}"


def agent_sees(client: Client, texting: Texting, call: Call) -> str:
    """The screen's call panel, as the agent's browser asks for it."""
    client.force_login(texting.agent)
    page = client.get("/telephony/calls/panel/", {"call": call.pk})
    assert page.status_code == 200
    return page.content.decode()


# --- Placing the call -----------------------------------------------------------------------


def test_a_call_rings_the_agent_through_46elks_with_authenticated_progress_addresses(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    live_server: LiveServer,
    client: Client,
) -> None:
    """Given a data owner set up with 46elks, when the agent calls the customer, then 46elks
    gets one form POST to /a1/calls with the API credentials that rings the agent's own
    phone from the campaign's number, with the first action and the end reported to
    addresses carrying Kundeflyt's callback credentials and the call's key; the call rings
    under 46elks' id."""
    call = place(calling)

    [request] = elks.call_requests()
    assert request.basic_auth == (elks.username, elks.password)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    host = live_server.url.removeprefix("http://")
    progress = (
        f"http://kundeflyt:{account.callback_secret}@{host}"
        f"/telephony/hooks/{account.pk}/call/?call={call.key}"
    )
    assert request.form == {
        "from": CALLER,
        "to": AGENT_PHONE,
        "timeout": "30",
        "voice_start": f"{progress}&event=connect",
        "whenhangup": f"{progress}&event=hangup",
    }
    assert re.fullmatch(r"c[0-9a-f]{32}", call.provider_id)
    assert call.provider_id in elks.calls
    assert (call.status, call.result, call.backend, call.error) == ("ringing", "", "46elks", "")
    assert (call.caller, call.agent_phone, call.customer_phone) == (CALLER, AGENT_PHONE, PHONE)
    assert "Ringing" in agent_sees(client, calling, call)
    assert calls.call_place(call.pk) is None  # a second worker: it is placed once
    assert len(elks.call_requests()) == 1


def test_the_call_button_places_the_call_and_shows_it_ringing(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    client: Client,
) -> None:
    client.force_login(calling.agent)

    panel = client.post(
        "/telephony/calls/start/", {"customer": calling.customer.pk, "phone": PHONE}
    )

    assert panel.status_code == 200
    [call] = Call.objects.all()
    assert "Ringing" in panel.content.decode() and call.provider_id in elks.calls
    assert [r.form["to"] for r in elks.call_requests()] == [AGENT_PHONE]


@pytest.mark.parametrize("id_field", ["callid", "id"])
def test_when_the_agent_answers_46elks_is_told_to_connect_the_customer_from_the_campaigns_number(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    live_server: LiveServer,
    id_field: str,
) -> None:
    """46elks loads voice_start when the agent picks up (naming the call ``callid`` in its
    documentation's table, ``id`` in its example): the answer is the JSON connect action to
    the customer's number with the campaign's number as caller id, recorded, with the next
    actions for busy and failed at Kundeflyt's authenticated addresses."""
    call = place(calling)

    hook = elks.agent_answers(call.provider_id, id_field=id_field)

    assert hook.status == 200 and hook.content_type.startswith("application/json")
    action = hook.json()
    assert action == {
        "connect": PHONE,
        "callerid": CALLER,
        "timeout": 30,
        "recordcall": hook_address(account, call.key, "recording"),
        "busy": hook_address(account, call.key, "busy"),
        "failed": hook_address(account, call.key, "failed"),
    }
    for step in ("recordcall", "busy", "failed"):
        address = urlsplit(action[step])
        assert (address.username, address.password) == ("kundeflyt", account.callback_secret)
        assert f"{address.hostname}:{address.port}" == live_server.url.removeprefix("http://")
        assert address.path == f"/telephony/hooks/{account.pk}/call/"
        assert parse_qs(address.query)["call"] == [str(call.key)]
    assert fresh(call).status == "ringing"


def test_when_46elks_reports_the_answer_before_its_own_answer_arrives_the_call_goes_on(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
) -> None:
    """The agent picks up before 46elks' answer to the placement reaches Kundeflyt: the
    first action is still given (found by our key), the call takes 46elks' id from the
    report, and the late answer to the placement changes nothing."""
    hooks: list[Any] = []
    elks.on_placed = lambda call_id: hooks.append(elks.agent_answers(call_id))

    call = place(calling)

    [hook] = hooks
    assert hook.status == 200 and hook.json()["connect"] == PHONE
    assert (call.status, call.provider_id, call.error) == ("ringing", next(iter(elks.calls)), "")
    assert elks.hang_up(call.provider_id, duration=42).status == 200
    assert state(call) == ("ended", "answered", 42, "")


def test_without_a_public_address_46elks_connects_the_customer_at_once(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    settings: Any,
) -> None:
    """No address 46elks can reach: the first action goes in the request itself, and nothing
    is reported back, so the call is over for Kundeflyt once placed (it says why)."""
    settings.PUBLIC_BASE_URL = ""

    call = place(calling)

    [request] = elks.call_requests()
    assert "whenhangup" not in request.form
    assert json.loads(request.form["voice_start"]) == {"connect": PHONE, "callerid": CALLER}
    assert call.status == "ended" and call.provider_id in elks.calls
    assert "PUBLIC_BASE_URL" in call.error


def test_without_a_public_address_the_agent_can_make_a_second_call(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    settings: Any,
) -> None:
    settings.PUBLIC_BASE_URL = ""
    place(calling)

    try:
        place(calling)
    except Conflict as refused:
        pytest.fail(f"the second call was refused: {refused.message}")
    assert len(elks.call_requests()) == 2


# --- How the call goes ----------------------------------------------------------------------


def test_an_answered_call_ends_with_its_talk_time_and_recording(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    client: Client,
) -> None:
    """The agent answers, the customer answers and they talk for 42 s: 46elks' hangup with
    state success and duration 42 ends the call as answered with that talk time; the
    recording's address comes after."""
    call = place(calling)
    assert elks.agent_answers(call.provider_id).status == 200

    hangup = elks.hang_up(call.provider_id, duration=42)

    assert hangup.status == 200
    ended = fresh(call)
    assert (ended.status, ended.result, ended.duration_seconds) == ("ended", "answered", 42)
    assert ended.ended_at is not None and ended.answered_at is not None
    wav = "https://api.46elks.com/a1/recordings/r0123456789abcdef.wav"
    assert elks.recorded(call.provider_id, wav=wav).status == 200
    assert state(call) == ("ended", "answered", 42, wav)
    panel = agent_sees(client, calling, call)
    assert "Answered" in panel and "0:42" in panel


def test_a_report_delivered_again_or_late_changes_nothing(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
) -> None:
    """Every report is acknowledged (so 46elks does not try again), yet a call never goes
    back, its result, talk time and recording are set once."""
    call = place(calling)
    elks.agent_answers(call.provider_id)
    elks.hang_up(call.provider_id, duration=42)
    wav = "https://api.46elks.com/a1/recordings/r1.wav"
    elks.recorded(call.provider_id, wav=wav)
    ended = fresh(call)

    late = [
        elks.hang_up(call.provider_id, duration=42),
        elks.hang_up(call.provider_id, state="failed", duration=0),
        elks.hang_up(call.provider_id, duration=99),
        elks.customer_busy(call.provider_id, url=hook_address(account, call.key, "busy")),
        elks.customer_no_answer(call.provider_id, url=hook_address(account, call.key, "failed")),
        elks.recorded(
            call.provider_id,
            wav="https://api.46elks.com/a1/recordings/r2.wav",
            url=hook_address(account, call.key, "recording"),
        ),
        elks.agent_answers(call.provider_id),
    ]

    assert [hook.status for hook in late] == [200] * len(late)
    again = fresh(call)
    assert state(call) == ("ended", "answered", 42, wav)
    assert (again.answered_at, again.ended_at) == (ended.answered_at, ended.ended_at)


def test_a_busy_customer_is_hung_up_on_and_the_call_ends_busy(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    client: Client,
) -> None:
    """The customer's line is busy: 46elks loads the connect action's busy address and is
    told to hang up; the call ends busy, with no talk time, whatever the agent's leg lasted,
    and the screen offers the flow's "no answer" outcome."""
    call = place(calling)
    elks.agent_answers(call.provider_id)

    hook = elks.customer_busy(call.provider_id)

    assert hook.status == 200 and hook.json() == {"hangup": "busy"}
    assert state(call)[:2] == ("ended", "busy")
    assert elks.hang_up(call.provider_id, duration=8).status == 200
    assert state(call) == ("ended", "busy", 0, "")
    panel = agent_sees(client, calling, call)
    no_answer = calling.world.outcome("no_answer")
    assert "Busy" in panel and f'data-prefill-outcome="{no_answer.pk}"' in panel
    assert "0:08" not in panel


def test_a_customer_who_does_not_answer_ends_the_call_as_no_answer(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
) -> None:
    call = place(calling)
    elks.agent_answers(call.provider_id)

    hook = elks.customer_no_answer(call.provider_id)

    assert hook.status == 200 and hook.json() == {"hangup": "reject"}
    assert state(call)[:2] == ("ended", "no_answer")
    assert elks.hang_up(call.provider_id, duration=35).status == 200
    assert state(call) == ("ended", "no_answer", 0, "")


@pytest.mark.parametrize("agent_state", ["failed", "busy"])
def test_an_agent_who_does_not_answer_ends_the_call_failed(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    agent_state: str,
) -> None:
    """The agent's phone does not answer (or is busy): voice_start is never loaded, and
    46elks' hangup tells the end."""
    call = place(calling)

    assert elks.hang_up(call.provider_id, state=agent_state, duration=0).status == 200

    assert state(call) == ("ended", "failed", 0, "")
    assert fresh(call).answered_at is None


def test_a_registration_after_the_call_is_linked_to_it(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    client: Client,
) -> None:
    call = place(calling)
    elks.agent_answers(call.provider_id)
    elks.customer_no_answer(call.provider_id)
    token = Placement.objects.get(pk=calling.customer.pk).lease_token

    event = outcome_register(
        calling.agent,
        customer_id=calling.customer.pk,
        token=token,
        outcome_id=calling.world.outcome("no_answer").pk,
    )

    assert fresh(call).event == event
    assert Event.objects.get(pk=event.pk).calls.get() == fresh(call)
    client.force_login(calling.agent)
    page = client.get("/telephony/calls/list/", {"customer": calling.customer.pk})
    assert page.status_code == 200
    assert "No answer" in page.content.decode()


# --- Callbacks that are not 46elks' or not about the call -----------------------------------

FORGED: dict[str, Callable[[FakeElks, ProviderAccount], tuple[str, str] | None]] = {
    "no credentials": lambda fake, account: None,
    "a wrong password": lambda fake, account: ("kundeflyt", "wrong"),
    "the password with another user": lambda fake, account: ("admin", account.callback_secret),
    "46elks' own API credentials": lambda fake, account: (fake.username, fake.password),
}


@pytest.mark.parametrize("forged", FORGED.values(), ids=FORGED.keys())
def test_a_forged_callback_is_refused_and_changes_nothing(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    forged: Callable[[FakeElks, ProviderAccount], tuple[str, str] | None],
) -> None:
    """46elks' callbacks are not signed: only the credentials in the address prove them. A
    forged connect gets no action (so it cannot connect the customer anywhere)."""
    call = place(calling)
    credentials = forged(elks, account)
    key = call.key

    hooks = [
        elks.agent_answers(call.provider_id, auth=credentials),
        elks.customer_busy(
            call.provider_id, url=hook_address(account, key, "busy"), auth=credentials
        ),
        elks.recorded(
            call.provider_id, url=hook_address(account, key, "recording"), auth=credentials
        ),
        elks.hang_up(call.provider_id, duration=42, auth=credentials),
    ]

    assert [hook.status for hook in hooks] == [403] * 4
    assert all(b"connect" not in hook.body for hook in hooks)
    assert state(call) == ("ringing", "", None, "")


def test_another_data_owners_callback_credentials_reach_none_of_our_calls(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
) -> None:
    """Another data owner's callback credentials are genuine on its own hook, yet our call
    is not its call there; on our hook they are refused."""
    call = place(calling)
    other = provider_account_save(
        UserFactory(perms=[Perm.ADMINISTRATOR]),
        account=ProviderAccount(
            data_owner=CRMFactory().data_owner, backend=Backend.ELKS, username="other"
        ),
        secret="other-password",
    )
    theirs = hook_address(other, call.key, "connect")
    ours_with_their_credentials = theirs.replace(f"/hooks/{other.pk}/", f"/hooks/{account.pk}/")

    assert elks.agent_answers(call.provider_id, url=theirs).status == 404
    assert elks.agent_answers(call.provider_id, url=ours_with_their_credentials).status == 403
    ended = hook_address(other, call.key, "hangup")
    assert elks.hang_up(call.provider_id, duration=42, url=ended).status == 404

    assert state(call) == ("ringing", "", None, "")


def two_calls(calling: Texting, elks: FakeElks) -> tuple[Call, Call]:  # noqa: F811
    """An earlier call, answered and over, and the one ringing now."""
    earlier = place(calling)
    elks.agent_answers(earlier.provider_id)
    elks.hang_up(earlier.provider_id, duration=42)
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
def test_a_report_with_our_key_but_another_calls_id_changes_neither_call(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    address_of: str,
) -> None:
    earlier, now = two_calls(calling, elks)
    if address_of == "earlier":
        key, other_id = earlier.key, now.provider_id
    else:
        key, other_id = now.key, earlier.provider_id

    connect = elks.agent_answers(other_id, url=hook_address(account, key, "connect"))
    hangup = elks.hang_up(
        other_id, state="busy", duration=3, url=hook_address(account, key, "hangup")
    )

    assert state(earlier) == ("ended", "answered", 42, "")
    assert state(now) == ("ringing", "", None, "")
    assert b"connect" not in connect.body
    assert (connect.status, hangup.status) == (404, 404)


def test_a_report_on_an_unknown_call_is_not_found(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
) -> None:
    """Neither our key nor 46elks' id known (or a key that is no key): 404, nothing moves;
    an event Kundeflyt never asked for is a bad request."""
    call = place(calling)
    unknown = "c" + "0" * 32
    fields = {"id": unknown, "state": "success", "duration": "42"}

    for key in (uuid.uuid4(), "not-a-key", ""):
        address = hook_address(account, key, "hangup")
        assert elks.call_back(address, fields).status == 404
    address = hook_address(account, call.key, "hangup").replace("&event=hangup", "&event=dance")
    assert elks.call_back(address, {"id": call.provider_id}).status == 400
    elsewhere = hook_address(account, call.key, "hangup").replace(
        f"/hooks/{account.pk}/", f"/hooks/{account.pk + 1000}/"
    )
    assert elks.hang_up(call.provider_id, duration=42, url=elsewhere).status == 404

    assert state(call) == ("ringing", "", None, "")


# --- When 46elks refuses --------------------------------------------------------------------


def test_a_call_failed_by_a_gateway_is_never_connected_when_its_agent_answers(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
) -> None:
    """A gateway in front of 46elks gave up waiting, yet 46elks placed the call: the call is
    failed here, so when the agent's phone answers, 46elks gets no action (the call ends
    there) and the customer is never dialled."""
    elks.answer_next(Answer(status=504, acted=True))

    call = place(calling)

    assert (call.status, call.result, call.provider_id) == ("ended", "failed", "")
    assert call.error.startswith("504: ")
    [placed] = elks.calls
    hook = elks.agent_answers(placed)
    assert hook.status == 404 and b"connect" not in hook.body
    assert elks.hang_up(placed, duration=42).status == 404
    assert state(call) == ("ended", "failed", None, "")
    assert len(elks.call_requests()) == 1


def test_a_call_already_reported_on_is_not_failed_by_a_lost_answer_to_its_placement(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    settings: Any,
) -> None:
    """The agent answers (and the customer is connected) before 46elks' answer to the
    placement comes, and that answer never comes in time: the report proved the call was
    placed, so it goes on and its end is taken."""
    settings.TELEPHONY_TIMEOUT_SECONDS = 0.3
    connected: list[Any] = []
    elks.on_placed = lambda call_id: connected.append(elks.agent_answers(call_id))
    elks.answer_next(Answer(delay=1.0))

    call = place(calling)

    [hook] = connected
    assert hook.status == 200 and hook.json()["connect"] == PHONE
    [placed] = elks.calls
    assert elks.hang_up(placed, duration=42).status == 200
    assert state(call) == ("ended", "answered", 42, "")


def wrong_password(elks: FakeElks, account: ProviderAccount, settings: Any) -> None:  # noqa: F811
    provider_account_save(
        UserFactory(perms=[Perm.ADMINISTRATOR]), account=account, secret="not-the-password"
    )


def invalid_agent_phone(elks: FakeElks, account: ProviderAccount, settings: Any) -> None:  # noqa: F811
    elks.invalid_numbers.add(AGENT_PHONE)


def overloaded(elks: FakeElks, account: ProviderAccount, settings: Any) -> None:  # noqa: F811
    elks.answer_next(Answer(status=500))


def too_slow(elks: FakeElks, account: ProviderAccount, settings: Any) -> None:  # noqa: F811
    settings.TELEPHONY_TIMEOUT_SECONDS = 0.3
    elks.answer_next(Answer(delay=1.0))


def unreachable(elks: FakeElks, account: ProviderAccount, settings: Any) -> None:  # noqa: F811
    settings.TELEPHONY_API_URLS = {**settings.TELEPHONY_API_URLS, "46elks": closed_port_url()}


REFUSALS = [
    pytest.param(invalid_agent_phone, "400: Invalid to number", 1, id="400"),
    pytest.param(wrong_password, "401: API access requires", 1, id="401"),
    pytest.param(overloaded, "500: Internal server error", 1, id="500"),
    pytest.param(too_slow, "no answer in time", 1, id="timeout"),
    pytest.param(unreachable, "refused", 0, id="connection refused"),
]


@pytest.mark.parametrize(("refusal", "error", "reached"), REFUSALS)
def test_a_call_46elks_does_not_take_ends_failed_once_with_the_reason_shown(
    calling: Texting,
    elks: FakeElks,  # noqa: F811
    account: ProviderAccount,
    settings: Any,
    client: Client,
    refusal: Callable[[FakeElks, ProviderAccount, Any], None],
    error: str,
    reached: int,
) -> None:
    """Whatever went wrong, the call is ended as failed with the reason for the agent to
    read, and never placed again (a call may have rung): the agent may call once more."""
    refusal(elks, account, settings)

    call = place(calling)

    assert (call.status, call.result, call.provider_id) == ("ended", "failed", "")
    assert error in call.error and call.ended_at is not None
    assert len(elks.call_requests()) == reached
    assert escape(call.error) in agent_sees(client, calling, call)
    assert calls.call_place(call.pk) is None  # never placed again

    settings.TELEPHONY_API_URLS = {**settings.TELEPHONY_API_URLS, "46elks": elks.api_url}
    elks.invalid_numbers.clear()
    provider_account_save(
        UserFactory(perms=[Perm.ADMINISTRATOR]), account=account, secret=elks.password
    )
    again = place(calling)
    assert again.status == "ringing" and again.provider_id in elks.calls
    assert len(elks.call_requests()) == reached + 1
    assert state(call)[:2] == ("ended", "failed")
