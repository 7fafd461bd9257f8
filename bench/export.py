"""The registration export at a million registrations: rows per second and peak memory of the
process, beside a bare ``COPY (SELECT …) TO STDOUT`` of the same join in the same run; and the
same export on SQLite.

    .venv/bin/python bench/export.py [--events 1000000] [--xlsx] [--no-sqlite]

On PostgreSQL it creates its own database (kundeflyt_export_bench_<pid>) on the server of
``--database-url``, migrates it and writes the history as ``bench/reports_10m.py`` does (one
data owner, 20 campaigns on the shipped flow, 200 agents; events, product lines and meetings
in SQL), plus two extra fields on *sold* with their values. Each export runs in a process of
its own (``--child``) that reads the export's rows through the export selector and writes
the CSV (or XLSX) file through the same writer as a download or a background export, so its
peak RSS is the export's own. The reference, in the same run, is PostgreSQL's ``COPY`` of a
SELECT that joins what the export's rows hold, read to the end by psycopg.

On SQLite it builds a file database under a temporary directory with the same seed (events
by a recursive ``INSERT … SELECT``), exports it the same way, and times the same join read
to the end by Python's ``sqlite3``. Both databases are dropped at the end, also on failure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reports_10m import (  # noqa: E402 - the seed of the reports benchmark
    DEFAULT_SERVER,
    FIRST_DAY,
    OUTCOME_SHARE,
    Clock,
    admin,
    seed,
    with_database,
    write_events,
)


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "kundeflyt.settings"
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ.setdefault("KUNDEFLYT_DATA_DIR", tempfile.mkdtemp(prefix="kundeflyt-bench-"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux


def current_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --- The export, in a process of its own --------------------------------------------------------


def child(fmt: str, first: dt.date, last: dt.date) -> dict[str, Any]:
    """Export every registration of the period as the bench's supervisor; the figures."""
    from kundeflyt.accounts.models import User
    from kundeflyt.exports.files import write_file
    from kundeflyt.exports.selectors import RegistrationFilter, registrations_export
    from kundeflyt.reports.selectors import ReportFilter

    reader = User.objects.get(username="leder")
    before = current_rss_kb()
    started = time.perf_counter()
    listing = registrations_export(reader, RegistrationFilter(ReportFilter(first, last)))
    with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as target:
        rows = write_file(listing, fmt, target)
        target.flush()
        size = Path(target.name).stat().st_size
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "counted": listing.count,
        "seconds": seconds,
        "bytes": size,
        "rss_before_kb": before,
        "peak_rss_kb": rss_kb(),
    }


def run_child(database_url: str, fmt: str, first: dt.date, last: dt.date) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            fmt,
            "--database-url",
            database_url,
            "--first",
            first.isoformat(),
            "--last",
            last.isoformat(),
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": database_url},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- The references: the same join in bare SQL ------------------------------------------------


def reference_select(postgres: bool) -> str:
    """The export's row as one SELECT: names, states, outcome, option, extra fields, products
    joined with their prices, the first meeting, correction links and report facts."""
    local = (
        (lambda c: f"({c} AT TIME ZONE 'Europe/Oslo')")
        if postgres
        else (lambda c: f"datetime({c}, 'localtime')")
    )
    concat = "||"
    name = f"(u.first_name {concat} ' ' {concat} u.last_name)"
    joined = (
        "string_agg(l.quantity || ' × ' || p.name || ' @ ' || l.unit_price, '; ' ORDER BY l.id)"
        if postgres
        else "group_concat(l.quantity || ' × ' || p.name || ' @ ' || l.unit_price, '; ')"
    )
    extra = (
        "e.extra_values->>'contract', e.extra_values->>'kwh'"
        if postgres
        else "json_extract(e.extra_values, '$.contract'), json_extract(e.extra_values, '$.kwh')"
    )
    return f"""
        SELECT e.id, {local("e.registered_at")}, {name}, {name.replace("u.", "cu.")},
            c.name, s.name, cust.customer_id, cust.name, fs.name, ts.name, o.name, op.label,
            e.comment, {extra}, {local("e.follow_up_at")}, {name.replace("u.", "fu.")},
            pl.products, pl.quantity, pl.value, pl.currency,
            m.starts_at, m.place, m.with_whom,
            e.corrects_id, cb.id, e.included_in_reports, {local("e.counts_at")},
            e.included_in_reports AND NOT e.is_corrected
        FROM handling_event e
        JOIN crm_customer cust ON cust.id = e.customer_id
        JOIN campaigns_campaign c ON c.id = e.campaign_id
        LEFT JOIN campaigns_segment s ON s.id = e.segment_id
        JOIN flows_state fs ON fs.id = e.from_state_id
        JOIN flows_state ts ON ts.id = e.to_state_id
        JOIN flows_outcome o ON o.id = e.outcome_id
        LEFT JOIN campaigns_outcomeoption op ON op.id = e.option_id
        LEFT JOIN accounts_user u ON u.id = e.actor_user_id
        LEFT JOIN accounts_user cu ON cu.id = e.counts_for_user_id
        LEFT JOIN accounts_user fu ON fu.id = e.follow_up_user_id
        LEFT JOIN (
            SELECT l.event_id, {joined} AS products, sum(l.quantity) AS quantity,
                sum(l.quantity * l.unit_price) AS value, min(l.currency) AS currency
            FROM handling_productline l JOIN campaigns_product p ON p.id = l.product_id
            GROUP BY l.event_id
        ) pl ON pl.event_id = e.id
        LEFT JOIN handling_meeting m ON m.event_id = e.id AND m.deleted_at IS NULL
        LEFT JOIN handling_event cb ON cb.corrects_id = e.id
        ORDER BY e.registered_at, e.id
    """


