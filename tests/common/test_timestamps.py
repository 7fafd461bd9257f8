"""Timestamps read at psycopg's C speed are the same instants, in UTC, as Django's own
loader gives: at the calendar's edges, with microseconds, and written in other zones."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_the_fast_loader_reads_every_instant_as_django_does() -> None:
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    with connection.cursor() as cursor:
        loader = connection.connection.adapters.get_loader(
            connection.connection.adapters.types["timestamptz"].oid, 0
        )
        cursor.execute(
            "SELECT '0001-01-01 00:00:00+00'::timestamptz,"
            " '9999-12-31 23:59:59.999999+00'::timestamptz,"
            " '2026-03-29 02:30:00.000001+02'::timestamptz,"
            " '2026-11-30 12:00:00-05:30'::timestamptz,"
            " NULL::timestamptz"
        )
        row = cursor.fetchone()

    assert loader.__name__ == "FastTzLoader" and issubclass(loader, BaseTzLoader)
    assert loader.timezone is dt.UTC  # what Django checks before each cursor
    assert row == (
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 29, 0, 30, 0, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.UTC),
        None,
    )
    assert all(value.tzinfo is dt.UTC for value in row[:4])
