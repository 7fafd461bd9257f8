"""A large export streams: 100,000 registrations go out as CSV while the memory the process
holds stays that of a chunk of rows, not of the file (the whole file is about 20 MB)."""

from __future__ import annotations

import datetime as dt
import tracemalloc

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from kundeflyt.handling.models import Event
from tests.reports.history import OSLO
from tests.world import World

pytestmark = pytest.mark.django_db

ROWS = 100_000
SMALL = 5_000  # three chunks of rows: memory has reached what a chunk takes


COLUMNS = (
    "customer_id, campaign_id, segment_id, outcome_id, option_id, from_state_id, to_state_id, "
    "comment, extra_values, follow_up_at, follow_up_user_id, included_in_reports, "
    "counts_for_user_id, corrects_id, is_corrected, actor_user_id, actor_process"
)


def many_registrations(world: World, count: int) -> None:
    """``count`` attempts a minute apart: one written by the ORM, the rest copied from it by
    one INSERT … SELECT over a series of numbers (a hundred thousand in about a second)."""
    written = Event.objects.count()
    customer = world.customer(f"bulk-{written}")
    state = world.campaign.flow.entry_state()
    at = dt.datetime(2025, 3, 1, 9, tzinfo=OSLO) + dt.timedelta(minutes=written)
    template = Event.objects.create(
        customer=customer,
        campaign=world.campaign,
        outcome=world.outcome("no_answer"),
        from_state=state,
        to_state=state,
        actor_user=world.agent,
        registered_at=at,
        counts_for_user=world.agent,
        counts_at=at,
        comment="Ringte, ingen svar; prøver igjen i morgen formiddag, «kanskje»",
    )
    if connection.vendor == "postgresql":
        series = "generate_series(1, %s) AS n(i)"
        later = "{} + n.i * interval '1 minute'"
        prefix = ""
    else:
        series = "n"
        later = "datetime({}, '+' || n.i || ' minutes')"
        prefix = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
    with connection.cursor() as cursor:
        cursor.execute(
            f"{prefix}INSERT INTO handling_event ({COLUMNS}, registered_at, counts_at) "
            f"SELECT {COLUMNS}, {later.format('registered_at')}, {later.format('counts_at')} "
            f"FROM handling_event, {series} WHERE handling_event.id = %s",
            [count - 1, template.pk],
        )


def streamed_peak(client: Client) -> tuple[int, int, int]:
    """Download every registration of 2025 as CSV; the bytes, the lines and the peak of
    memory allocated while the response streams."""
    response = client.post(
        reverse("exports:registrations"),
        {"start": "2025-01-01", "end": "2025-12-31", "format": "csv"},
    )
    assert response.status_code == 200 and response.streaming
    size = lines = 0
    tracemalloc.start()
    try:
        for chunk in response.streaming_content:  # type: ignore[attr-defined]
            size += len(chunk)
            lines += chunk.count(b"\r\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return size, lines, peak


def test_a_hundred_thousand_registrations_stream_in_bounded_memory(
    client: Client, world: World, settings: object
) -> None:
    settings.EXPORT_STREAM_MAX_ROWS = 1_000_000  # type: ignore[attr-defined]
    client.force_login(world.supervisor)
    many_registrations(world, SMALL)
    small_size, small_lines, small_peak = streamed_peak(client)
    many_registrations(world, ROWS - SMALL)

    size, lines, peak = streamed_peak(client)

    assert (small_lines, lines) == (SMALL + 1, ROWS + 1)  # the header and a line per row
    assert size > 19 * small_size > 19 * 500_000
    # Twenty times the rows, not twenty times the memory: a chunk of rows, never the file.
    print(f"peak {peak:,} B streaming {size:,} B; {small_peak:,} B for {small_size:,} B")
    assert peak < 2 * small_peak + 1_000_000, (small_peak, peak)