def copy_reference(database_url: str) -> dict[str, Any]:
    """``COPY (SELECT …) TO STDOUT WITH (FORMAT csv)`` of the same join, read by psycopg."""
    size = rows = 0
    started = time.perf_counter()
    with (
        psycopg.connect(database_url) as conn,
        conn.cursor() as cursor,
        cursor.copy(f"COPY ({reference_select(True)}) TO STDOUT WITH (FORMAT csv)") as copy,
    ):
        for block in copy:
            size += len(block)
            rows += bytes(block).count(b"\n")
    return {"rows": rows, "seconds": time.perf_counter() - started, "bytes": size}


def sqlite_reference(path: Path) -> dict[str, Any]:
    """The same join read to the end by Python's sqlite3 (no CSV writing)."""
    import sqlite3

    rows = 0
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    try:
        for _row in conn.execute(reference_select(False)):
            rows += 1
    finally:
        conn.close()
    return {"rows": rows, "seconds": time.perf_counter() - started, "bytes": 0}


# --- Seeding -------------------------------------------------------------------------------------


def add_extra_fields() -> None:
    """Two extra fields on *sold* in every campaign, and their values on the sold events."""
    from django.db import connection

    from kundeflyt.campaigns.models import Campaign, ExtraField
    from kundeflyt.flows.models import Outcome

    sold = Outcome.objects.get(key="sold")
    for campaign in Campaign.objects.all():
        ExtraField.objects.create(
            campaign=campaign,
            applies_to="outcome",
            outcome=sold,
            key="contract",
            label="Kontraktnr",
            type="text",
        )
        ExtraField.objects.create(
            campaign=campaign,
            applies_to="outcome",
            outcome=sold,
            key="kwh",
            label="Forbruk (kWh)",
            type="number",
            position=1,
        )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE handling_event SET extra_values = jsonb_build_object('contract', "
                "'K-' || id, 'kwh', id %% 9000) WHERE outcome_id = %s",
                [sold.pk],
            )
        else:
            cursor.execute(
                "UPDATE handling_event SET extra_values = json_object('contract', "
                "'K-' || id, 'kwh', id %% 9000) WHERE outcome_id = %s",
                [sold.pk],
            )


