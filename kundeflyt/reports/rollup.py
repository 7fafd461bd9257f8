"""The report rollups: kept in the same transaction as the events, rebuilt and verified from them.

The contract for code that writes events or their report facts
-------------------------------------------------------------------

``rollup_event(event, sign)`` adds (``+1``) or removes (``-1``) one event's contribution to
every rollup: outcomes, activity, active hours, product lines and meetings booked. Call it
inside the transaction that changes the event, with the event as it is at that moment:

- **registered**: ``rollup_event(event, +1)`` after the event, its product lines and its
  meeting are written (``outcome_register`` does this).
- **any change of a report fact** — corrected (``is_corrected`` set), excluded or included
  again (``included_in_reports``), re-attributed (``counts_for_user``, ``counts_at``):
  ``rollup_event(event, -1)`` with the old facts, change and save the event, then
  ``rollup_event(event, +1)`` with the new facts. ``rollup_change(event)`` is a context
  manager that does exactly this around the ``with`` block. A correction then also adds
  the replacing event with ``+1``.

Each call is a no-op for an event that does not count in reports in the state it is passed
(not included, or corrected), so the two calls around a change are always right: excluding
removes, including again adds, correcting removes, re-attributing moves. Only events that are
included and not corrected are ever counted (DESIGN.md rule 6). The caller must hold the event
(lock its row, as the services do) so that two changes of one event cannot interleave.

Days and hours are those of ``counts_at`` in ``REPORT_TIME_ZONE`` (the project's time zone,
Europe/Oslo): changing that setting needs ``manage.py reports_rebuild``. Whether an outcome is
progressive is read from the outcome when the event is added; an outcome whose target state is
later removed or added needs a rebuild too (``reports_verify`` finds it).

Increments are ``INSERT … ON CONFLICT (key) DO UPDATE SET n = table.n + EXCLUDED.n``, which
PostgreSQL and SQLite (3.24+) both run, and which is safe when transactions add to the same row
at once. ``rollup_rebuild`` recounts everything from the raw events; ``rollup_verify`` recounts
month by month and reports (and with ``fix`` repairs) every row that differs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

from kundeflyt.flows.models import Outcome
from kundeflyt.handling.models import Event, Meeting, ProductLine
from kundeflyt.reports.models import CallDay, OutcomeDay, ProductDay, UserDay, UserHour

REPORT_TIME_ZONE = ZoneInfo(settings.TIME_ZONE)


def report_day(moment: dt.datetime) -> dt.date:
    """The report day of a moment: its date in the report time zone."""
    return moment.astimezone(REPORT_TIME_ZONE).date()


def day_start(day: dt.date) -> dt.datetime:
    """The first moment of a report day (aware), to turn day ranges into time ranges."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=REPORT_TIME_ZONE)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model: type[Any]) -> str:
    return _q(model._meta.db_table)


# --- Keeping the rollups: one event at a time ----------------------------------------------


def _upsert_sql(model: type[Any], columns: Sequence[str], key: Sequence[str], source: str) -> str:
    """INSERT … ON CONFLICT that adds the columns not in ``key`` to the row of ``key`` (created
    if missing); ``source`` is what gives the values: ``VALUES (…)`` or a query."""
    table = _table(model)
    updates = ", ".join(
        f"{_q(c)} = {table}.{_q(c)} + EXCLUDED.{_q(c)}" for c in columns if c not in key
    )
    return (
        f"INSERT INTO {table} ({', '.join(_q(c) for c in columns)}) {source} "
        f"ON CONFLICT ({', '.join(_q(c) for c in key)}) DO UPDATE SET {updates}"
    )


def _values(n: int) -> str:
    return f"VALUES ({', '.join(['%s'] * n)})"


def _upsert(
    model: type[Any], key: dict[str, Any], sums: dict[str, int], *, returning: str | None = None
) -> int | None:
    """Add ``sums`` to the row of ``key`` (created if missing); optionally read a column back."""
    columns = [*key, *sums]
    sql = _upsert_sql(model, columns, list(key), _values(len(columns)))
    params = [*key.values(), *sums.values()]
    with connection.cursor() as cursor:
        if returning is not None and connection.features.can_return_columns_from_insert:
            cursor.execute(f"{sql} RETURNING {_q(returning)}", params)
            return int(cursor.fetchone()[0])
        cursor.execute(sql, params)
        if returning is None:
            return None
        where = " AND ".join(f"{_q(c)} = %s" for c in key)
        table = _table(model)
        cursor.execute(f"SELECT {_q(returning)} FROM {table} WHERE {where}", list(key.values()))
        row = cursor.fetchone()
        return int(row[0]) if row else 0


