"""Next-customer claims per second: ``customer_present_next`` against the bare SQL (pgbench).

    .venv/bin/python bench/claims.py [--workers 32] [--customers 20000] [--seconds 10]
                                     [--processes 1]

Creates its own PostgreSQL database (kundeflyt_bench_<pid>) on the server of
``--database-url``, migrates it, seeds one campaign, measures, prints one table and drops the
database again, also when something fails. The pgbench script is written at run time with the
campaign's segment ids (``claim_sql``). See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import psycopg

if TYPE_CHECKING:
    from kundeflyt.accounts.models import User
    from kundeflyt.campaigns.models import Campaign

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"

# One next-customer claim in bare SQL, per pgbench client, in one transaction: what
# customer_present_next asks of PostgreSQL when it presents an available customer, without the
# Django around it. Asking for the next customer lets go of the current one (DESIGN.md rule 1)
# and does not present it again at once; then the available queue is read one segment at a
# time in priority order, unsegmented last, each from the (segment, waiting_since) index with
# FOR UPDATE SKIP LOCKED, until one gives a customer; then the holder is set.
# :first_user and :campaign come from `pgbench -D`; :client_id is pgbench's own (0, 1, …).
RELEASE_SQL = """\
\\set uid :first_user + :client_id
BEGIN;
WITH released AS (
    UPDATE handling_placement
       SET holder_id = NULL, selected_at = NULL, lease_expires_at = NULL
     WHERE holder_id = :uid
    RETURNING customer_id
)
SELECT coalesce(max(customer_id), 0) AS previous FROM released
\\gset
\\set next 0
"""

# One segment's queue (or the unsegmented one), asked only while nothing was found; max()
# makes it one row (0 for none) for \gset.
QUEUE_SQL = """\
\\if :next = 0
SELECT coalesce(max(customer_id), 0) AS next FROM (
    SELECT p.customer_id
      FROM handling_placement p
      JOIN crm_customer c ON c.id = p.customer_id
      JOIN flows_state s ON s.id = p.state_id
     WHERE p.campaign_id = :campaign
       AND SEGMENT
       AND NOT p.is_final
       AND p.correction_id IS NULL
       AND NOT c.is_blocked
       AND p.follow_up_at IS NULL
       AND s.kind = 'available'
       AND (p.holder_id IS NULL OR p.lease_expires_at <= now())
       AND p.customer_id <> :previous
     ORDER BY p.waiting_since, p.customer_id
     LIMIT 1
       FOR UPDATE OF p SKIP LOCKED
) candidate
\\gset
\\endif
"""

CLAIM_SQL = """\
UPDATE handling_placement
   SET holder_id = :uid,
       selected_at = now(),
       lease_expires_at = now() + interval '120 seconds',
       lease_token = lease_token + 1,
       version = version + 1
 WHERE customer_id = :next;
END;
"""


def claim_sql(segment_ids: list[int]) -> str:
    """The pgbench script for a campaign whose segments, in priority order, are these."""
    conditions = [f"p.segment_id = {pk}" for pk in segment_ids] + ["p.segment_id IS NULL"]
    queues = "".join(QUEUE_SQL.replace("SEGMENT", c) for c in conditions)
    return RELEASE_SQL + queues + CLAIM_SQL


@dataclass
class Figure:
    """One measured run: how many claims in how long, and how long each took."""

    label: str
    claims: int
    seconds: float
    mean_ms: float
    p95_ms: float | None = None
    empty: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.claims / self.seconds if self.seconds else 0.0


# --- The database of the run ---------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin_connection(server_url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(server_url, autocommit=True)


def create_database(server_url: str, name: str) -> None:
    with admin_connection(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(server_url: str, name: str) -> None:
    with admin_connection(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(database_url: str) -> None:
    """Point the settings at the run's database before Django reads them."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "kundeflyt.settings"
    os.environ["DEBUG"] = "0"  # no query log: it would grow with every claim
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ.setdefault("FAST_PASSWORD_HASHER", "1")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- Seeding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    campaign: Campaign
    segment_ids: list[int]  # in priority order
    workers: list[User]
    customers: int


