"""The integration API at a million customers, over HTTP through gunicorn, each figure beside
a bare-SQL reference measured in the same run.

    .venv/bin/python bench/api.py [--customers 1000000] [--events 200000] [--sync 100000]
                                  [--clients 32] [--seconds 20] [--workers 4]

Creates its own PostgreSQL database (kundeflyt_api_bench_<pid>), migrates it, seeds the
reports benchmark's world (one data owner, 20 campaigns on the shipped flow, 200 agents) with
``--customers`` customers and ``--events`` registrations in SQL, places 100,000 customers in
the first campaign, gives a supervisor and ``--clients`` agents API tokens, and serves the
project with gunicorn. Then:

1. **Listing customers**, 100 a page, at four depths of the CRM (the start, a quarter, half,
   the end): p50 and p95 of 30 requests each, beside the same page read in bare SQL.
2. **A registrations sync** of the ``--sync`` newest registrations (two in five with a
   comment, three in ten with extra fields), once through ``GET /registrations/stream`` and
   once through ``GET /registrations`` 500 at a time, following ``next``: rows per second and
   the gunicorn workers' peak memory, beside the same rows read in bare SQL.
3. **Registering through the API**: ``--clients`` clients, each with its own token and its
   own customers, take a customer and register *no answer* on it (with an Idempotency-Key),
   for ``--seconds``; then pgbench runs the agent loop's bare SQL cycle with as many clients.

Prints one table and drops the database again, also on error or Ctrl-C. See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agent_loop import (
    Setup,
    _interrupted,
    bench_database,
    free_port,
    manage,
    measure_pgbench,
    percentile,
    run_env,
    server_version,
    start_gunicorn,
    stop_gunicorn,
    tail,
    with_database,
)
from reports_10m import DEFAULT_SERVER, Clock, seed, setup_django, write_events

PLACED = 100_000  # customers placed in the first campaign, for the registering clients
PAGE = 100
DEPTH_RUNS = 30


@dataclass
class Tokens:
    reader: str
    agents: list[str]
    agent_ids: list[int]


@dataclass
class World:
    crm: int
    campaign: int
    segments: list[int]
    no_answer: int
    placed: list[int]
    customer_ids: list[int]  # every customer id of the CRM, in order


def prepare(args: argparse.Namespace, clock: Clock) -> tuple[World, Tokens]:
    """The world in SQL and the ORM: customers and events as the reports benchmark writes
    them, placements for the registering clients, and tokens."""
    from django.contrib.auth.models import Permission
    from django.db import connection

    from kundeflyt.accounts.models import User
    from kundeflyt.accounts.permissions import Perm
    from kundeflyt.api.services import token_create
    from kundeflyt.campaigns.models import Segment
    from kundeflyt.crm.models import CRM
    from kundeflyt.flows.models import Outcome

    world = seed(campaigns=20, users=200, teams=10)
    clock.lap("setup seeded")
    write_events(world, events=args.events, customers=args.customers, days=30, clock=clock)
    crm = CRM.objects.get()
    campaign = world.campaigns[0]
    segments = list(
        Segment.objects.filter(campaign=campaign).order_by("priority").values_list("pk", flat=True)
    )
    no_answer = Outcome.objects.get(key="no_answer")
    entry = no_answer.flow.entry_state()
    with connection.cursor() as cursor:
        # What agents write: a comment on two in five registrations, extra fields on three in
        # ten (the reports benchmark leaves both empty, and a sync reads them).
        cursor.execute(
            "UPDATE handling_event SET"
            " comment = CASE WHEN id % 5 < 2 THEN 'Ringte etter lunsj: daglig leder vil ha"
            " tilbud på ' || (id % 40 + 5) || ' lisenser før jul.' ELSE '' END,"
            " extra_values = CASE WHEN id % 10 < 3 THEN jsonb_build_object('interesse',"
            " (ARRAY['lav', 'middels', 'høy'])[id % 3 + 1], 'ansatte', id % 200)"
            " ELSE '{}'::jsonb END"
        )
        cursor.execute(
            "INSERT INTO handling_placement (customer_id, campaign_id, segment_id, state_id,"
            " state_since, set_by_process, attempts, waiting_since, is_final, lease_token,"
            " version, changed_at) "
            "SELECT id, %s, (ARRAY[%s, %s, %s, NULL]::bigint[])[1 + id %% 4], %s, now(),"
            " 'bench', 0, now() - (id %% 86400) * interval '1 second', false, 0, 0, now()"
            " FROM crm_customer ORDER BY id LIMIT %s",
            [campaign, *segments, entry.pk, PLACED],
        )
        cursor.execute("ANALYZE")
    placed = list(
        connection.cursor()
        .execute("SELECT customer_id FROM handling_placement ORDER BY customer_id")
        .fetchall()
    )
    customer_ids = [
        row[0]
        for row in connection.cursor()
        .execute("SELECT id FROM crm_customer WHERE crm_id = %s ORDER BY id", [crm.pk])
        .fetchall()
    ]
    clock.lap(f"{PLACED:,} customers placed, ANALYZE")

    def grant(user: User, *perms: Perm) -> User:
        user.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="accounts", codename__in=[p.value for p in perms]
            )
        )
        return User.objects.get(pk=user.pk)

    reader = grant(world.reader, Perm.API_ACCESS, Perm.CAMPAIGN_SETUP, Perm.CUSTOMER_HANDLING)
    agents = [
        grant(User.objects.get(pk=pk), Perm.API_ACCESS, Perm.CUSTOMER_HANDLING)
        for pk in world.users[: args.clients]
    ]
    tokens = Tokens(
        reader=token_create(reader, name="bench")[1],
        agents=[token_create(a, name="bench")[1] for a in agents],
        agent_ids=[a.pk for a in agents],
    )
    return (
        World(crm.pk, campaign, segments, no_answer.pk, [r[0] for r in placed], customer_ids),
        tokens,
    )


# --- HTTP --------------------------------------------------------------------------------------


class Client:
    """One keep-alive connection with a token."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, bytes]:
        sent = {"Authorization": f"Bearer {self.token}", **headers}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=data, headers=sent)
                answer = self.connection.getresponse()
                return answer.status, answer.read()
            except (http.client.HTTPException, ConnectionError):
                # gunicorn's sync workers close the connection after each answer.
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def wait_until_serving(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    started = time.monotonic()
    while time.monotonic() - started < 60:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.returncode}):\n{tail(log)}")
        try:
            status, _body = Client(port, "").call("GET", "/healthz")
            if status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz within 60 s:\n{tail(log)}")


