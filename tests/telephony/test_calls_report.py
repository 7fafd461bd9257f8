"""The calls report (issue 14, item 6): calls made, answered, talk time and average handle
time per user, campaign and day, from a rollup kept with the calls, which a recount from the
calls themselves always agrees with."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone
from time_machine import TimeMachineFixture

from kundeflyt.accounts.permissions import Perm
from kundeflyt.campaigns.calling_hours import OSLO
from kundeflyt.handling.services import customer_select
from kundeflyt.reports.models import CallDay
from kundeflyt.reports.rollup import rollup_rebuild, rollup_verify
from kundeflyt.reports.selectors import ReportFilter, calls_report
from kundeflyt.telephony.backends.base import CallReport
from kundeflyt.telephony.calls import call_console_act, call_progress, call_start
from kundeflyt.telephony.models import Call
from tests.factories import UserFactory
from tests.telephony.conftest import PHONE, Texting
from tests.telephony.test_calls import calling  # noqa: F401 (a fixture)


def make_calls(texting: Texting, capture: Any, time_machine: TimeMachineFixture) -> None:
    """Three calls on 1 December: answered for 2:05, no answer, busy."""
    start = dt.datetime(2026, 12, 1, 10, 0, tzinfo=OSLO)
    for minute, how in ((0, "answered"), (10, "no_answer"), (20, "busy")):
        time_machine.move_to(start + dt.timedelta(minutes=minute), tick=False)
        customer_select(texting.agent, customer_id=texting.customer.pk)
        with capture(execute=True):
            call = call_start(texting.agent, customer_id=texting.customer.pk, phone=PHONE)
        if how == "answered":
            call_console_act(texting.agent, call_id=call.pk, act="answered")
            time_machine.move_to(start + dt.timedelta(minutes=2, seconds=5), tick=False)
            call_console_act(texting.agent, call_id=call.pk, act="hang_up")
        else:
            call_console_act(texting.agent, call_id=call.pk, act=how)


def test_the_report_counts_the_calls_and_a_recount_agrees(
    calling: Texting,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
    time_machine: TimeMachineFixture,
) -> None:
    make_calls(calling, django_capture_on_commit_callbacks, time_machine)
    boss = UserFactory(perms=[Perm.REPORTING, Perm.INDIVIDUAL_RESULTS])
    calling.world.crm.data_owner.users.add(boss)
    day = dt.date(2026, 12, 1)

    report = calls_report(boss, ReportFilter(first=day, last=day))

    people = report.table("people")
    assert people.rows == [
        [str(calling.agent), "No team", 3, 1, Decimal("33.3"), Decimal("2.1"), Decimal("2.1")]
    ]
    assert report.table("days").rows[0][0] == day
    assert report.table("campaigns").rows[0][0] == calling.world.campaign.name
    assert rollup_verify() == []
    assert rollup_rebuild().rows["CallDay"] == 1
    assert CallDay.objects.get().talk_seconds == 125


def test_a_late_report_moves_the_rollup_with_the_call(
    calling: Texting,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        call = call_start(calling.agent, customer_id=calling.customer.pk, phone=PHONE)
    owner = (call.data_owner_id, call.backend)
    call_progress(owner, CallReport("", "ended", result="failed", fallback=True), key=call.key)
    assert CallDay.objects.get().answered == 0
    call_progress(owner, CallReport("", "ended", result="answered", duration=42), key=call.key)

    row = CallDay.objects.get()
    assert (row.calls, row.answered, row.talk_seconds) == (1, 1, 42)
    assert rollup_verify() == []


def test_the_calls_tab_is_a_report_page(
    client: Client,
    calling: Texting,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
    time_machine: TimeMachineFixture,
) -> None:
    make_calls(calling, django_capture_on_commit_callbacks, time_machine)
    boss = UserFactory(perms=[Perm.REPORTING])  # no individual results: per team
    calling.world.crm.data_owner.users.add(boss)
    client.force_login(boss)
    page = client.get(
        reverse("reports:report", args=["calls"]), {"start": "2026-12-01", "end": "2026-12-01"}
    ).content.decode()
    assert "Calls per team" in page and "Average handle time (minutes)" in page
    assert "<svg" in page and "CSV" in page and "XLSX" in page
    assert str(calling.agent) not in page
    assert Call.objects.filter(created_at__lte=timezone.now()).count() == 3


def test_the_registration_export_tells_the_calls_and_where_to_hear_them(
    calling: Texting,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    from kundeflyt.exports.files import csv_rows
    from kundeflyt.exports.selectors import RegistrationFilter, registrations_export
    from kundeflyt.handling.models import Placement
    from kundeflyt.handling.services import outcome_register

    with django_capture_on_commit_callbacks(execute=True):
        call = call_start(calling.agent, customer_id=calling.customer.pk, phone=PHONE)
    owner = (call.data_owner_id, call.backend)
    recording = "https://api.46elks.com/a1/recordings/r1.wav"
    call_progress(owner, CallReport("", "answered"), key=call.key)
    call_progress(owner, CallReport("", "ended", result="answered", duration=61), key=call.key)
    call_progress(owner, CallReport("", "", recording_url=recording), key=call.key)
    outcome_register(
        calling.agent,
        customer_id=calling.customer.pk,
        token=Placement.objects.get(pk=calling.customer.pk).lease_token,
        outcome_id=calling.world.outcome("no_answer").pk,
    )
    boss = UserFactory(perms=[Perm.REPORTING])
    calling.world.crm.data_owner.users.add(boss)
    today = timezone.localdate()

    listing = registrations_export(boss, RegistrationFilter(ReportFilter(today, today)))
    header, row = list(csv_rows(listing))

    cells = dict(zip(header, row, strict=True))
    assert cells["Calls"] == "Answered"
    assert cells["Talk time (seconds)"] == 61
    assert cells["Call recordings"] == recording
    [contact] = [values for sheet, values in listing.rows(True) if sheet == 2]
    assert contact[1:4] == ["Call", "Outgoing", calling.world.campaign.name]
    assert contact[6:] == ["No team", PHONE, "Answered", 61, "", recording, row[0]]
