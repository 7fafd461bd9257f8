"""The rollups: kept by registering, moved by corrections and report facts, verified and rebuilt
from the raw events."""

from __future__ import annotations

import datetime as dt
import io
import threading
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from kundeflyt.handling.models import Event
from kundeflyt.handling.services import (
    MeetingInput,
    ProductInput,
    customer_select,
    outcome_register,
)
from kundeflyt.reports.models import OutcomeDay, ProductDay, UserDay, UserHour
from kundeflyt.reports.rollup import report_day, rollup_event, rollup_verify
from kundeflyt.reports.selectors import ReportFilter, activity_report, products_report
from tests.reports.history import (
    OSLO,
    Shop,
    correct,
    reattribute,
    register,
    set_included,
)

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2025, 6, 2, 9, 15, tzinfo=OSLO)
JUNE = ReportFilter(first=dt.date(2025, 6, 1), last=dt.date(2025, 6, 30))


def activity(shop: Shop, f: ReportFilter = JUNE) -> dict[str, tuple[object, ...]]:
    report = activity_report(shop.boss, f)
    return {r[0]: tuple(r[2:]) for r in report.table("people").rows}


def test_registering_an_outcome_counts_it_with_its_products_and_meeting(shop: Shop) -> None:
    world = shop.world
    customer = shop.customers[0]
    selection = customer_select(world.agent, customer_id=customer.pk)
    outcome_register(
        world.agent,
        customer_id=customer.pk,
        token=selection.token,
        outcome_id=world.outcome("sold").pk,
        products=[ProductInput(shop.products[0].pk, quantity=3)],
    )
    other = shop.customers[1]
    selection = customer_select(world.agent, customer_id=other.pk)
    outcome_register(
        world.agent,
        customer_id=other.pk,
        token=selection.token,
        outcome_id=shop.meeting.pk,
        meeting=MeetingInput(starts_at=timezone.now() + dt.timedelta(days=2)),
    )

    today = timezone.localdate()
    day = UserDay.objects.get(day=today, campaign=world.campaign, user_key=world.agent.pk)
    assert (day.n, day.progressive, day.meetings, day.hours) == (2, 2, 1, 1)
    line = ProductDay.objects.get(user_key=world.agent.pk)
    assert (line.status, line.lines, line.quantity, line.revenue_cents) == ("sold", 1, 3, 14970)
    f = ReportFilter(first=today, last=today)
    products = products_report(shop.boss, f).table("products")
    assert products.rows[0][:7] == ["Fastpris", world.campaign.name, 0, 0, 1, 3, Decimal("149.70")]
    assert rollup_verify() == []


def test_a_corrected_registration_leaves_the_reports_and_its_replacement_enters_them(
    shop: Shop,
) -> None:
    world = shop.world
    wrong = register(
        shop.customers[0],
        campaign=shop.campaign,
        outcome=world.outcome("no_answer"),
        user=world.agent,
        at=MONDAY,
    )
    assert activity(shop)["Kari Nordmann"][:3] == (1, 1, 0)

    # Corrected by the supervisor, as the original user at the original time.
    correct(
        wrong,
        by=world.supervisor,
        outcome=world.outcome("refused"),
        at=MONDAY + dt.timedelta(days=3),
        as_original=True,
    )
    assert activity(shop)["Kari Nordmann"][:3] == (1, 0, 1)

    # A correction that counts for the corrector, now.
    latest = Event.objects.get(corrects=wrong)
    correct(
        latest,
        by=world.agent2,
        outcome=world.outcome("no_answer"),
        at=MONDAY + dt.timedelta(days=4),
        as_original=False,
    )
    rows = activity(shop)
    assert "Kari Nordmann" not in rows
    assert rows["Ola Hansen"][:3] == (1, 1, 0)
    days = activity_report(shop.boss, JUNE).table("days").rows
    assert [(r[0], r[1]) for r in days] == [(dt.date(2025, 6, 6), 1)]
    assert rollup_verify() == []


def test_exclusion_and_reattribution_move_the_counts_to_the_right_user_and_day(
    shop: Shop,
) -> None:
    world = shop.world
    event = register(
        shop.customers[0],
        campaign=shop.campaign,
        outcome=world.outcome("refused"),
        user=world.agent,
        at=MONDAY,
        option=shop.options[1],
    )
    set_included(event, False)
    assert activity(shop) == {}
    set_included(event, True)
    assert activity(shop)["Kari Nordmann"][:3] == (1, 0, 1)

    # 23:30 UTC on 30 June is 1 July in Oslo: the event leaves June.
    reattribute(event, user=world.agent2, at=dt.datetime(2025, 6, 30, 22, 30, tzinfo=dt.UTC))
    assert activity(shop) == {}
    july = ReportFilter(first=dt.date(2025, 7, 1), last=dt.date(2025, 7, 31))
    assert activity(shop, july)["Ola Hansen"][:3] == (1, 0, 1)
    assert report_day(event.counts_at) == dt.date(2025, 7, 1)
    assert rollup_verify() == []


