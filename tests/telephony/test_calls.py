"""Click-to-call from the customer screen (S7, issue 14) through the console provider: the
agent's phone rings, then the customer's; the call moves only forward; its end pre-selects
"no answer"; the registration saved after it is linked to it; and every refusal says why."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from time_machine import TimeMachineFixture

from kundeflyt.campaigns.calling_hours import OSLO
from kundeflyt.common.errors import Conflict, DomainError, NotAllowed
from kundeflyt.crm.models import CRM, BlockedNumber
from kundeflyt.handling.models import Placement
from kundeflyt.handling.services import customer_select, outcome_register
from kundeflyt.telephony.backends.base import CallReport
from kundeflyt.telephony.calls import call_console_act, call_progress, call_start
from kundeflyt.telephony.models import Call
from tests.conftest import register_loaded
from tests.telephony.conftest import PHONE, Texting

AGENT_PHONE = "+4798765432"


@pytest.fixture
def calling(texting: Texting) -> Texting:
    texting.world.campaign.calls_enabled = True
    texting.world.campaign.caller_number = "+4721000000"
    texting.world.campaign.save()
    texting.agent.phone = AGENT_PHONE
    texting.agent.save()
    return texting


def start(calling: Texting, capture: Any, **kwargs: Any) -> Call:
    kwargs.setdefault("customer_id", calling.customer.pk)
    kwargs.setdefault("phone", PHONE)
    with capture(execute=True):
        call = call_start(calling.agent, **kwargs)
    call.refresh_from_db()
    return call


def test_the_agent_s_phone_rings_then_the_customer_answers_and_the_agent_hangs_up(
    calling: Texting, django_capture_on_commit_callbacks: Any, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(dt.datetime(2026, 12, 1, 10, 0, tzinfo=OSLO), tick=False)
    customer_select(calling.agent, customer_id=calling.customer.pk)
    call = start(calling, django_capture_on_commit_callbacks)
    assert (call.status, call.caller, call.agent_phone, call.customer_phone) == (
        "ringing",
        "+4721000000",
        AGENT_PHONE,
        PHONE,
    )
    assert call.provider_id == f"console-{call.key}" and call.backend == "console"

    call = call_console_act(calling.agent, call_id=call.pk, act="answered")
    assert call.status == "answered" and call.answered_at is not None
    time_machine.move_to(dt.datetime(2026, 12, 1, 10, 2, 5, tzinfo=OSLO), tick=False)
    call = call_console_act(calling.agent, call_id=call.pk, act="hang_up")

    assert (call.status, call.result, call.duration_seconds) == ("ended", "answered", 125)


def test_a_registration_after_the_call_is_linked_to_it(
    calling: Texting, django_capture_on_commit_callbacks: Any
) -> None:
    call = start(calling, django_capture_on_commit_callbacks)
    call_console_act(calling.agent, call_id=call.pk, act="no_answer")
    placement = Placement.objects.get(pk=calling.customer.pk)

    event = outcome_register(
        calling.agent,
        customer_id=calling.customer.pk,
        token=placement.lease_token,
        outcome_id=calling.world.outcome("no_answer").pk,
    )

    call.refresh_from_db()
    assert call.event == event


def test_progress_only_moves_forward_and_the_result_is_set_once(
    calling: Texting, django_capture_on_commit_callbacks: Any
) -> None:
    call = start(calling, django_capture_on_commit_callbacks)
    owner = (call.data_owner_id, call.backend)
    call_progress(owner, CallReport("", "ended", result="busy", duration=0), key=call.key)
    late = call_progress(owner, CallReport("", "answered"), key=call.key)
    again = call_progress(
        owner, CallReport("", "ended", result="answered", duration=9), key=call.key
    )

    assert late is not None and again is not None
    assert (again.status, again.result, again.duration_seconds, again.answered_at) == (
        "ended",
        "busy",
        0,
        None,
    )


def test_an_unanswered_end_names_the_no_answer_outcome_for_the_screen(
    client: Client, calling: Texting, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(calling.agent)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            reverse("telephony:call_start"),
            {"customer": calling.customer.pk, "phone": PHONE},
            headers={"HX-Request": "true"},
        )
    call = Call.objects.get()
    assert started.status_code == 200
    assert "Call to 91 23 45 67" in started.content.decode()
    assert "every 2s" in started.content.decode()  # the panel asks again while it rings

    ended = client.post(
        reverse("telephony:call_console"), {"call": call.pk, "act": "busy"}
    ).content.decode()
    no_answer = calling.world.outcome("no_answer").pk
    assert f'data-prefill-outcome="{no_answer}"' in ended
    assert "Busy" in ended and "every 2s" not in ended


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        ("no_phone", DomainError, "phone"),
        ("calls_off", NotAllowed, "customer"),
        ("no_caller_number", DomainError, "customer"),
        ("blocked", DomainError, "phone"),
        ("other_number", DomainError, "phone"),
    ],
)
def test_a_call_that_may_not_be_made_is_refused_naming_why(
    calling: Texting,
    django_capture_on_commit_callbacks: Any,
    change: str,
    error: type[Exception],
    field: str,
) -> None:
    phone = PHONE
    if change == "no_phone":
        calling.agent.phone = ""
        calling.agent.save()
    elif change == "calls_off":
        calling.world.campaign.calls_enabled = False
        calling.world.campaign.save()
    elif change == "no_caller_number":
        calling.world.campaign.caller_number = ""
        calling.world.campaign.save()
    elif change == "blocked":
        BlockedNumber.objects.create(phone=PHONE, data_owner=calling.world.crm.data_owner)
    elif change == "other_number":
        phone = "+4790000000"
    with pytest.raises(error) as refused:
        start(calling, django_capture_on_commit_callbacks, phone=phone)
    assert refused.value.field == field  # type: ignore[attr-defined]
    assert not Call.objects.exists()


def test_one_call_at_a_time_and_only_for_the_customer_on_the_screen(
    calling: Texting, django_capture_on_commit_callbacks: Any
) -> None:
    start(calling, django_capture_on_commit_callbacks)
    with pytest.raises(Conflict, match="in a call already"):
        start(calling, django_capture_on_commit_callbacks)
    other = calling.world.customer(2, phone1="+4798765400")
    with pytest.raises(Conflict, match="customer screen"):
        start(calling, django_capture_on_commit_callbacks, customer_id=other.pk)
    assert Call.objects.count() == 1


def test_no_consumer_is_called_after_nine_in_the_evening(
    calling: Texting, django_capture_on_commit_callbacks: Any, time_machine: TimeMachineFixture
) -> None:
    CRM.objects.filter(pk=calling.world.crm.pk).update(kind=CRM.Kind.B2C)
    time_machine.move_to(dt.datetime(2026, 12, 4, 20, 59, tzinfo=OSLO), tick=False)
    register_loaded()
    customer_select(calling.agent, customer_id=calling.customer.pk)
    time_machine.move_to(dt.datetime(2026, 12, 4, 21, 0, 30, tzinfo=OSLO), tick=False)
    with pytest.raises(DomainError, match="closed for calls"):
        start(calling, django_capture_on_commit_callbacks)
    assert not Call.objects.exists()


def test_the_console_acts_only_on_the_agent_s_own_console_calls(
    calling: Texting, django_capture_on_commit_callbacks: Any
) -> None:
    call = start(calling, django_capture_on_commit_callbacks)
    with pytest.raises(DomainError):
        call_console_act(calling.world.agent, call_id=call.pk, act="answered")
    with pytest.raises(DomainError) as refused:
        call_console_act(calling.agent, call_id=call.pk, act="explode")
    assert refused.value.field == "act"
    call.refresh_from_db()
    assert call.status == "ringing"


def test_a_call_the_worker_reaches_late_is_not_placed(
    calling: Texting, django_capture_on_commit_callbacks: Any, time_machine: TimeMachineFixture
) -> None:
    from kundeflyt.telephony.calls import call_place

    time_machine.move_to(dt.datetime(2026, 12, 1, 10, 0, tzinfo=OSLO), tick=False)
    customer_select(calling.agent, customer_id=calling.customer.pk)
    with django_capture_on_commit_callbacks(execute=False):  # the worker is down
        call = call_start(calling.agent, customer_id=calling.customer.pk, phone=PHONE)
    time_machine.move_to(dt.datetime(2026, 12, 1, 10, 5, tzinfo=OSLO), tick=False)

    placed = call_place(call.pk)

    assert placed is not None
    assert (placed.status, placed.result, placed.provider_id) == ("ended", "failed", "")
    assert "waited too long" in placed.error


def test_an_agent_can_end_a_call_the_provider_never_reports_on(
    calling: Texting, django_capture_on_commit_callbacks: Any
) -> None:
    from kundeflyt.telephony.calls import call_end

    call = start(calling, django_capture_on_commit_callbacks)
    Call.objects.filter(pk=call.pk).update(backend="46elks")  # as if placed through 46elks

    ended = call_end(calling.agent, call_id=call.pk)

    assert (ended.status, ended.result) == ("ended", "")
    assert "how is not known" in ended.error
    assert start(calling, django_capture_on_commit_callbacks).status == "ringing"  # free again


def test_a_customer_blocked_by_a_reply_of_stopp_is_not_called_on_another_number(
    calling: Texting, django_capture_on_commit_callbacks: Any
) -> None:
    from kundeflyt.crm.models import Customer

    Customer.objects.filter(pk=calling.customer.pk).update(is_blocked=True)
    with pytest.raises(DomainError, match="block list"):
        start(calling, django_capture_on_commit_callbacks, phone="+4741234567")