def seed(*, customers: int, workers: int) -> Seeded:
    """One data owner, CRM and campaign (the shipped flow), ``workers`` agents granted the data
    owner, and ``customers`` available customers: a third in each of two segments, the rest
    unsegmented, waiting one second apart."""
    from django.contrib.auth.models import Permission
    from django.db import transaction
    from django.utils import timezone

    from kundeflyt.accounts.models import User
    from kundeflyt.accounts.permissions import Perm
    from kundeflyt.campaigns.models import Campaign, Segment
    from kundeflyt.common.actors import Process
    from kundeflyt.crm.models import CRM, Customer, DataOwner
    from kundeflyt.flows.services import standard_flow
    from kundeflyt.handling.models import Placement

    process = Process("bench")
    with transaction.atomic():
        owner = DataOwner.objects.create(name="Benk AS", purpose="Måling")
        # Business customers: a consumer campaign presents no one outside the calling hours
        # or without a fresh Reservasjonsregisteret (DESIGN.md rule 11), which the bare SQL
        # below does not model either.
        crm = CRM.objects.create(data_owner=owner, kind=CRM.Kind.B2B, name="Bedrift")
        campaign = Campaign.objects.create(crm=crm, name="Benk", flow=standard_flow(process))
        segments: list[Segment | None] = [
            Segment.objects.create(campaign=campaign, name="Varme", priority=1),
            Segment.objects.create(campaign=campaign, name="Kalde", priority=2),
            None,
        ]
        handling = Permission.objects.get(
            content_type__app_label="accounts", codename=Perm.CUSTOMER_HANDLING.value
        )
        agents = []
        for n in range(workers):
            agent = User(username=f"bench{n:03}", first_name="Agent", last_name=str(n))
            agent.set_unusable_password()
            agent.save()
            agent.user_permissions.add(handling)
            agents.append(agent)
        owner.users.add(*agents)

        entry = campaign.flow.entry_state()
        now = timezone.now()
        rows = Customer.objects.bulk_create(
            (
                Customer(crm=crm, customer_id=f"B{n:07}", name=f"Kunde {n}", source="import")
                for n in range(customers)
            ),
            batch_size=5000,
        )
        Placement.objects.bulk_create(
            (
                Placement(
                    customer=row,
                    campaign=campaign,
                    segment=segments[n % 3],
                    state=entry,
                    state_since=now,
                    waiting_since=now - dt.timedelta(seconds=customers - n),
                    set_by_process=process.name,
                )
                for n, row in enumerate(rows)
            ),
            batch_size=5000,
        )
    vacuum()
    segment_ids = [s.pk for s in sorted(filter(None, segments), key=lambda s: (s.priority, s.pk))]
    return Seeded(campaign, segment_ids, agents, customers)


def vacuum() -> None:
    """Start each measurement from tidy tables and fresh statistics."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("handling_placement", "crm_customer", "common_auditentry"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def release_all() -> None:
    from kundeflyt.handling.models import Placement

    Placement.objects.filter(holder__isnull=False).update(
        holder=None, selected_at=None, lease_expires_at=None
    )


# --- customer_present_next through Django ------------------------------------------------


def measure_django(seeded: Seeded, seconds: float, processes: int = 1) -> Figure:
    """Every worker thread (its own connection) asks for the next customer again and again;
    each ask lets go of the customer it had and claims another. With ``processes`` above one
    the workers are shared out over that many forked processes, as gunicorn's workers are,
    so that one interpreter's lock does not bound the figure."""
    if processes > 1:
        latencies, empty, elapsed = _in_processes(seeded, seconds, processes)
    else:
        latencies, empty, elapsed = _claim_loop(seeded.workers, seeded.campaign, seconds)
    every = sorted(latencies)
    label = "customer_present_next (Django)"
    if processes > 1:
        label = f"customer_present_next ({processes} proc.)"
    return Figure(
        label=label,
        claims=len(every) - empty,
        seconds=elapsed,
        mean_ms=statistics.fmean(every) * 1000 if every else 0.0,
        p95_ms=every[int(len(every) * 0.95)] * 1000 if every else None,
        empty=empty,
    )


Loop = tuple[list[float], int, float]  # each ask's seconds, asks that found nobody, seconds


