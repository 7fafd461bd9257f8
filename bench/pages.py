"""Pages against the lease renewal: req/s of the screen and My work, measured with wrk.

    .venv/bin/python bench/pages.py [--customers 20000] [--seconds 10] [--connections 16]
                                    [--workers 4] [--threads 1] [--warmup 2]

Creates its own PostgreSQL database (kundeflyt_bench_pages_<pid>), migrates it and builds the
demo (``manage.py demo_data``), adds two bench agents as agent_loop.py does, gives both 20
personal follow-ups later today in "Strøm til bedrifter", and the second also 2,000 overdue
over the past 30 days and 180 over the next two weeks. Serves the project with gunicorn on
127.0.0.1, logs both agents in (the first then holds a customer on the screen) and checks
each request once. Then wrk (needs ``wrk`` on the PATH) runs, one after the other: the
login page, anonymous (the floor); the screen's lease renewal; the customer screen; My work
with the day's follow-ups only (few); My work with those and the pile (many). Prints one
table (req/s, latency p50 and p99, gunicorn's CPU, every answer that was not the expected
status) and the ratios of issue 13's goal: screen and My work req/s ÷ the renewal's ≥ 0.25
each, My work flat in the number of follow-ups. Stops gunicorn and drops the database at
the end, also on error or Ctrl-C. See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agent_loop import (
    CAMPAIGN,
    CUSTOMER_RE,
    DEFAULT_SERVER,
    TOKEN_RE,
    Browser,
    Setup,
    _interrupted,
    bench_database,
    free_port,
    log_in_and_start,
    manage,
    prepare,
    run_env,
    server_version,
    setup_django,
    start_gunicorn,
    tail,
    wait_until_serving,
    with_database,
)
from open_loop import box_cpu, gunicorn_cpu

# Both agents have a day's follow-ups (TODAY); the second also a pile overdue and many coming,
# so that the two My work pages differ only in what should not cost: the follow-ups not shown.
OVERDUE = 2_000  # the second agent's follow-ups due before today, over OVERDUE_DAYS
OVERDUE_DAYS = 30
TODAY = 20  # later today, both agents
COMING = 180  # the second agent's, over the next COMING_DAYS
COMING_DAYS = 14
SLOTS = 150  # distinct follow-up times, one UPDATE each
LEFT_AVAILABLE = 50  # placements kept free of follow-ups, for the agents to be given
GOAL = 0.25  # issue 13: screen and My work req/s ÷ the renewal's
WRK_THREADS = 2
WRK_TIMEOUT = "30s"  # a slow page is a slow page, not a socket timeout

# wrk's Lua: the request, and every status counted per thread, summed at the end.
WRK_LUA = """\
wrk.method = {method}
wrk.body = {body}
{headers}
local threads = {{}}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    statuses = {{}}
end

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
    local total = {{}}
    for _, thread in ipairs(threads) do
        for status, n in pairs(thread:get("statuses")) do
            total[status] = (total[status] or 0) + n
        end
    end
    for status, n in pairs(total) do
        io.write(string.format("status %d: %d\\n", status, n))
    end
