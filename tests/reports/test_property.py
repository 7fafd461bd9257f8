"""DESIGN.md rule 6 as a property: whatever happens to the events — registrations, corrections
of both kinds, exclusions, inclusions, re-attributions — every report equals a recount of the
raw events, and the rollups equal ``reports_verify``'s recount.

Run on SQLite by default and on PostgreSQL with ``DATABASE_URL=postgres://…``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kundeflyt.common.actors import Process
from kundeflyt.handling.models import Event
from kundeflyt.privacy.models import Right
from kundeflyt.privacy.services import customer_anonymise
from kundeflyt.reports.rollup import rollup_verify
from kundeflyt.reports.selectors import (
    UNSEGMENTED,
    ReportFilter,
    activity_report,
    meetings_report,
    outcomes_report,
    products_report,
    status_report,
)
from tests.reports.history import (
    UTC,
    Shop,
    correct,
    counted,
    expected_activity,
    expected_meetings,
    expected_outcomes,
    expected_products,
    reattribute,
    register,
    rows_by_name,
    set_included,
)

pytestmark = pytest.mark.django_db

# Moments around the edges of Oslo days and hours, in UTC: a late evening and the night after
# it, the spring-forward day, the autumn night whose 02:30 happens twice, and an ordinary day.
MOMENTS = [
    dt.datetime(2025, 3, 29, 22, 59, tzinfo=UTC),  # 29.03 23:59 CET
    dt.datetime(2025, 3, 29, 23, 0, tzinfo=UTC),  # 30.03 00:00 CET
    dt.datetime(2025, 3, 30, 1, 30, tzinfo=UTC),  # 30.03 03:30 CEST (02:xx never happened)
    dt.datetime(2025, 10, 26, 0, 30, tzinfo=UTC),  # 26.10 02:30 CEST
    dt.datetime(2025, 10, 26, 1, 30, tzinfo=UTC),  # 26.10 02:30 CET, the same hour again
    dt.datetime(2025, 10, 26, 22, 59, tzinfo=UTC),  # 26.10 23:59 CET
    dt.datetime(2025, 10, 26, 23, 0, tzinfo=UTC),  # 27.10 00:00 CET
    dt.datetime(2025, 6, 2, 6, 5, tzinfo=UTC),  # 02.06 08:05 CEST
    dt.datetime(2025, 6, 2, 6, 55, tzinfo=UTC),  # 02.06 08:55
    dt.datetime(2025, 6, 2, 7, 10, tzinfo=UTC),  # 02.06 09:10
]
PRICES = [None, Decimal("0.10"), Decimal("1234.55")]

registration = st.tuples(
    st.integers(0, 4),  # customer (4: the hidden campaign's customer)
    st.integers(0, 5),  # outcome
    st.integers(0, 3),  # user (3: a process, no user)
    st.integers(0, len(MOMENTS) - 1),
    st.integers(0, 2),  # segment (2: none)
    st.integers(0, 1),  # option, where the outcome has options
    st.lists(st.tuples(st.integers(0, 1), st.integers(1, 3), st.integers(0, 2)), max_size=2),
)
change = st.tuples(
    st.sampled_from(["correct", "exclude", "include", "reattribute"]),
    st.integers(0, 50),  # which event
    st.integers(0, 3),  # user
    st.integers(0, len(MOMENTS) - 1),
    st.integers(0, 5),  # outcome of a correction
    st.booleans(),  # as the original user at the original time
)


def apply_history(
    shop: Shop,
    registrations: list[tuple[int, int, int, int, int, int, list[tuple[int, int, int]]]],
    changes: list[tuple[str, int, int, int, int, bool]],
) -> None:
    world = shop.world
    outcomes = shop.outcomes()
    hidden_outcomes = shop.outcomes(shop.hidden)
    events: list[Event] = []
    for customer, outcome, user, moment, segment, option, products in registrations:
        hidden = customer == 4
        choices = hidden_outcomes if hidden else outcomes
        chosen = choices[outcome % len(choices)]
        events.append(
            register(
                shop.hidden_customer if hidden else shop.customers[customer],
                campaign=shop.hidden if hidden else shop.campaign,
                outcome=chosen,
                user=shop.users[user],
                at=MOMENTS[moment],
                segment=None if hidden else shop.segments[segment],
                option=shop.options[option] if chosen == shop.refused else None,
                products=[
                    (shop.products[p] if not hidden else shop.hidden.products.get(), q, PRICES[c])
                    for p, q, c in products
                ],
            )
        )
    for kind, index, user, moment, outcome, as_original in changes:
        event = Event.objects.get(pk=events[index % len(events)].pk)
        if kind == "correct":
            if event.is_corrected:
                continue
            actor = shop.users[user] or world.supervisor
            campaign_outcomes = hidden_outcomes if event.campaign == shop.hidden else outcomes
            events.append(
                correct(
                    event,
                    by=actor,
                    outcome=campaign_outcomes[outcome % len(campaign_outcomes)],
                    at=MOMENTS[moment] + dt.timedelta(days=1),
                    as_original=as_original,
                )
            )
        elif kind in {"exclude", "include"}:
            set_included(event, kind == "include")
        else:
            reattribute(event, user=shop.users[user], at=MOMENTS[moment])


def check_reports(shop: Shop, f: ReportFilter) -> None:
    """Every report the boss (all permissions) and the lead (no individual results, no
    revenue) read equals the recount, and neither counts the hidden campaign."""
    visible = [shop.campaign.pk]
    user_keys = None
    if f.team is not None:
        user_keys = [u.pk for u in shop.users if u is not None and u.team_id == f.team]
    if f.user is not None:
        user_keys = [f.user] if user_keys is None or f.user in user_keys else []
    for reader, individual in ((shop.boss, True), (shop.lead, False)):
        keys = user_keys if individual or f.user is None else None
        if not individual and f.team is not None:
            keys = [u.pk for u in shop.users if u is not None and u.team_id == f.team]
        events = counted(visible, f, user_keys=keys)
        width = 2 if individual else 1
        fine = f.segment is not None or f.outcome is not None

        activity = activity_report(reader, f)
        expected = expected_activity(events, individual=individual, hours=not fine)
        assert rows_by_name(activity.table("people").rows, width) == expected["people"]
        assert rows_by_name(activity.table("campaigns").rows, 1) == expected["campaigns"]
        assert rows_by_name(activity.table("days").rows, 1) == expected["days"]
        assert tuple(activity.table("people").total[width:]) == expected["total"]

        per_outcome, per_option = expected_outcomes(events)
        outcomes = outcomes_report(reader, f)
        assert {r[0]: r[2] for r in outcomes.table("outcomes").rows} == per_outcome
        assert {(r[0], r[1]): r[2] for r in outcomes.table("options").rows} == per_option

        products = products_report(reader, f)
        found = {r[0]: tuple(r[2:7]) for r in products.table("products").rows}
        wanted = expected_products(events)
        if individual:
            assert found == wanted
        else:
            assert found == {k: v[:4] for k, v in wanted.items()}
            assert "revenue" not in [c.key for c in products.table("products").columns]

        meetings = meetings_report(reader, f)
        assert {
            tuple(r[:width]): r[width] for r in meetings.table("people").rows
        } == expected_meetings(events, individual=individual)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    registrations=st.lists(registration, min_size=1, max_size=14),
    changes=st.lists(change, max_size=12),
    narrow=st.booleans(),
    segment=st.sampled_from([None, "hot", UNSEGMENTED]),
    who=st.sampled_from([None, "team", "user"]),
    outcome=st.sampled_from([None, "refused", "meeting_booked"]),
)
def test_every_report_equals_a_recount_of_the_raw_events(
    shop: Shop,
    registrations: list[tuple[int, int, int, int, int, int, list[tuple[int, int, int]]]],
    changes: list[tuple[str, int, int, int, int, bool]],
    narrow: bool,
    segment: str | int | None,
    who: str | None,
    outcome: str | None,
) -> None:
    with transaction.atomic():
        apply_history(shop, registrations, changes)

        assert rollup_verify() == []
        everything = ReportFilter(first=dt.date(2025, 1, 1), last=dt.date(2025, 12, 31))
        check_reports(shop, everything)
        check_reports(
            shop,
            ReportFilter(
                first=dt.date(2025, 3, 30) if narrow else dt.date(2025, 1, 1),
                last=dt.date(2025, 10, 26) if narrow else dt.date(2025, 12, 31),
                segment=shop.world.hot.pk if segment == "hot" else segment,  # type: ignore[arg-type]
                team=shop.north.pk if who == "team" else None,
                user=shop.world.agent2.pk if who == "user" else None,
                outcome=(
                    shop.world.outcome(outcome).pk if outcome else None  # type: ignore[arg-type]
                ),
            ),
        )
        transaction.set_rollback(True)


ERASER = Process("test-retention")


def every_table(shop: Shop, f: ReportFilter) -> list[tuple[str, list[list[Any]], Any]]:
    """Every row and total of every report the boss reads."""
    return [
        (table.key, table.rows, table.total)
        for build in (
            activity_report,
            outcomes_report,
            products_report,
            meetings_report,
            status_report,
        )
        for table in build(shop.boss, f).tables
    ]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    registrations=st.lists(registration, min_size=1, max_size=10),
    changes=st.lists(change, max_size=6),
    erased=st.sets(st.integers(0, 3), min_size=1),
)
def test_every_report_is_the_same_after_people_are_erased(
    shop: Shop,
    registrations: list[tuple[int, int, int, int, int, int, list[tuple[int, int, int]]]],
    changes: list[tuple[str, int, int, int, int, bool]],
    erased: set[int],
) -> None:
    """GDPR Art. 17 keeps the statistics: erasing people leaves their events, so every report
    reads as before and still equals the recount."""
    everything = ReportFilter(first=dt.date(2025, 1, 1), last=dt.date(2025, 12, 31))
    with transaction.atomic():
        apply_history(shop, registrations, changes)
        before = every_table(shop, everything)

        for index in sorted(erased):
            # The service's body, inside this test's transaction (rolled back after).
            customer_anonymise.__wrapped__(  # type: ignore[attr-defined]
                ERASER, customer_id=shop.customers[index].pk, reason="", right=Right.RETENTION
            )

        assert rollup_verify() == []
        check_reports(shop, everything)
        assert every_table(shop, everything) == before
        transaction.set_rollback(True)