def _claim_loop(
    agents: list[User],
    campaign: Campaign,
    seconds: float,
    all_ready: Callable[[], object] | None = None,
) -> Loop:
    """One thread per agent, all warmed up before the clock starts (``all_ready`` waits for
    the other processes' too)."""
    from django.db import connection

    from kundeflyt.handling.services import customer_present_next

    barrier = threading.Barrier(len(agents) + 1)
    stop = threading.Event()
    latencies: list[list[float]] = [[] for _ in agents]
    empty = [0] * len(agents)
    errors: list[BaseException] = []

    def work(index: int, agent: User) -> None:
        try:
            connection.ensure_connection()
            customer_present_next(agent, campaign=campaign)  # warm: permissions cached
            barrier.wait()
            while not stop.is_set():
                started = time.perf_counter()
                selection = customer_present_next(agent, campaign=campaign)
                latencies[index].append(time.perf_counter() - started)
                if selection is None:
                    empty[index] += 1
        except BaseException as error:
            errors.append(error)
            stop.set()
            barrier.abort()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, args=(i, agent), daemon=True)
        for i, agent in enumerate(agents)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    if all_ready is not None:
        all_ready()
    started = time.monotonic()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    if errors:
        raise RuntimeError(f"a worker failed: {errors[0]!r}") from errors[0]
    return [t for mine in latencies for t in mine], sum(empty), elapsed