end
"""

REQUESTS_RE = re.compile(r"Requests/sec:\s+([\d.]+)")
TOTAL_RE = re.compile(r"(\d+) requests in ")
PERCENT_RE = r"^\s+{}%\s+([\d.]+)(us|ms|s|m|h)\s*$"
NON_2XX_RE = re.compile(r"Non-2xx or 3xx responses: (\d+)")
SOCKET_RE = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
STATUS_RE = re.compile(r"^status (\d+): (\d+)$", re.MULTILINE)
TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


# --- The follow-ups -------------------------------------------------------------------------


def spread(start: dt.datetime, end: dt.datetime, count: int) -> list[dt.datetime]:
    """``count`` moments evenly from ``start`` to ``end``, both included."""
    if count <= 1:
        return [start]
    step = (end - start) / (count - 1)
    return [start + step * n for n in range(count)]


def give_follow_ups(setup: Setup, user_id: int, *, overdue: int, today: int, coming: int) -> None:
    """Personal follow-ups for ``user_id`` on placements of the bench campaign nobody holds
    and no one follows up, in bulk: one UPDATE per follow-up time. Fewer if the campaign is
    small: LEFT_AVAILABLE placements stay free for the agents to be given."""
    from django.db import connection
    from django.utils import timezone

    from kundeflyt.handling.models import Placement

    free = list(
        Placement.objects.filter(
            campaign_id=setup.campaign_id,
            is_final=False,
            holder__isnull=True,
            follow_up_at__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    wanted = overdue + today + coming
    chosen = random.Random(user_id).sample(free, max(0, min(wanted, len(free) - LEFT_AVAILABLE)))
    before = chosen[: round(len(chosen) * overdue / wanted)]
    later = chosen[len(before) : len(before) + round(len(chosen) * today / wanted)]
    after = chosen[len(before) + len(later) :]

    now = timezone.now()
    start = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
    end = start + dt.timedelta(days=1)
    minute = dt.timedelta(minutes=1)
    groups = [
        (before, start - dt.timedelta(days=OVERDUE_DAYS), start - minute),
        (later, min(now + minute, end - 2 * minute), end - minute),
        (after, end, end + dt.timedelta(days=COMING_DAYS)),
    ]
    for pks, first, last in groups:
        slots = max(1, min(len(pks), round(SLOTS * len(pks) / wanted)))
        for n, moment in enumerate(spread(first, last, slots)):
            Placement.objects.filter(pk__in=pks[n::slots]).update(
                follow_up_user_id=user_id, follow_up_at=moment
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE handling_placement")


def follow_up_counts(user_id: int) -> str:
    from django.db.models import Count, Q
    from django.utils import timezone

    from kundeflyt.handling.models import Placement

    start = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
    end = start + dt.timedelta(days=1)
    counts = Placement.objects.filter(follow_up_user_id=user_id, is_final=False).aggregate(
        total=Count("pk"),
        overdue=Count("pk", filter=Q(follow_up_at__lt=start)),
        today=Count("pk", filter=Q(follow_up_at__gte=start, follow_up_at__lt=end)),
        coming=Count("pk", filter=Q(follow_up_at__gte=end)),
    )
    return (
        f"{counts['total']:,} personal follow-ups ({counts['overdue']:,} overdue, "
        f"{counts['today']:,} today, {counts['coming']:,} coming)"
    )


# --- The requests ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One request as wrk sends it again and again, and who checks it first."""

    label: str
    method: str
    path: str
    expect: int
    browser: Browser
    fields: dict[str, str] = field(default_factory=dict)  # the POST's form
    headers: dict[str, str] = field(default_factory=dict)

    def check(self) -> str:
        """Send it once through the browser; '' if it answered as expected, else why not."""
        try:
            if self.method == "POST":
                answer = self.browser.post(self.path, self.fields, htmx=True)
            else:
                answer = self.browser.get(self.path)
        except OSError as error:
            return f"{self.label}: {type(error).__name__} {error}"
        if answer.status != self.expect:
            where = f" → {answer.location}" if answer.location else ""
            return f"{self.label}: {self.method} {self.path} answered {answer.status}{where}"
        return ""


def cookies_of(browser: Browser) -> dict[str, str]:
    from django.conf import settings

    wanted = {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME}
    found = {c.name: c.value or "" for c in browser.jar if c.name in wanted}
    if set(found) != wanted:
        raise RuntimeError(f"the browser lacks a cookie: it has {sorted(found)}")
    return found


def logged_in(browser: Browser) -> dict[str, str]:
    """The headers every wrk request of this agent carries: its cookies."""
    cookies = cookies_of(browser)
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


def held_customer(browser: Browser) -> dict[str, str]:
    """The customer and lease token of the agent's open screen."""
    page = browser.get("/screen/")
    customer, token = CUSTOMER_RE.search(page.body), TOKEN_RE.search(page.body)
    if page.status != 200 or customer is None or token is None:
        raise RuntimeError(f"the first agent's screen answered {page.status} without a customer")
    return {"customer": customer[1], "token": token[1]}