def sqlite_events(*, events: int, customers: int, days: int) -> None:
    """The reports benchmark's history, written for SQLite: a recursive series instead of
    generate_series, random() in thousandths; outcome shares, product lines and meetings as
    there."""
    from django.db import connection

    from kundeflyt.accounts.models import User
    from kundeflyt.campaigns.models import Campaign, Product
    from kundeflyt.crm.models import CRM
    from kundeflyt.flows.models import Outcome

    crm = CRM.objects.get()
    campaigns = list(Campaign.objects.order_by("pk").values_list("pk", flat=True))
    users = list(
        User.objects.filter(username__startswith="agent")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    outcomes = {o.key: o for o in Outcome.objects.filter(key__in=OUTCOME_SHARE)}
    entry = outcomes["no_answer"].flow.entry_state()
    keys, bounds, acc = list(OUTCOME_SHARE), [], 0
    for key in keys:
        acc += OUTCOME_SHARE[key]
        bounds.append(acc)
    outcome_case = "CASE " + " ".join(
        f"WHEN r_out < {b} THEN {outcomes[k].pk}" for k, b in zip(keys, bounds, strict=True)
    )
    outcome_case += f" ELSE {outcomes[keys[-1]].pk} END"
    to_state = "CASE outcome " + " ".join(
        f"WHEN {o.pk} THEN {o.to_state_id or entry.pk}" for o in outcomes.values()
    )
    to_state += f" ELSE {entry.pk} END"
    pick_campaign = "CASE camp " + " ".join(f"WHEN {n} THEN {pk}" for n, pk in enumerate(campaigns))
    pick_campaign += " END"
    pick_user = "CASE u " + " ".join(f"WHEN {n} THEN {pk}" for n, pk in enumerate(users)) + " END"
    start = f"{FIRST_DAY} 07:00:00"
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
            "INSERT INTO crm_customer (crm_id, customer_id, name, phone1, phone2, phone3, email,"
            " fields, created_at, updated_at, source, is_blocked) "
            "SELECT %s, 'c' || i, 'Kunde ' || i, '', '', '', '', '{}', '2024-12-01 07:00:00',"
            " '2024-12-01 07:00:00', 'import', 0 FROM n",
            [customers, crm.pk],
        )
        first_customer = cursor.execute("SELECT min(id) FROM crm_customer").fetchone()[0]
        cursor.execute(
            f"""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s)
            INSERT INTO handling_event (
                customer_id, campaign_id, segment_id, outcome_id, option_id, from_state_id,
                to_state_id, registered_at, comment, extra_values, follow_up_at,
                follow_up_user_id, included_in_reports, counts_for_user_id, counts_at,
                corrects_id, is_corrected, actor_user_id, actor_process)
            SELECT %s + cust, {pick_campaign}, NULL, outcome, NULL, {entry.pk}, {to_state},
                at, '', '{{}}', NULL, NULL, r_flag >= 15, user_id, at, NULL, r_flag < 10,
                user_id, ''
            FROM (
                SELECT *, {outcome_case} AS outcome FROM (
                    SELECT abs(random()) %% %s AS cust,
                        abs(random()) %% {len(campaigns)} AS camp,
                        {pick_user} AS user_id,
                        abs(random()) %% 1000 AS r_out,
                        abs(random()) %% 1000 AS r_flag,
                        datetime(%s, '+' || (abs(random()) %% %s) || ' days',
                            '+' || (abs(random()) %% 28800) || ' seconds') AS at
                    FROM (SELECT i, abs(random()) %% {len(users)} AS u FROM n)
                )
            )
            """,
            [events, first_customer, customers, start, days],
        )
        offer, sold = outcomes["offer_sent"].pk, outcomes["sold"].pk
        first_product = Product.objects.order_by("pk").values_list("pk", flat=True).first()
        cursor.execute(
            f"""
            INSERT INTO handling_productline (customer_id, campaign_id, event_id, product_id,
                status, quantity, unit_price, currency, extra_values)
            SELECT e.customer_id, e.campaign_id, e.id,
                (SELECT p.id FROM campaigns_product p WHERE p.campaign_id = e.campaign_id
                    ORDER BY p.id LIMIT 1) ,
                CASE WHEN e.outcome_id = {sold} THEN 'sold' ELSE 'offered' END,
                1 + (e.id % 3), '49.00', 'NOK', '{{}}'
            FROM handling_event e WHERE e.outcome_id IN ({offer}, {sold})
            """
        )
        assert first_product is not None
        meeting = outcomes["meeting_booked"].pk
        cursor.execute(
            f"""
            INSERT INTO handling_meeting (customer_id, campaign_id, event_id, starts_at,
                duration_minutes, place, with_whom, booked_by_id, deleted_at)
            SELECT e.customer_id, e.campaign_id, e.id, datetime(e.registered_at, '+3 days'),
                60, '', '', e.actor_user_id, NULL
            FROM handling_event e WHERE e.outcome_id = {meeting}
            """
        )
        cursor.execute("ANALYZE")


# --- The run -------------------------------------------------------------------------------------


def line(label: str, figures: dict[str, Any]) -> str:
    rate = figures["rows"] / figures["seconds"] if figures["seconds"] else 0
    peak = f"{figures['peak_rss_kb'] / 1024:,.0f}" if "peak_rss_kb" in figures else "–"
    before = f"{figures['rss_before_kb'] / 1024:,.0f}" if "rss_before_kb" in figures else "–"
    size = f"{figures['bytes'] / 1e6:,.0f}" if figures["bytes"] else "–"
    return (
        f"{label:<44} {figures['rows']:>10,} {figures['seconds']:>8.1f} {rate:>10,.0f} "
        f"{size:>8} {before:>8} {peak:>8}"
    )