Row = tuple[dict[str, Any], dict[str, int]]  # a rollup row's key and what to add to it


def _day_rows(outcome_day: Row, user_hour: Row, user_day: Row, sign: int) -> None:
    """The outcome, hour and day rows of one event. The day's active hours change when the
    hour became active (0 → 1) or idle (1 → 0). PostgreSQL writes all three in one statement
    (a data-modifying WITH); SQLite has no such statement and takes three."""
    if connection.vendor != "postgresql":
        _upsert(OutcomeDay, *outcome_day)
        in_hour = _upsert(UserHour, *user_hour, returning="n")
        hours = sign if (sign == 1 and in_hour == 1) or (sign == -1 and in_hour == 0) else 0
        _upsert(UserDay, user_day[0], user_day[1] | {"hours": hours})
        return
    parts: list[str] = []
    params: list[Any] = []
    for model, (key, sums) in ((OutcomeDay, outcome_day), (UserHour, user_hour)):
        columns = [*key, *sums]
        parts.append(_upsert_sql(model, columns, list(key), _values(len(columns))))
        params += [*key.values(), *sums.values()]
    day_key, day_sums = user_day
    columns = [*day_key, *day_sums, "hours"]
    placeholders = ", ".join(["%s"] * (len(day_key) + len(day_sums)))
    active = "CASE WHEN (%s = 1 AND h.n = 1) OR (%s = -1 AND h.n = 0) THEN %s ELSE 0 END"
    day_sql = _upsert_sql(
        UserDay, columns, list(day_key), f"SELECT {placeholders}, {active} FROM h"
    )
    params += [*day_key.values(), *day_sums.values(), sign, sign, sign]
    with connection.cursor() as cursor:
        cursor.execute(f"WITH o AS ({parts[0]}), h AS ({parts[1]} RETURNING n) {day_sql}", params)


def rollup_event(
    event: Event, sign: int, *, meetings: int | None = None, product_lines: int | None = None
) -> None:
    """Add (``+1``) or remove (``-1``) ``event``'s contribution to the rollups, with its report
    facts as they are on the object now; nothing for an event that does not count. Called
    inside the caller's transaction: see the module docstring for when. A caller that has
    just written the event may say how many meetings and product lines it has, which are
    then not counted again."""
    if sign not in (1, -1):
        raise ValueError("sign must be +1 or -1")
    if not event.included_in_reports or event.is_corrected:
        return
    local = event.counts_at.astimezone(REPORT_TIME_ZONE)
    day = connection.ops.adapt_datefield_value(local.date())
    user_key = event.counts_for_user_id or 0
    segment_key = event.segment_id or 0
    outcome: Outcome = event.outcome
    progressive = 1 if outcome.to_state_id is not None else 0
    if meetings is None:
        meetings = Meeting.objects.filter(event=event).count()

    _day_rows(
        (
            {
                "day": day,
                "campaign_id": event.campaign_id,
                "segment_key": segment_key,
                "user_key": user_key,
                "outcome_id": event.outcome_id,
                "option_key": event.option_id or 0,
            },
            {"n": sign, "meetings": sign * meetings},
        ),
        (
            {
                "day": day,
                "hour": local.hour,
                "campaign_id": event.campaign_id,
                "user_key": user_key,
            },
            {"n": sign},
        ),
        (
            {"day": day, "campaign_id": event.campaign_id, "user_key": user_key},
            {"n": sign, "progressive": sign * progressive, "meetings": sign * meetings},
        ),
        sign,
    )
    if product_lines == 0:
        return
    table, lines = _table(ProductDay), _table(ProductLine)
    key = ["day", "campaign_id", "segment_key", "user_key", "outcome_id", "product_id", "status"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(_q(c) for c in key)}, "
            f"{_q('lines')}, {_q('quantity')}, {_q('revenue_cents')}) "
            f"SELECT %s, %s, %s, %s, %s, pl.{_q('product_id')}, pl.{_q('status')}, "
            f"%s * COUNT(*), %s * SUM(pl.{_q('quantity')}), "
            f"%s * SUM({_cents('pl')}) "
            f"FROM {lines} pl WHERE pl.{_q('event_id')} = %s "
            f"GROUP BY pl.{_q('product_id')}, pl.{_q('status')} "
            f"ON CONFLICT ({', '.join(_q(c) for c in key)}) DO UPDATE SET "
            + ", ".join(
                f"{_q(c)} = {table}.{_q(c)} + EXCLUDED.{_q(c)}"
                for c in ("lines", "quantity", "revenue_cents")
            ),
            [
                day,
                event.campaign_id,
                segment_key,
                user_key,
                event.outcome_id,
                sign,
                sign,
                sign,
                event.pk,
            ],
        )