def targets(base: str, agents: list[Browser], held: dict[str, str]) -> list[Target]:
    from django.conf import settings
    from django.urls import reverse

    first, second = agents
    my_work = reverse("handling:my_work")
    renew_headers = {
        **logged_in(first),
        "X-CSRFToken": cookies_of(first)[settings.CSRF_COOKIE_NAME],
        "Content-Type": "application/x-www-form-urlencoded",
        "HX-Request": "true",
    }
    return [
        Target("login (anonymous)", "GET", "/login/", 200, Browser(base)),
        Target("lease renewal", "POST", "/screen/renew/", 204, first, held, headers=renew_headers),
        Target("screen", "GET", "/screen/", 200, first, headers=logged_in(first)),
        Target("My work (few)", "GET", my_work, 200, first, headers=logged_in(first)),
        Target("My work (many)", "GET", my_work, 200, second, headers=logged_in(second)),
    ]


# --- wrk ------------------------------------------------------------------------------------


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def wrk_script(target: Target) -> str:
    body = "&".join(f"{name}={value}" for name, value in target.fields.items())
    headers = "\n".join(
        f"wrk.headers[{lua_string(name)}] = {lua_string(value)}"
        for name, value in target.headers.items()
    )
    return WRK_LUA.format(
        method=lua_string(target.method),
        body=lua_string(body) if body else "nil",
        headers=headers,
    )


@dataclass(frozen=True)
class WrkOutput:
    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx_3xx: int  # as wrk counts them: 4xx and 5xx
    socket_errors: int  # connect, read, write and timeout
    statuses: dict[int, int]  # every answer's status, counted by the Lua script


@dataclass(frozen=True)
class Measured:
    label: str
    expect: int
    seconds: float
    wrk: WrkOutput
    gunicorn_cpu: float  # CPU seconds over the run
    box_busy: float  # share of all the machine's CPUs busy, in %

    @property
    def unexpected(self) -> int:
        """Answers of another status than the one checked first, and failed requests."""
        other = sum(n for status, n in self.wrk.statuses.items() if status != self.expect)
        return max(other, self.wrk.non_2xx_3xx) + self.wrk.socket_errors

    def cpu_percent(self) -> float:
        return 100 * self.gunicorn_cpu / self.seconds if self.seconds else 0.0

    def cpu_ms_per_request(self) -> float:
        return 1000 * self.gunicorn_cpu / self.wrk.requests if self.wrk.requests else 0.0


def run_wrk(
    wrk: str, base: str, target: Target, *, seconds: int, connections: int, workdir: Path
) -> str:
    script = workdir / "request.lua"
    script.write_text(wrk_script(target))
    command = [
        wrk,
        f"-t{min(WRK_THREADS, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={WRK_TIMEOUT}",
        "--latency",
        "-s",
        str(script),
        base + target.path,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stderr}{done.stdout}")
    return done.stdout


