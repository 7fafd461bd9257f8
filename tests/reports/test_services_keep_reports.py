"""The handling services that change events keep the reports equal to a recount of the raw
events (DESIGN.md rules 5 and 6): registering, correcting (both kinds) and changing report
facts, each through its service."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kundeflyt.handling.models import Event
from kundeflyt.handling.services import (
    AfterSave,
    correction_start,
    customer_select,
    event_report_facts_change,
    outcome_register,
)
from kundeflyt.reports.rollup import rollup_verify
from kundeflyt.reports.selectors import ReportFilter, activity_report
from tests.reports.history import Shop

pytestmark = pytest.mark.django_db


def register(shop: Shop, user: object, customer_index: int, key: str) -> Event:
    customer = shop.customers[customer_index]
    selection = customer_select(user, customer_id=customer.pk)  # type: ignore[arg-type]
    return outcome_register(
        user,  # type: ignore[arg-type]
        customer_id=customer.pk,
        token=selection.token,
        outcome_id=shop.world.outcome(key).pk,
        option_id=shop.options[0].pk if key == "refused" else None,
        comment="Nei takk" if key == "refused" else "",
        then=AfterSave.MY_WORK,
    )


def today(shop: Shop) -> dict[str, tuple[object, ...]]:
    day = timezone.localdate()
    report = activity_report(shop.boss, ReportFilter(first=day, last=day))
    return {r[0]: tuple(r[2:5]) for r in report.table("people").rows}


@pytest.mark.parametrize("as_original", [True, False])
def test_a_correction_through_the_services_moves_the_count(shop: Shop, as_original: bool) -> None:
    world = shop.world
    wrong = register(shop, world.agent, 0, "no_answer")
    assert today(shop) == {"Kari Nordmann": (1, 1, 0)}

    correction_start(world.supervisor, event_id=wrong.pk, as_original=as_original)
    register(shop, world.supervisor, 0, "refused")

    assert rollup_verify() == []
    who = "Kari Nordmann" if as_original else str(world.supervisor)
    assert today(shop) == {who: (1, 0, 1)}


def test_report_facts_changed_through_the_service_move_the_count(shop: Shop) -> None:
    world = shop.world
    event = register(shop, world.agent, 0, "no_answer")
    yesterday = timezone.now() - dt.timedelta(days=1)

    event_report_facts_change(
        world.supervisor,
        event_id=event.pk,
        included_in_reports=True,
        counts_for_user=world.agent2,
        counts_at=event.counts_at,
    )
    assert today(shop) == {"Ola Hansen": (1, 1, 0)}
    event_report_facts_change(
        world.supervisor,
        event_id=event.pk,
        included_in_reports=False,
        counts_for_user=world.agent2,
        counts_at=event.counts_at,
    )
    assert today(shop) == {}
    event_report_facts_change(
        world.supervisor,
        event_id=event.pk,
        included_in_reports=True,
        counts_for_user=world.agent,
        counts_at=yesterday,
    )
    assert today(shop) == {}
    assert rollup_verify() == []