def _cents(alias: str) -> str:
    """A product line's value in hundredths, exact on both databases."""
    return f"CAST(ROUND({alias}.{_q('unit_price')} * 100) AS BIGINT) * {alias}.{_q('quantity')}"


def rollup_call(call: Any, sign: int) -> None:
    """Add (``+1``) or remove (``-1``) one call's contribution to the calls rollup: an
    outgoing call in a campaign counts once it has ended. Call it in the transaction that
    changes the call, before the change with -1 and after it with +1 (``calls.call_progress``)."""
    from kundeflyt.telephony.models import Call

    if call.direction != Call.Direction.OUT or call.status != Call.Status.ENDED:
        return
    if call.campaign_id is None:
        return
    answered = call.result == Call.Result.ANSWERED
    _upsert(
        CallDay,
        {
            "day": report_day(call.created_at),
            "campaign_id": call.campaign_id,
            "user_key": call.user_id or 0,
        },
        {
            "calls": sign,
            "answered": sign if answered else 0,
            "talk_seconds": sign * (call.duration_seconds or 0) if answered else 0,
        },
    )


@contextmanager
def rollup_change(event: Event) -> Iterator[Event]:
    """Wrap a change of ``event``'s report facts: its old contribution is removed before the
    block, its new one added after it (the block changes and saves the event)."""
    rollup_event(event, -1)
    yield event
    rollup_event(event, 1)


# --- Recounting from the raw events ---------------------------------------------------------


TABLES: tuple[type[Any], ...] = (OutcomeDay, UserHour, UserDay, ProductDay, CallDay)
KEYS: dict[type[Any], tuple[str, ...]] = {
    OutcomeDay: ("day", "campaign_id", "segment_key", "user_key", "outcome_id", "option_key"),
    UserHour: ("day", "hour", "campaign_id", "user_key"),
    UserDay: ("day", "campaign_id", "user_key"),
    ProductDay: (
        "day",
        "campaign_id",
        "segment_key",
        "user_key",
        "outcome_id",
        "product_id",
        "status",
    ),
    CallDay: ("day", "campaign_id", "user_key"),
}
VALUES: dict[type[Any], tuple[str, ...]] = {
    OutcomeDay: ("n", "meetings"),
    UserHour: ("n",),
    UserDay: ("n", "progressive", "meetings", "hours"),
    ProductDay: ("lines", "quantity", "revenue_cents"),
    CallDay: ("calls", "answered", "talk_seconds"),
}


def _period(
    column: str, start: dt.datetime | None, end: dt.datetime | None
) -> tuple[str, list[Any]]:
    """The conditions that keep ``column`` from ``start`` to ``end`` (either may be open)."""
    sql, params = "", []
    if start is not None:
        sql += f" AND {column} >= %s"
        params.append(connection.ops.adapt_datetimefield_value(start))
    if end is not None:
        sql += f" AND {column} < %s"
        params.append(connection.ops.adapt_datetimefield_value(end))
    return sql, params