def latency_ms(output: str, percent: int) -> float:
    found = re.search(PERCENT_RE.format(percent), output, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk printed no {percent}% latency:\n{output}")
    return float(found[1]) * TO_MS[found[2]]


def parse_wrk(output: str) -> WrkOutput:
    per_second, total = REQUESTS_RE.search(output), TOTAL_RE.search(output)
    if per_second is None or total is None:
        raise RuntimeError(f"wrk printed no requests or Requests/sec:\n{output}")
    statuses = {int(s): int(n) for s, n in STATUS_RE.findall(output)}
    if int(total[1]) and not statuses:
        raise RuntimeError(f"wrk's script counted no statuses:\n{output}")
    non_2xx = NON_2XX_RE.search(output)
    sockets = SOCKET_RE.search(output)
    return WrkOutput(
        requests=int(total[1]),
        per_second=float(per_second[1]),
        p50_ms=latency_ms(output, 50),
        p99_ms=latency_ms(output, 99),
        non_2xx_3xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
        statuses=statuses,
    )


def measure_one(
    wrk: str,
    base: str,
    target: Target,
    arbiter: int,
    args: argparse.Namespace,
    workdir: Path,
) -> Measured:
    """A warm-up (unmeasured: every worker loads the page's templates), then the run."""
    connections = args.connections
    if args.warmup:
        run_wrk(wrk, base, target, seconds=args.warmup, connections=connections, workdir=workdir)
    started, cpu_before, box_before = time.monotonic(), gunicorn_cpu({arbiter}), box_cpu()
    output = run_wrk(
        wrk, base, target, seconds=args.seconds, connections=connections, workdir=workdir
    )
    seconds = time.monotonic() - started
    cpu = gunicorn_cpu({arbiter}) - cpu_before
    busy, total = (after - before for after, before in zip(box_cpu(), box_before, strict=True))
    return Measured(
        label=target.label,
        expect=target.expect,
        seconds=seconds,
        wrk=parse_wrk(output),
        gunicorn_cpu=cpu,
        box_busy=100 * busy / total if total else 0.0,
    )


# --- Report ---------------------------------------------------------------------------------


def run_line(run: Measured) -> str:
    statuses = ", ".join(f"{n:,} × {status}" for status, n in sorted(run.wrk.statuses.items()))
    return (
        f"{run.label}: {run.wrk.per_second:,.1f} req/s, p50 {run.wrk.p50_ms:.1f} ms, "
        f"p99 {run.wrk.p99_ms:.1f} ms, gunicorn CPU {run.gunicorn_cpu:.1f} s "
        f"({run.cpu_percent():.0f} % of one core); answers {statuses or 'none'}"
        + (f", {run.wrk.socket_errors:,} socket errors" if run.wrk.socket_errors else "")
    )


def table(runs: list[Measured]) -> str:
    header = (
        f"{'request':20}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'gunicorn CPU':>14}{'CPU ms/req':>12}{'box busy':>10}{'unexpected':>12}"
    )
    lines = [header]
    for run in runs:
        lines.append(
            f"{run.label:20}{run.wrk.per_second:10,.1f}{run.wrk.p50_ms:9.1f}{run.wrk.p99_ms:9.1f}"
            f"{run.cpu_percent():12.0f} %{run.cpu_ms_per_request():12.1f}"
            f"{run.box_busy:8.0f} %{run.unexpected:12,}"
        )
    return "\n".join(lines)


def ratios(runs: list[Measured]) -> str:
    by_label = {run.label: run for run in runs}
    renew = by_label["lease renewal"]
    lines = []
    for label in ("screen", "My work (few)", "My work (many)"):
        page = by_label[label]
        ratio = page.wrk.per_second / renew.wrk.per_second if renew.wrk.per_second else 0.0
        mark = "✓" if ratio >= GOAL else "✗"
        lines.append(
            f"{label + ' ÷ renewal':30}{page.wrk.per_second:9,.1f} ÷ {renew.wrk.per_second:,.1f}"
            f" = {ratio:.3f}   goal ≥ {GOAL} {mark}"
        )
    few, many = by_label["My work (few)"], by_label["My work (many)"]
    flat = many.wrk.per_second / few.wrk.per_second if few.wrk.per_second else 0.0
    lines.append(
        f"{'My work (many) ÷ (few)':30}{many.wrk.per_second:9,.1f} ÷ {few.wrk.per_second:,.1f}"
        f" = {flat:.3f}   flat is 1"
    )
    return "\n".join(lines)


# --- The run --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000, help="demo customers (20000)")
    parser.add_argument("--seconds", type=int, default=10, help="each wrk run (10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk's connections (16)")
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of wrk before each run, unmeasured (2)"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (1)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER),
        help="the PostgreSQL server, with a database to connect to for CREATE/DROP DATABASE "
        f"(default $BENCH_DATABASE_URL or {DEFAULT_SERVER})",
    )
    args = parser.parse_args(argv)
    if min(args.seconds, args.connections, args.workers, args.threads) < 1 or args.warmup < 0:
        parser.error("need at least one second, connection, worker and thread")
    if args.customers < 100:
        parser.error("give at least 100 customers")
    wrk = shutil.which("wrk")
    if wrk is None:
        parser.error("wrk is not installed (Debian: apt-get install wrk)")
    signal.signal(signal.SIGTERM, _interrupted)

    name = f"kundeflyt_bench_pages_{os.getpid()}"
    with (
        tempfile.TemporaryDirectory(prefix="kundeflyt_pages_") as scratch,
        bench_database(args.database_url, name) as servers,
    ):
        return measure(args, wrk, name, Path(scratch), servers)