def worker_peak_kb(server: subprocess.Popen[bytes]) -> int:
    """The largest peak resident size (VmHWM) among gunicorn's workers."""
    peak = 0
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    for pid in children.read_text().split() if children.exists() else []:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    return peak


def warm(port: int, token: str, path: str) -> None:
    """Ask ``path`` from many clients at once, so that every gunicorn worker has answered it
    (a worker's first request builds what it keeps; asked one after another, the requests
    may all go to the same worker)."""

    def ask() -> None:
        client = Client(port, token)
        for _ in range(3):
            status, body = client.call("GET", path)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# --- 1. Listing at depth ------------------------------------------------------------------------


@dataclass
class Depth:
    label: str
    p50: float
    p95: float
    sql_p50: float
    sql_p95: float


def list_at_depths(port: int, database_url: str, world: World, token: str) -> list[Depth]:
    client = Client(port, token)
    ids = world.customer_ids
    depths = [
        ("start", 0),
        ("1/4", ids[len(ids) // 4]),
        ("1/2", ids[len(ids) // 2]),
        ("end", ids[-PAGE - 1]),
    ]
    # The bare SQL of the same page as the API reads it: the customers, then their places.
    page_sql = "SELECT * FROM crm_customer WHERE crm_id = %s AND id > %s ORDER BY id LIMIT %s"
    places_sql = (
        "SELECT p.*, s.* FROM handling_placement p JOIN flows_state s ON s.id = p.state_id"
        " WHERE p.customer_id = ANY(%s)"
    )
    found = []
    with psycopg.connect(database_url) as conn:
        for label, after in depths:
            path = f"/api/v1/customers?crm={world.crm}&limit={PAGE}&after={after}"
            warm(port, token, path)
            http_times, sql_times = [], []
            for _ in range(DEPTH_RUNS):
                started = time.perf_counter()
                client.call("GET", path)
                http_times.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                rows = conn.execute(page_sql, [world.crm, after, PAGE + 1]).fetchall()
                conn.execute(places_sql, [[row[0] for row in rows]]).fetchall()
                sql_times.append((time.perf_counter() - started) * 1000)
            http_times.sort()
            sql_times.sort()
            found.append(
                Depth(
                    label,
                    percentile(http_times, 50),
                    percentile(http_times, 95),
                    percentile(sql_times, 50),
                    percentile(sql_times, 95),
                )
            )
    return found


# --- 2. The registrations sync --------------------------------------------------------------


@dataclass
class Sync:
    rows: int
    seconds: float
    worker_peak_mb: float

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds


def sync(port: int, database_url: str, token: str, rows: int, server: Any) -> Sync:
    """The ``rows`` newest registrations a page at a time, following ``next``."""
    client = Client(port, token)
    after = first_of_newest(database_url, rows)
    path: str | None = f"/api/v1/registrations?limit=500&after={after}"
    got = 0
    started = time.perf_counter()
    while path:
        status, body = client.call("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        page = json.loads(body)
        got += len(page["items"])
        path = page["next"].split(f":{port}", 1)[1] if page["next"] else None
    return Sync(got, time.perf_counter() - started, worker_peak_kb(server) / 1024)


def stream(port: int, database_url: str, token: str, rows: int, server: Any) -> Sync:
    """The same registrations through ``/registrations/stream``: one answer, a line each,
    every line parsed as it arrives."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    path = f"/api/v1/registrations/stream?after={first_of_newest(database_url, rows)}"
    started = time.perf_counter()
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    answer = connection.getresponse()
    if answer.status != 200:
        raise RuntimeError(f"GET {path} answered {answer.status}: {answer.read(300)!r}")
    got = sum(1 for line in answer if json.loads(line))
    seconds = time.perf_counter() - started
    connection.close()
    return Sync(got, seconds, worker_peak_kb(server) / 1024)


def first_of_newest(database_url: str, rows: int) -> int:
    """The id after which the ``rows`` newest registrations follow."""
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            "SELECT id FROM handling_event ORDER BY id DESC OFFSET %s LIMIT 1", [rows]
        ).fetchone()
    return found[0] if found else 0


def sync_in_sql(database_url: str, rows: int) -> Sync:
    """The same rows read in bare SQL, through a server-side cursor."""
    with psycopg.connect(database_url) as conn:
        started = time.perf_counter()
        cursor = conn.cursor(name="sync")  # server-side, read to the end in pieces
        cursor.execute(
            "SELECT e.*, c.customer_id, o.key FROM handling_event e"
            " JOIN crm_customer c ON c.id = e.customer_id"
            " JOIN flows_outcome o ON o.id = e.outcome_id WHERE e.id > %s ORDER BY e.id",
            [first_of_newest(database_url, rows)],
        )
        got = 0
        while chunk := cursor.fetchmany(5000):
            got += len(chunk)
        return Sync(got, time.perf_counter() - started, 0)


# --- 3. Registering -------------------------------------------------------------------------


@dataclass
class Registering:
    registrations: int = 0
    refused: int = 0
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def register(port: int, world: World, tokens: Tokens, seconds: float) -> tuple[Registering, float]:
    tally = Registering()
    deadline = time.monotonic() + seconds
    clients = len(tokens.agents)

    def work(k: int) -> None:
        client = Client(port, tokens.agents[k])
        for customer in world.placed[k::clients]:
            if time.monotonic() >= deadline:
                return
            started = time.perf_counter()
            status, body = client.call("POST", f"/api/v1/customers/{customer}/take")
            if status != 200:
                with tally.lock:
                    tally.refused += 1
                continue
            lease = json.loads(body)["token"]
            status, body = client.call(
                "POST",
                f"/api/v1/customers/{customer}/registrations",
                {"token": lease, "outcome": world.no_answer},
                **{"Idempotency-Key": uuid.uuid4().hex},
            )
            with tally.lock:
                if status == 201:
                    tally.registrations += 1
                    tally.latencies.append((time.perf_counter() - started) * 1000)
                else:
                    tally.refused += 1

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.monotonic() - started


# --- The run ------------------------------------------------------------------------------------


def measure(args: argparse.Namespace, database_url: str, workdir: Path, servers: list[Any]) -> int:
    clock = Clock()
    env = run_env(database_url, API_RATE_LIMIT="1000000000", FAST_PASSWORD_HASHER="1")
    manage(env, "migrate", "--no-input", "--verbosity=0")
    clock.lap("migrated")
    setup_django(database_url)
    world, tokens = prepare(args, clock)
    from django.db import connections

    connections.close_all()

    port = free_port()
    log = workdir / "gunicorn.log"
    server = start_gunicorn(env, port=port, workers=args.workers, threads=1, log=log)
    servers.append(server)
    wait_until_serving(port, server, log)
    clock.lap("gunicorn serving")

    depths = list_at_depths(port, database_url, world, tokens.reader)
    clock.lap("listed at four depths")
    # The stream first: the workers' peak memory is then its own, not the pages'.
    streamed = stream(port, database_url, tokens.reader, args.sync, server)
    clock.lap(f"streamed {streamed.rows:,} registrations")
    paged = sync(port, database_url, tokens.reader, args.sync, server)
    clock.lap(f"synced {paged.rows:,} registrations a page at a time")
    in_sql = sync_in_sql(database_url, args.sync)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    registered, took = register(port, world, tokens, args.seconds)
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
        cpu_after.ru_stime - cpu_before.ru_stime
    )
    clock.lap(f"{registered.registrations:,} registrations through the API")
    stop_gunicorn(server)
    setup = Setup(
        campaign_id=world.campaign,
        segment_ids=world.segments,
        outcome_id=world.no_answer,
        usernames=[str(pk) for pk in tokens.agent_ids],
        first_user=tokens.agent_ids[0],  # pgbench counts its clients from 0
        in_campaign=len(world.placed),
        available=len(world.placed),
    )
    bench = measure_pgbench(database_url, setup, seconds=args.seconds, workdir=workdir)
    clock.lap("pgbench cycle")

    latencies = sorted(registered.latencies)
    per_second = registered.registrations / took if took else 0.0
    print()
    print(
        f"Kundeflyt API benchmark · {platform.node()} · {os.cpu_count()} CPUs · PostgreSQL "
        f"{server_version(database_url)} · gunicorn {args.workers} workers · "
        f"{args.customers:,} customers, {args.events:,} registrations"
    )
    print()
    print(f"1. GET /customers, {PAGE} a page, {DEPTH_RUNS} requests at each depth (ms):")
    print(f"   {'after':<8}{'HTTP p50':>10}{'HTTP p95':>10}{'SQL p50':>10}{'SQL p95':>10}")
    for d in depths:
        print(f"   {d.label:<8}{d.p50:>10.1f}{d.p95:>10.1f}{d.sql_p50:>10.2f}{d.sql_p95:>10.2f}")
    print()
    print(f"2. A sync of the {args.sync:,} newest registrations (rows/s):")
    print(
        f"   GET /registrations/stream: {streamed.per_second:,.0f} ({streamed.rows:,} in"
        f" {streamed.seconds:.1f} s; gunicorn workers' peak {streamed.worker_peak_mb:.0f} MB)"
    )
    print(
        f"   GET /registrations, 500 a page: {paged.per_second:,.0f} ({paged.rows:,} in"
        f" {paged.seconds:.1f} s; workers' peak {paged.worker_peak_mb:.0f} MB)"
    )
    print(f"   bare SQL: {in_sql.per_second:,.0f} ({in_sql.rows:,} in {in_sql.seconds:.1f} s)")
    print()
    print(
        f"3. Take + register through the API, {len(tokens.agents)} clients, {took:.0f} s:"
        f" {per_second:.1f} registrations/s (p50 {percentile(latencies, 50):.0f} ms,"
        f" p99 {percentile(latencies, 99):.0f} ms for both requests; {registered.refused}"
        f" refused; the clients used {client_cpu:.0f} CPU s)"
    )
    print(
        f"   pgbench, the same cycle in bare SQL, {len(tokens.agents)} clients:"
        f" {bench.tps:,.0f} cycles/s (p50 {bench.p50_ms:.1f} ms, p99 {bench.p99_ms:.1f} ms);"
        f" ratio {per_second / bench.tps:.3f}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--sync", type=int, default=100_000, help="registrations to sync")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER),
        help=f"the PostgreSQL server to create the database on (default {DEFAULT_SERVER})",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if args.customers < PLACED + 1000 or args.clients < 1 or args.clients > 200:
        parser.error(f"give more than {PLACED:,} customers and 1 to 200 clients")
    signal.signal(signal.SIGTERM, _interrupted)
    name = f"kundeflyt_api_bench_{os.getpid()}"
    database_url = with_database(args.database_url, name)
    with (
        tempfile.TemporaryDirectory(prefix="kundeflyt_api_bench_") as scratch,
        bench_database(args.database_url, name, keep=args.keep) as servers,
    ):
        return measure(args, database_url, Path(scratch), servers)


if __name__ == "__main__":
    sys.exit(main())