def _recount_sql(
    model: type[Any], start: dt.datetime | None, end: dt.datetime | None
) -> tuple[str, list[Any]]:
    """The SELECT that recounts ``model``'s rows from the raw events (optionally only events
    counted from ``start`` to ``end``), columns in the order of KEYS then VALUES."""
    if model is CallDay:
        return _calls_recount_sql(start, end)
    tz = settings.TIME_ZONE
    counts_at = f"e.{_q('counts_at')}"
    day_sql, day_params = connection.ops.datetime_cast_date_sql(counts_at, (), tz)
    hour_sql, hour_params = connection.ops.datetime_extract_sql("hour", counts_at, (), tz)
    events, meetings, outcomes = _table(Event), _table(Meeting), _table(Outcome)
    where = f"e.{_q('included_in_reports')} AND NOT e.{_q('is_corrected')}"
    where_params: list[Any] = []
    period, period_params = _period(counts_at, start, end)
    where += period
    where_params += period_params
    segment = f"COALESCE(e.{_q('segment_id')}, 0)"
    user = f"COALESCE(e.{_q('counts_for_user_id')}, 0)"
    meeting_join = (
        f"LEFT JOIN (SELECT {_q('event_id')} AS event_id, COUNT(*) AS k FROM {meetings} "
        f"GROUP BY {_q('event_id')}) m ON m.event_id = e.{_q('id')}"
    )
    if model is OutcomeDay:
        sql = (
            f"SELECT {day_sql}, e.{_q('campaign_id')}, {segment}, {user}, e.{_q('outcome_id')}, "
            f"COALESCE(e.{_q('option_id')}, 0), COUNT(*), COALESCE(SUM(m.k), 0) "
            f"FROM {events} e {meeting_join} WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6"
        )
        return sql, [*day_params, *where_params]
    if model is UserHour:
        sql = (
            f"SELECT {day_sql}, {hour_sql}, e.{_q('campaign_id')}, {user}, COUNT(*) "
            f"FROM {events} e WHERE {where} GROUP BY 1, 2, 3, 4"
        )
        return sql, [*day_params, *hour_params, *where_params]
    if model is UserDay:
        sql = (
            f"SELECT {day_sql}, e.{_q('campaign_id')}, {user}, COUNT(*), "
            f"SUM(CASE WHEN o.{_q('to_state_id')} IS NULL THEN 0 ELSE 1 END), "
            f"COALESCE(SUM(m.k), 0), COUNT(DISTINCT {hour_sql}) "
            f"FROM {events} e JOIN {outcomes} o ON o.{_q('id')} = e.{_q('outcome_id')} "
            f"{meeting_join} WHERE {where} GROUP BY 1, 2, 3"
        )
        return sql, [*day_params, *hour_params, *where_params]
    if model is ProductDay:
        sql = (
            f"SELECT {day_sql}, e.{_q('campaign_id')}, {segment}, {user}, e.{_q('outcome_id')}, "
            f"pl.{_q('product_id')}, pl.{_q('status')}, COUNT(*), SUM(pl.{_q('quantity')}), "
            f"SUM({_cents('pl')}) "
            f"FROM {_table(ProductLine)} pl JOIN {events} e ON e.{_q('id')} = pl.{_q('event_id')} "
            f"WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6, 7"
        )
        return sql, [*day_params, *where_params]
    raise ValueError(model)


def _calls_recount_sql(start: dt.datetime | None, end: dt.datetime | None) -> tuple[str, list[Any]]:
    """The calls rollup recounted from the calls: outgoing, ended, in a campaign."""
    from kundeflyt.telephony.models import Call

    started = f"c.{_q('created_at')}"
    day_sql, day_params = connection.ops.datetime_cast_date_sql(started, (), settings.TIME_ZONE)
    where = (
        f"c.{_q('direction')} = %s AND c.{_q('status')} = %s AND c.{_q('campaign_id')} IS NOT NULL"
    )
    where_params: list[Any] = [Call.Direction.OUT.value, Call.Status.ENDED.value]
    period, period_params = _period(started, start, end)
    where += period
    where_params += period_params
    answered = f"c.{_q('result')} = %s"
    sql = (
        f"SELECT {day_sql}, c.{_q('campaign_id')}, COALESCE(c.{_q('user_id')}, 0), COUNT(*), "
        f"SUM(CASE WHEN {answered} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {answered} THEN COALESCE(c.{_q('duration_seconds')}, 0) ELSE 0 END) "
        f"FROM {_table(Call)} c WHERE {where} GROUP BY 1, 2, 3"
    )
    result = Call.Result.ANSWERED.value
    return sql, [*day_params, result, result, *where_params]


def _lock_rollups() -> None:
    """Keep writers out while a rebuild or repair recounts (readers go on). Registrations wait
    at their rollup increment and add their event after the recount, which did not see it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in TABLES:
                cursor.execute(f"LOCK TABLE {_table(model)} IN EXCLUSIVE MODE")


def _insert_recount(model: type[Any], start: dt.datetime | None, end: dt.datetime | None) -> int:
    select, params = _recount_sql(model, start, end)
    columns = ", ".join(_q(c) for c in (*KEYS[model], *VALUES[model]))
    # In key order, so that the unique index grows at its end instead of all over.
    order = ", ".join(str(n) for n in range(1, len(KEYS[model]) + 1))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {_table(model)} ({columns}) {select} ORDER BY {order}", params)
        return max(cursor.rowcount, 0)


@dataclass(frozen=True)
class RebuildSummary:
    rows: dict[str, int]


def rollup_rebuild() -> RebuildSummary:
    """Throw the rollups away and recount them from the raw events, in one transaction. On
    PostgreSQL the tables are truncated (readers of reports wait until it is done): deleting
    the rows instead would leave every key of the new rows to be checked against a dead one."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {', '.join(_table(m) for m in TABLES)}")
                # Millions of groups: sort them in memory rather than on disk.
                cursor.execute("SET LOCAL work_mem = '256MB'")
        else:
            for model in TABLES:
                model.objects.all().delete()
        rows = {}
        for model in TABLES:
            rows[model.__name__] = _insert_recount(model, None, None)
    return RebuildSummary(rows)