def build(args: argparse.Namespace, env: dict[str, str], name: str) -> tuple[Setup, list[str]]:
    """The demo, two bench agents, many follow-ups for the second; each agent's follow-ups."""
    migrated = manage(env, "migrate", "--no-input", "--verbosity=0")
    built = manage(env, "demo_data", f"--customers={args.customers}")
    print(f"database {name}: migrated in {migrated:.1f} s, demo built in {built:.1f} s", flush=True)
    setup_django(env)
    from django.db import connections

    setup = prepare(2)
    give_follow_ups(setup, setup.first_user, overdue=0, today=TODAY, coming=0)
    give_follow_ups(setup, setup.first_user + 1, overdue=OVERDUE, today=TODAY, coming=COMING)
    counts = [follow_up_counts(setup.first_user + n) for n in range(2)]
    connections.close_all()
    return setup, counts


def measure(
    args: argparse.Namespace,
    wrk: str,
    name: str,
    workdir: Path,
    servers: list[subprocess.Popen[bytes]],
) -> int:
    database_url = with_database(args.database_url, name)
    env = run_env(database_url)
    setup, counts = build(args, env, name)
    for username, count in zip(setup.usernames, counts, strict=True):
        print(f"{username}: {count}", flush=True)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = workdir / "gunicorn.log"
    servers.append(
        start_gunicorn(env, port=port, workers=args.workers, threads=args.threads, log=log)
    )
    wait_until_serving(servers[-1], base, log)
    agents = [Browser(base), Browser(base)]
    for browser, username in zip(agents, setup.usernames, strict=True):
        log_in_and_start(browser, username, setup.campaign_id)
    held = held_customer(agents[0])
    requests = targets(base, agents, held)
    failed = [why for target in requests if (why := target.check())]
    if failed:
        raise RuntimeError("before wrk: " + "; ".join(failed) + f"\n{tail(log)}")

    print(
        f"\n{platform.platform()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}; PostgreSQL {server_version(database_url)}, "
        f"Python {platform.python_version()}\n"
        f"{args.customers:,} demo customers, “{CAMPAIGN}”: {setup.in_campaign:,} placements; "
        f"gunicorn {args.workers} workers × {args.threads} thread(s) on {base}; wrk "
        f"-t{min(WRK_THREADS, args.connections)} -c{args.connections} -d{args.seconds}s "
        f"after {args.warmup} s unmeasured; first agent holds customer {held['customer']}\n",
        flush=True,
    )
    runs = []
    for target in requests:
        runs.append(measure_one(wrk, base, target, servers[-1].pid, args, workdir))
        print(run_line(runs[-1]), flush=True)
    after = [why for target in requests if (why := target.check())]

    print("\n" + table(runs) + "\n\n" + ratios(runs))
    dirty = [run.label for run in runs if run.unexpected]
    if dirty:
        print(f"\n✗ answers other than expected under wrk: {', '.join(dirty)}")
    if after:
        print("✗ after wrk: " + "; ".join(after))
    if dirty or after:
        print(tail(log, lines=20))
        return 1
    print("\nevery answer under wrk was the expected one, and still is after (lease held)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: gunicorn stopped, database dropped", file=sys.stderr)
        sys.exit(130)