def test_active_hours_count_each_hour_once_and_leave_when_the_hour_empties(shop: Shop) -> None:
    world = shop.world
    events = [
        register(
            shop.customers[n],
            campaign=shop.campaign,
            outcome=world.outcome("no_answer"),
            user=world.agent,
            at=MONDAY + dt.timedelta(minutes=minutes),
        )
        for n, minutes in enumerate([0, 20, 70])  # 09:15, 09:35, 10:25
    ]
    # outcomes, attempts, progressive, rate, active hours, contacts per hour
    assert activity(shop)["Kari Nordmann"] == (3, 3, 0, Decimal("0.0"), 2, Decimal("1.5"))

    set_included(events[2], False)
    assert activity(shop)["Kari Nordmann"][4:] == (1, Decimal("2.0"))
    set_included(events[0], False)
    set_included(events[1], False)
    assert UserDay.objects.get().hours == 0
    assert rollup_verify() == []


def test_calling_the_rollup_for_an_event_that_does_not_count_changes_nothing(shop: Shop) -> None:
    event = register(
        shop.customers[0],
        campaign=shop.campaign,
        outcome=shop.world.outcome("no_answer"),
        user=shop.world.agent,
        at=MONDAY,
    )
    event.is_corrected = True
    rollup_event(event, -1)
    rollup_event(event, +1)
    assert OutcomeDay.objects.get().n == 1
    with pytest.raises(ValueError):
        rollup_event(event, 2)


def test_verify_finds_and_fixes_a_wrong_rollup_and_rebuild_recounts(shop: Shop) -> None:
    world = shop.world
    for n in range(3):
        register(
            shop.customers[n],
            campaign=shop.campaign,
            outcome=world.outcome("sold"),
            user=world.agent,
            at=MONDAY,
            products=[(shop.products[0], 2, None)],
        )
    out = io.StringIO()
    call_command("reports_verify", stdout=out)
    assert "agree" in out.getvalue()

    UserDay.objects.update(n=7)
    ProductDay.objects.update(revenue_cents=1)
    UserHour.objects.all().delete()
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("reports_verify", stdout=out)
    assert failed.value.returncode == 1
    assert "UserDay" in out.getvalue() and "rollup (7, 3, 0, 1) ≠ events (3, 3, 0, 1)" in (
        out.getvalue()
    )
    assert "3 rollup rows differed" in str(failed.value) and "not fixed" in str(failed.value)

    with pytest.raises(CommandError):
        call_command("reports_verify", "--fix", stdout=io.StringIO())
    call_command("reports_verify", stdout=io.StringIO())  # agrees again

    OutcomeDay.objects.all().delete()
    out = io.StringIO()
    call_command("reports_rebuild", stdout=out)
    assert "Rollups rebuilt" in out.getvalue()
    assert rollup_verify() == []
    assert activity(shop)["Kari Nordmann"][:3] == (3, 0, 3)


def test_the_demo_leaves_the_rollups_right() -> None:
    from kundeflyt.demo import demo_build

    demo_build(customers=120)
    assert Event.objects.exists() and UserDay.objects.exists()
    assert rollup_verify() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_registrations_at_once_into_the_same_rollup_rows_lose_no_count(shop: Shop) -> None:
    """Eight transactions add to the same rows at the same moment: ON CONFLICT DO UPDATE
    serialises them on the row, and every one of them counts."""
    world = shop.world
    events = []
    for n in range(8):
        event = register(
            shop.customers[n % 4],
            campaign=shop.campaign,
            outcome=world.outcome("sold"),
            user=world.agent,
            at=MONDAY,
            products=[(shop.products[0], 1, None)],
        )
        events.append(event)
    call_command("reports_rebuild", stdout=io.StringIO())
    barrier = threading.Barrier(len(events))
    errors: list[BaseException] = []

    def add(event: Event) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                rollup_event(event, +1)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=add, args=(e,)) for e in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert OutcomeDay.objects.get().n == 16
    assert UserDay.objects.get().n == 16 and UserDay.objects.get().hours == 1
    assert ProductDay.objects.get().lines == 16