@dataclass(frozen=True)
class Difference:
    table: str
    key: tuple[Any, ...]
    kept: tuple[int, ...]
    recounted: tuple[int, ...]

    def __str__(self) -> str:
        key = ", ".join(str(k) for k in self.key)
        return f"{self.table} [{key}]: rollup {self.kept} ≠ events {self.recounted}"


def _normal(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        return dt.date.fromisoformat(value)
    if isinstance(value, (bool, str, dt.date)):
        return value
    return int(value)


def _rows(sql: str, params: Sequence[Any], width: int) -> dict[tuple[Any, ...], tuple[int, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = {}
        for row in cursor.fetchall():
            key = tuple(_normal(v) for v in row[:width])
            values = tuple(int(v or 0) for v in row[width:])
            if any(values):
                found[key] = values
        return found


def _compare(model: type[Any], first: dt.date | None, last: dt.date | None) -> list[Difference]:
    """Rows of ``model`` for days ``first``…``last`` that differ from a recount."""
    start = day_start(first) if first else None
    end = day_start(last + dt.timedelta(days=1)) if last else None
    select, params = _recount_sql(model, start, end)
    width = len(KEYS[model])
    recounted = _rows(select, params, width)
    columns = ", ".join(_q(c) for c in (*KEYS[model], *VALUES[model]))
    sql = f"SELECT {columns} FROM {_table(model)} WHERE 1 = 1"
    kept_params: list[Any] = []
    if first is not None:
        sql += f" AND {_q('day')} >= %s"
        kept_params.append(connection.ops.adapt_datefield_value(first))
    if last is not None:
        sql += f" AND {_q('day')} <= %s"
        kept_params.append(connection.ops.adapt_datefield_value(last))
    kept = _rows(sql, kept_params, width)
    zero = (0,) * len(VALUES[model])
    return [
        Difference(model.__name__, key, kept.get(key, zero), recounted.get(key, zero))
        for key in sorted(set(kept) | set(recounted), key=str)
        if kept.get(key, zero) != recounted.get(key, zero)
    ]


def _repair(model: type[Any], first: dt.date | None, last: dt.date | None) -> None:
    rows = model.objects.all()
    if first is not None:
        rows = rows.filter(day__gte=first)
    if last is not None:
        rows = rows.filter(day__lte=last)
    rows.delete()
    _insert_recount(
        model,
        day_start(first) if first else None,
        day_start(last + dt.timedelta(days=1)) if last else None,
    )


def _day_span() -> tuple[dt.date, dt.date] | None:
    """The first and last report day in the events or the rollups."""
    from kundeflyt.telephony.models import Call

    days: list[dt.date] = []
    for model, field in ((Event, "counts_at"), (Call, "created_at")):
        moments = model.objects.values_list(field, flat=True)
        for moment in (moments.order_by(field).first(), moments.order_by(f"-{field}").first()):
            if moment is not None:
                days.append(report_day(moment))
    for model in TABLES:
        for day in (
            model.objects.order_by("day").values_list("day", flat=True).first(),
            model.objects.order_by("-day").values_list("day", flat=True).first(),
        ):
            if day is not None:
                days.append(day)
    return (min(days), max(days)) if days else None


def rollup_verify(*, fix: bool = False, chunk_days: int = 31) -> list[Difference]:
    """Recount the rollups from the raw events, ``chunk_days`` at a time so that memory stays
    small at millions of events, and return every row that differs. With ``fix`` the rows of
    a chunk that differs are replaced by its recount. On PostgreSQL the rollups and the events
    are read in one snapshot (REPEATABLE READ), so registrations meanwhile never show as
    differences; a repair keeps writers out while it works."""
    differences: list[Difference] = []
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        if fix:
            _lock_rollups()
        span = _day_span()
        if span is None:
            return differences
        first, last = span
        while first <= last:
            chunk_last = min(first + dt.timedelta(days=chunk_days - 1), last)
            for model in TABLES:
                found = _compare(model, first, chunk_last)
                if found and fix:
                    _repair(model, first, chunk_last)
                differences += found
            first = chunk_last + dt.timedelta(days=1)
    return differences