def _in_processes(seeded: Seeded, seconds: float, processes: int) -> Loop:
    """``_claim_loop`` in forked processes that start the clock together."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # each process opens its own
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(processes + 1)
    results = context.Queue()

    def child(agents: list[User]) -> None:
        try:
            results.put(_claim_loop(agents, seeded.campaign, seconds, ready.wait))
        except BaseException as error:
            ready.abort()
            results.put(repr(error))

    children = [
        context.Process(target=child, args=(seeded.workers[n::processes],), daemon=True)
        for n in range(processes)
    ]
    for process in children:
        process.start()
    ready.wait(timeout=120)
    gathered = [results.get(timeout=seconds + 120) for _ in children]
    for process in children:
        process.join(timeout=30)
    failed = [g for g in gathered if isinstance(g, str)]
    if failed:
        raise RuntimeError(f"a worker process failed: {failed[0]}")
    loops = [g for g in gathered if not isinstance(g, str)]
    return (
        [t for latencies, _empty, _elapsed in loops for t in latencies],
        sum(empty for _latencies, empty, _elapsed in loops),
        max(elapsed for _latencies, _empty, elapsed in loops),
    )


def check_holds() -> int:
    """Rule 1 after the run: nobody holds more than one customer. Returns how many are held."""
    from django.db.models import Count

    from kundeflyt.handling.models import Placement

    held = Placement.objects.filter(holder__isnull=False)
    doubles = held.values("holder").annotate(n=Count("pk")).filter(n__gt=1)
    if doubles.exists():
        raise RuntimeError(f"users holding more than one customer: {list(doubles)}")
    return held.count()


# --- The bare claim through pgbench --------------------------------------------------------


def measure_pgbench(
    seeded: Seeded, database_url: str, *, seconds: float, jobs: int
) -> tuple[Figure, str]:
    """pgbench runs the claim script, written for the campaign's segments, per client."""
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        raise RuntimeError("pgbench is not installed (Debian: apt-get install postgresql-client)")
    first_user = min(agent.pk for agent in seeded.workers)
    if sorted(agent.pk for agent in seeded.workers) != list(
        range(first_user, first_user + len(seeded.workers))
    ):
        raise RuntimeError("the bench users' ids are not consecutive; the claim script needs it")
    url = urlsplit(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    with tempfile.TemporaryDirectory(prefix="kundeflyt_bench_") as logs:
        script = Path(logs) / "claim.sql"
        script.write_text(claim_sql(seeded.segment_ids))
        command = [
            pgbench,
            "--no-vacuum",
            f"--client={len(seeded.workers)}",
            f"--jobs={min(jobs, len(seeded.workers))}",
            f"--time={max(1, round(seconds))}",
            f"--file={script}",
            f"--define=first_user={first_user}",
            f"--define=campaign={seeded.campaign.pk}",
            "--log",  # one line per transaction, for the 95th percentile
            f"--log-prefix={Path(logs) / 'claims'}",
            f"--host={url.hostname or '127.0.0.1'}",
            f"--port={url.port or 5432}",
            f"--username={url.username or 'postgres'}",
            url.path.lstrip("/"),
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, check=False, cwd=logs
        )
        if done.returncode != 0:
            raise RuntimeError(f"pgbench failed ({done.returncode}):\n{done.stderr}{done.stdout}")
        # Each line: client, transaction number, latency in µs, script, epoch s, epoch µs.
        latencies = sorted(
            int(line.split()[2])
            for log in Path(logs).glob("claims*")
            for line in log.read_text().splitlines()
            if line.strip()
        )
    output = done.stdout

    def number(pattern: str) -> float:
        found = re.search(pattern, output)
        if found is None:
            raise RuntimeError(f"pgbench printed no {pattern!r}:\n{output}")
        return float(found.group(1))

    processed = int(number(r"number of transactions actually processed: (\d+)"))
    failed_match = re.search(r"number of failed transactions: (\d+)", output)
    tps = number(r"tps = ([\d.]+) \(without initial connection time\)")
    figure = Figure(
        label="bare claim SQL (pgbench)",
        claims=processed,
        seconds=processed / tps if tps else float(seconds),
        mean_ms=number(r"latency average = ([\d.]+) ms"),
        p95_ms=latencies[int(len(latencies) * 0.95)] / 1000 if latencies else None,
        failed=int(failed_match.group(1)) if failed_match else 0,
    )
    return figure, output


# --- Report --------------------------------------------------------------------------------


def server_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    return str(row[0]) if row else "?"


def report(
    args: argparse.Namespace,
    figures: list[Figure],
    notes: list[str],
    load: tuple[float, float],
) -> str:
    django_figure, sql_figure = figures
    lines = [
        f"Next-customer claims: {args.workers} concurrent workers, {args.customers:,} customers "
        f"in one campaign, {args.seconds:g} s each",
        f"PostgreSQL {server_version()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; load average {load[0]:.1f} before and {load[1]:.1f} after",
        "",
        f"{'':34}{'claims':>9}{'seconds':>9}{'claims/s':>10}{'mean ms':>9}{'p95 ms':>8}",
    ]
    for figure in figures:
        p95 = f"{figure.p95_ms:8.1f}" if figure.p95_ms is not None else f"{'–':>8}"
        lines.append(
            f"{figure.label:34}{figure.claims:9,}{figure.seconds:9.1f}"
            f"{figure.per_second:10,.0f}{figure.mean_ms:9.1f}{p95}"
        )
    ratio = sql_figure.per_second / django_figure.per_second if django_figure.per_second else 0
    lines += [
        "",
        f"ratio bare SQL ÷ Django: {ratio:.1f}× "
        f"(Django reaches {100 / ratio if ratio else 0:.0f} % of the bare claim)",
        *notes,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=32, help="concurrent agents (32)")
    parser.add_argument("--customers", type=int, default=20_000, help="customers (20000)")
    parser.add_argument("--seconds", type=float, default=10, help="length of each run (10)")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="share the Django workers out over this many processes (1: threads of one)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="pgbench threads (2)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER),
        help="the PostgreSQL server, with a database to connect to for CREATE/DROP DATABASE "
        f"(default $BENCH_DATABASE_URL or {DEFAULT_SERVER})",
    )
    parser.add_argument("--verbose", action="store_true", help="print pgbench's own output too")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.customers < args.workers or args.seconds <= 0:
        parser.error("need at least one worker, as many customers as workers, and some seconds")
    if not 1 <= args.processes <= args.workers:
        parser.error("need between one process and one per worker")

    name = f"kundeflyt_bench_{os.getpid()}"
    database_url = with_database(args.database_url, name)
    create_database(args.database_url, name)
    try:
        setup_django(database_url)
        from django.core.management import call_command
        from django.db import connections

        started = time.monotonic()
        call_command("migrate", verbosity=0, interactive=False)
        migrated = time.monotonic() - started
        started = time.monotonic()
        seeded = seed(customers=args.customers, workers=args.workers)
        seeded_in = time.monotonic() - started
        print(
            f"database {name}: migrated in {migrated:.1f} s, seeded {args.customers:,} "
            f"customers and {args.workers} agents in {seeded_in:.1f} s",
            flush=True,
        )

        load_before = os.getloadavg()[0]
        django_figure = measure_django(seeded, args.seconds, args.processes)
        held_django = check_holds()
        release_all()
        vacuum()
        sql_figure, pgbench_output = measure_pgbench(
            seeded, database_url, seconds=args.seconds, jobs=args.jobs
        )
        load = (load_before, os.getloadavg()[0])
        held_sql = check_holds()
        if args.verbose:
            print(claim_sql(seeded.segment_ids))
            print(pgbench_output)
        notes = [
            f"held at the end, one each at most: {held_django} (Django), {held_sql} (SQL)",
        ]
        if django_figure.empty:
            notes.append(f"Django asks that found nobody waiting: {django_figure.empty}")
        if sql_figure.failed:
            notes.append(f"pgbench transactions that failed: {sql_figure.failed}")
        print()
        print(report(args, [django_figure, sql_figure], notes, load))
        connections.close_all()
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        drop_database(args.database_url, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