def header() -> str:
    return (
        f"{'':<44} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'MB':>8} "
        f"{'RSS0 MB':>8} {'peak MB':>8}"
    )


def postgres_run(args: argparse.Namespace, first: dt.date, last: dt.date) -> list[str]:
    name = f"kundeflyt_export_bench_{os.getpid()}"
    url = with_database(args.database_url, name)
    admin(args.database_url, f'CREATE DATABASE "{name}"')
    try:
        setup_django(url)
        from django.core.management import call_command
        from django.db import connection, connections

        print(f"database {name}", flush=True)
        clock = Clock()
        call_command("migrate", verbosity=0, interactive=False)
        world = seed(campaigns=20, users=200, teams=10)
        write_events(
            world, events=args.events, customers=args.customers, days=args.days, clock=clock
        )
        add_extra_fields()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        clock.lap("extra fields, vacuum analyze")
        version = connection.pg_version // 10000
        connections.close_all()
        lines = [f"PostgreSQL {version}:"]
        csv_figures = run_child(url, "csv", first, last)
        clock.lap("export to CSV (Django)")
        copy_figures = copy_reference(url)
        clock.lap("COPY reference")
        lines += [
            line("  export to CSV (selector + writer)", csv_figures),
            line("  COPY (SELECT … same join) TO STDOUT", copy_figures),
        ]
        if args.xlsx:
            xlsx_figures = run_child(url, "xlsx", first, last)
            clock.lap("export to XLSX (Django)")
            lines.append(line("  export to XLSX (write-only workbook)", xlsx_figures))
        ratio = (csv_figures["rows"] / csv_figures["seconds"]) / (
            copy_figures["rows"] / copy_figures["seconds"]
        )
        lines.append(f"  CSV export ÷ COPY: {ratio:.2f} of COPY's rows per second")
        if csv_figures["rows"] != csv_figures["counted"]:
            lines.append(f"  ROWS DIFFER: counted {csv_figures['counted']:,}")
        return lines
    finally:
        if not args.keep:
            try:
                from django.db import connections as open_connections

                open_connections.close_all()
            except Exception:
                pass
            admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_run(args: argparse.Namespace, first: dt.date, last: dt.date) -> list[str]:
    """In a process of its own (one Django setup per process)."""
    folder = Path(tempfile.mkdtemp(prefix="kundeflyt-export-bench-"))
    path = folder / "bench.sqlite3"
    url = f"sqlite:///{path}"
    try:
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--seed-sqlite",
                "--database-url",
                url,
                "--events",
                str(args.sqlite_events),
                "--customers",
                str(args.customers),
                "--days",
                str(args.days),
            ],
            check=True,
        )
        figures = run_child(url, "csv", first, last)
        reference = sqlite_reference(path)
        return [
            "SQLite:",
            line("  export to CSV (selector + writer)", figures),
            line("  the same join read by sqlite3", reference),
        ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events (1,000,000)")
    parser.add_argument("--sqlite-events", type=int, default=None, help="on SQLite (--events)")
    parser.add_argument("--customers", type=int, default=200_000, help="customers (200,000)")
    parser.add_argument("--days", type=int, default=60, help="days of history (60)")
    parser.add_argument("--xlsx", action="store_true", help="also export to XLSX")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER),
        help=f"the PostgreSQL server (default $BENCH_DATABASE_URL or {DEFAULT_SERVER})",
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--child", choices=["csv", "xlsx"], help=argparse.SUPPRESS)
    parser.add_argument("--seed-sqlite", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--first", type=dt.date.fromisoformat, help=argparse.SUPPRESS)
    parser.add_argument("--last", type=dt.date.fromisoformat, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    first, last = FIRST_DAY, FIRST_DAY + dt.timedelta(days=args.days - 1)

    if args.child:
        setup_django(args.database_url)
        print(json.dumps(child(args.child, args.first, args.last)))
        return 0
    if args.seed_sqlite:
        setup_django(args.database_url)
        from django.core.management import call_command

        clock = Clock()
        call_command("migrate", verbosity=0, interactive=False)
        seed(campaigns=20, users=200, teams=10)
        sqlite_events(events=args.events, customers=args.customers, days=args.days)
        add_extra_fields()
        clock.lap(f"SQLite seeded with {args.events:,} events")
        return 0

    args.sqlite_events = args.sqlite_events or args.events
    load = os.getloadavg()[0]
    lines = postgres_run(args, first, last)
    if not args.no_sqlite:
        lines += sqlite_run(args, first, last)
    print()
    print(
        f"{args.events:,} registrations over {args.days} days, 20 campaigns, 200 agents; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load {load:.1f} → "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(header())
    for text in lines:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
