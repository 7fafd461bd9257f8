"""The activity report at ten million events: the rollup selector against the naive GROUP BY.

    .venv/bin/python bench/reports_10m.py [--events 10000000] [--runs 20] [--naive-year-runs 3]

Creates its own PostgreSQL database (kundeflyt_reports_bench_<pid>) on the server of
``--database-url``, migrates it, seeds one data owner with campaigns, segments, teams and
agents, writes the events, product lines and meetings in SQL (``INSERT … SELECT`` over
``generate_series``), builds the rollups with ``rollup_rebuild``, then times
``activity_report`` for a month and for a year beside the same figures computed by GROUP BY
over the raw events, checks that both give identical numbers, prints one table and drops the
database again, also when something fails. See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

if TYPE_CHECKING:
    from kundeflyt.accounts.models import User
    from kundeflyt.reports.selectors import ReportFilter

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
FIRST_DAY = dt.date(2025, 1, 1)
# How often each outcome of the shipped flow is registered (of 1000).
OUTCOME_SHARE = {
    "no_answer": 380,
    "call_back": 180,
    "meeting_booked": 40,
    "offer_sent": 90,
    "sold": 50,
    "not_interested": 220,
    "wrong_number": 40,
}


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def admin(server_url: str, sql: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "kundeflyt.settings"
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ["CONN_MAX_AGE"] = "600"
    os.environ.setdefault("FAST_PASSWORD_HASHER", "1")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


class Clock:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def lap(self, what: str) -> None:
        now = time.monotonic()
        print(f"  {what}: {now - self.started:.1f} s", flush=True)
        self.started = now


# --- Seeding -----------------------------------------------------------------------------------


@dataclass
class World:
    reader: User
    campaigns: list[int]
    users: list[int]


def seed(*, campaigns: int, users: int, teams: int) -> World:
    """One data owner with a B2C CRM, ``campaigns`` campaigns on the shipped flow with three
    segments, options for *not interested* and two products each, ``users`` agents in
    ``teams`` teams, and a supervisor with reporting and individual results."""
    from django.contrib.auth.models import Permission
    from django.db import transaction

    from kundeflyt.accounts.models import Team, User
    from kundeflyt.accounts.permissions import Perm
    from kundeflyt.campaigns.models import Campaign, OutcomeOption, Product, Segment
    from kundeflyt.common.actors import Process
    from kundeflyt.crm.models import CRM, DataOwner
    from kundeflyt.flows.services import standard_flow

    with transaction.atomic():
        flow = standard_flow(Process("bench"))
        owner = DataOwner.objects.create(name="Benk AS", purpose="Måling")
        crm = CRM.objects.create(data_owner=owner, kind=CRM.Kind.B2C, name="Privat")
        refused = flow.outcomes.get(key="not_interested")
        made = []
        for n in range(campaigns):
            campaign = Campaign.objects.create(crm=crm, name=f"Oppdrag {n + 1:02}", flow=flow)
            for k, name in enumerate(["Varme", "Lunkne", "Kalde"]):
                Segment.objects.create(campaign=campaign, name=name, priority=k + 1)
            for label in ["Har avtale", "For dyrt", "Ikke beslutningstaker", "Ikke ring"]:
                OutcomeOption.objects.create(campaign=campaign, outcome=refused, label=label)
            Product.objects.create(campaign=campaign, name="Fastpris", price=Decimal("49.00"))
            Product.objects.create(campaign=campaign, name="Spotpris", price=Decimal("0.00"))
            made.append(campaign)
        team_rows = [Team.objects.create(name=f"Team {n + 1:02}") for n in range(teams)]
        agents = [
            User(
                username=f"agent{n:03}",
                first_name="Agent",
                last_name=f"{n:03}",
                team=team_rows[n % teams],
            )
            for n in range(users)
        ]
        for agent in agents:
            agent.set_unusable_password()
        agents = User.objects.bulk_create(agents)
        reader = User.objects.create(username="leder", first_name="Leder", last_name="Benk")
        reader.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="accounts",
                codename__in=[Perm.REPORTING, Perm.INDIVIDUAL_RESULTS, Perm.REVENUE],
            )
        )
        owner.users.add(reader)
        owner.teams.add(*team_rows)
    return World(reader, [c.pk for c in made], [a.pk for a in agents])


def write_events(world: World, *, events: int, customers: int, days: int, clock: Clock) -> None:
    """Customers, events, product lines and meetings in SQL. Each agent works a home campaign
    (four events in five) and sometimes another; times are working hours in Oslo on every day
    of the period; 1 % of the events are corrected and 0.5 % excluded from reports."""
    from django.db import connection

    from kundeflyt.campaigns.models import OutcomeOption, Product, Segment
    from kundeflyt.crm.models import CRM
    from kundeflyt.flows.models import Outcome

    crm = CRM.objects.get()
    n_campaigns = len(world.campaigns)
    outcomes = {o.key: o for o in Outcome.objects.filter(key__in=OUTCOME_SHARE)}
    entry = outcomes["no_answer"].flow.entry_state()
    segments = [
        list(Segment.objects.filter(campaign=c).order_by("priority").values_list("pk", flat=True))
        for c in world.campaigns
    ]
    options = [
        list(OutcomeOption.objects.filter(campaign=c).order_by("pk").values_list("pk", flat=True))
        for c in world.campaigns
    ]
    products = [
        list(Product.objects.filter(campaign=c).order_by("pk").values_list("pk", flat=True))
        for c in world.campaigns
    ]
    # Outcome picked by thresholds over random() in thousandths.
    keys = list(OUTCOME_SHARE)
    bounds, acc = [], 0
    for key in keys:
        acc += OUTCOME_SHARE[key]
        bounds.append(acc)
    outcome_case = "CASE " + " ".join(
        f"WHEN y.r_out < {b} THEN {outcomes[k].pk}" for k, b in zip(keys, bounds, strict=True)
    )
    outcome_case += f" ELSE {outcomes[keys[-1]].pk} END"
    to_state = "CASE x.outcome " + " ".join(
        f"WHEN {o.pk} THEN {o.to_state_id or entry.pk}" for o in outcomes.values()
    )
    to_state += f" ELSE {entry.pk} END"

    def array(values: list[int]) -> str:
        return "ARRAY[" + ",".join(str(v) for v in values) + "]::bigint[]"

    flat_segments = [s for group in segments for s in group]
    flat_options = [o for group in options for o in group]
    flat_products = [p for group in products for p in group]
    refused = outcomes["not_interested"].pk
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            "INSERT INTO crm_customer (crm_id, customer_id, name, phone1, phone2, phone3, email,"
            " fields, created_at, updated_at, source, is_blocked) "
            "SELECT %s, 'c' || g, 'Kunde ' || g, '', '', '', '', '{}'::jsonb, "
            "%s::timestamptz, %s::timestamptz, 'import', false FROM generate_series(1, %s) g",
            [crm.pk, *[f"{FIRST_DAY - dt.timedelta(days=30)} 08:00+01"] * 2, customers],
        )
        first_customer = cursor.execute("SELECT min(id) FROM crm_customer").fetchone()[0]
        clock.lap(f"{customers:,} customers")
        # A bulk load: the event table's foreign keys are not checked row by row (the values
        # come from the arrays above), and its secondary indexes are dropped and built again
        # afterwards, so that the raw GROUP BY has every index the schema gives it.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = "
            "'handling_event' AND i.indexdef NOT LIKE 'CREATE UNIQUE%%'"
        )
        indexes = cursor.fetchall()
        for index, _definition in indexes:
            cursor.execute(f'DROP INDEX "{index}"')
        batch = 2_000_000
        for start in range(0, events, batch):
            count = min(batch, events - start)
            cursor.execute(
                f"""
                INSERT INTO handling_event (
                    customer_id, campaign_id, segment_id, outcome_id, option_id, from_state_id,
                    to_state_id, registered_at, comment, extra_values, follow_up_at,
                    follow_up_user_id, included_in_reports, counts_for_user_id, counts_at,
                    corrects_id, is_corrected, actor_user_id, actor_process)
                SELECT %s + x.cust, x.campaign_id,
                    CASE WHEN x.seg < 3 THEN ({array(flat_segments)})[x.camp * 3 + x.seg + 1]
                    END,
                    x.outcome,
                    CASE WHEN x.outcome = {refused}
                        THEN ({array(flat_options)})[x.camp * 4 + x.opt + 1] END,
                    {entry.pk}, {to_state}, x.at, '', '{{}}'::jsonb, NULL, NULL,
                    x.r_flag >= 15, x.user_id, x.at, NULL, x.r_flag < 10, x.user_id, ''
                FROM (
                    SELECT y.*, ({array(world.campaigns)})[y.camp + 1] AS campaign_id,
                        {outcome_case} AS outcome
                    FROM (
                        SELECT
                            floor(random() * %s)::bigint AS cust,
                            ({array(world.users)})[u + 1] AS user_id,
                            CASE WHEN random() < 0.8 THEN u %% {n_campaigns}
                                ELSE (u + d + 1) %% {n_campaigns} END AS camp,
                            floor(random() * 4)::int AS seg,
                            floor(random() * 4)::int AS opt,
                            floor(random() * 1000)::int AS r_out,
                            floor(random() * 1000)::int AS r_flag,
                            ((%s::date + d) + time '08:00' + random() * interval '8 hours')
                                AT TIME ZONE 'Europe/Oslo' AS at
                        FROM (
                            SELECT floor(random() * {len(world.users)})::int AS u,
                                floor(random() * %s)::int AS d
                            FROM generate_series(1, %s)
                        ) z
                    ) y
                ) x
                """,
                [first_customer, customers, FIRST_DAY, days, count],
            )
            clock.lap(f"events {start + count:,}")
        for _index, definition in indexes:
            cursor.execute(definition)
        clock.lap(f"{len(indexes)} indexes of the events built again")
        offer, sold = outcomes["offer_sent"].pk, outcomes["sold"].pk
        cursor.execute(
            f"""
            INSERT INTO handling_productline (customer_id, campaign_id, event_id, product_id,
                status, quantity, unit_price, currency, extra_values)
            SELECT e.customer_id, e.campaign_id, e.id,
                ({array(flat_products)})[
                    array_position({array(world.campaigns)}, e.campaign_id) * 2 - k],
                CASE WHEN e.outcome_id = {sold} THEN 'sold' ELSE 'offered' END,
                1 + (e.id % 3), CASE WHEN k = 1 THEN 49.00 ELSE 0.00 END, 'NOK', '{{}}'::jsonb
            FROM handling_event e, generate_series(0, 1) k
            WHERE e.outcome_id IN ({offer}, {sold}) AND (k = 0 OR e.id % 5 = 0)
            """
        )
        meeting = outcomes["meeting_booked"].pk
        cursor.execute(
            f"""
            INSERT INTO handling_meeting (customer_id, campaign_id, event_id, starts_at,
                duration_minutes, place, with_whom, booked_by_id, deleted_at)
            SELECT e.customer_id, e.campaign_id, e.id, e.registered_at + interval '3 days',
                60, '', '', e.actor_user_id, NULL
            FROM handling_event e WHERE e.outcome_id = {meeting}
            """
        )
        cursor.execute("SET session_replication_role = DEFAULT")
        clock.lap("product lines and meetings")


# --- The two ways to the activity report ----------------------------------------------------


def naive_activity(world: World, f: ReportFilter) -> dict[str, dict[Any, tuple[int, int, int]]]:
    """Outcomes, progressive outcomes and active hours per user, campaign and day, straight
    from the events: what the report would cost without the rollups."""
    from django.db import connection

    where = (
        "e.included_in_reports AND NOT e.is_corrected AND e.campaign_id = ANY(%s) "
        "AND e.counts_at >= (%s::date::timestamp AT TIME ZONE 'Europe/Oslo') "
        "AND e.counts_at < ((%s::date + 1)::timestamp AT TIME ZONE 'Europe/Oslo')"
    )
    params = [world.campaigns, f.first, f.last]
    local = "(e.counts_at AT TIME ZONE 'Europe/Oslo')"
    hour = f"date_trunc('hour', {local})"
    found: dict[str, dict[Any, tuple[int, int, int]]] = {}
    with connection.cursor() as cursor:
        for name, key, hours in [
            (
                "people",
                "COALESCE(e.counts_for_user_id, 0)",
                f"COUNT(DISTINCT (e.campaign_id, {hour}))",
            ),
            (
                "campaigns",
                "e.campaign_id",
                f"COUNT(DISTINCT (COALESCE(e.counts_for_user_id, 0), {hour}))",
            ),
            ("days", f"{local}::date", "0"),
        ]:
            cursor.execute(
                f"SELECT {key}, COUNT(*), COUNT(o.to_state_id), {hours} FROM handling_event e "
                f"JOIN flows_outcome o ON o.id = e.outcome_id WHERE {where} GROUP BY 1",
                params,
            )
            found[name] = {row[0]: (row[1], row[2], row[3]) for row in cursor.fetchall()}
    return found


def compare(world: World, f: ReportFilter) -> list[str]:
    """Differences between the report (rollups) and the naive GROUP BY, as text."""
    from kundeflyt.accounts.models import User
    from kundeflyt.campaigns.models import Campaign
    from kundeflyt.reports.selectors import activity_report, per_hour, percent

    report = activity_report(world.reader, f)
    naive = naive_activity(world, f)
    names = {
        u.pk: (str(u), u.team.name if u.team else "") for u in User.objects.select_related("team")
    }
    campaign_names = dict(Campaign.objects.values_list("pk", "name"))

    def figures(n: int, progressive: int, hours: int | None) -> tuple[Any, ...]:
        values: tuple[Any, ...] = (n, n - progressive, progressive, percent(progressive, n))
        if hours is not None:
            values += (hours, per_hour(n, hours))
        return values

    wanted = {
        "people": {names[k]: figures(*v) for k, v in naive["people"].items()},
        "campaigns": {(campaign_names[k],): figures(*v) for k, v in naive["campaigns"].items()},
        "days": {(k,): figures(*v[:2], None) for k, v in naive["days"].items()},
    }
    problems = []
    for table, width in (("people", 2), ("campaigns", 1), ("days", 1)):
        rows = report.table(table).rows
        got = {tuple(r[:width]): tuple(r[width:]) for r in rows}
        if table == "days":
            got = {k: v[:4] for k, v in got.items()}
        if got != wanted[table]:
            differing = [
                k for k in set(got) | set(wanted[table]) if got.get(k) != wanted[table].get(k)
            ]
            problems.append(f"{table}: {len(differing)} rows differ, e.g. {sorted(differing)[:3]}")
    if not report.table("days").rows:
        problems.append("the report is empty")
    return problems


@dataclass
class Timing:
    label: str
    runs: list[float]

    def p(self, q: float) -> float:
        ordered = sorted(self.runs)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def timed(label: str, runs: int, call: Callable[[], object]) -> Timing:
    call()  # warm the caches once, as a page in use would have them
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return Timing(label, times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events (10,000,000)")
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers (1,000,000)")
    parser.add_argument("--days", type=int, default=425, help="days of history (425)")
    parser.add_argument("--campaigns", type=int, default=20, help="campaigns (20)")
    parser.add_argument("--users", type=int, default=200, help="agents (200)")
    parser.add_argument("--teams", type=int, default=10, help="teams (10)")
    parser.add_argument("--runs", type=int, default=20, help="timed runs of the report (20)")
    parser.add_argument(
        "--naive-year-runs",
        type=int,
        default=3,
        help="timed runs of the naive GROUP BY for a year (3: each takes seconds)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER),
        help=f"the PostgreSQL server (default $BENCH_DATABASE_URL or {DEFAULT_SERVER})",
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    args = parser.parse_args(argv)

    name = f"kundeflyt_reports_bench_{os.getpid()}"
    admin(args.database_url, f'CREATE DATABASE "{name}"')
    try:
        setup_django(with_database(args.database_url, name))
        from django.core.management import call_command
        from django.db import connection, connections

        from kundeflyt.reports.models import OutcomeDay, ProductDay, UserDay, UserHour
        from kundeflyt.reports.rollup import rollup_rebuild
        from kundeflyt.reports.selectors import ReportFilter, activity_report

        print(f"database {name}", flush=True)
        clock = Clock()
        call_command("migrate", verbosity=0, interactive=False)
        clock.lap("migrated")
        world = seed(campaigns=args.campaigns, users=args.users, teams=args.teams)
        write_events(
            world, events=args.events, customers=args.customers, days=args.days, clock=clock
        )
        started = time.monotonic()
        summary = rollup_rebuild()
        rebuild = time.monotonic() - started
        clock.lap("rollup_rebuild")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        clock.lap("vacuum analyze")

        last = FIRST_DAY + dt.timedelta(days=args.days - 1)
        month = ReportFilter(first=last.replace(day=1), last=last)
        year = ReportFilter(first=last - dt.timedelta(days=364), last=last)
        problems = compare(world, month) + compare(world, year)
        clock.lap("numbers compared")

        timings = [
            timed(
                "activity_report, month (rollup)",
                args.runs,
                lambda: activity_report(world.reader, month),
            ),
            timed(
                "naive GROUP BY, month (events)", args.runs, lambda: naive_activity(world, month)
            ),
            timed(
                "activity_report, year (rollup)",
                args.runs,
                lambda: activity_report(world.reader, year),
            ),
            timed(
                "naive GROUP BY, year (events)",
                args.naive_year_runs,
                lambda: naive_activity(world, year),
            ),
        ]
        clock.lap("timed")
        sizes = {m.__name__: m.objects.count() for m in (OutcomeDay, UserDay, UserHour, ProductDay)}

        print()
        print(
            f"{args.events:,} events, {args.days} days from {FIRST_DAY}, {args.campaigns} "
            f"campaigns, {args.users} agents in {args.teams} teams; PostgreSQL "
            f"{connection.pg_version // 10000}, Python {platform.python_version()}, "
            f"{os.cpu_count()} CPUs"
        )
        print(f"rollup rows: {sizes}; rollup_rebuild took {rebuild:.1f} s ({summary.rows})")
        print()
        print(f"{'':<36} {'runs':>5} {'p50 ms':>9} {'p95 ms':>9}")
        for t in timings:
            print(f"{t.label:<36} {len(t.runs):>5} {t.p(0.5):>9.1f} {t.p(0.95):>9.1f}")
        print()
        print(
            "numbers identical to the raw recount (month and year): "
            + ("yes" if not problems else "NO\n  " + "\n  ".join(problems))
        )
        connections.close_all()
        return 0 if not problems else 1
    finally:
        if not args.keep:
            try:
                from django.db import connections as open_connections

                open_connections.close_all()
            except Exception:
                pass
            admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
