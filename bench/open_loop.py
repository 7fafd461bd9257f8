"""The agent loop, open: agents at the real rhythm, stepped up until a p99 passes a limit.

    .venv/bin/python bench/open_loop.py [--steps 100,200,400,700,1000,1400,2000]
                                        [--hold 90] [--warmup 45] [--limit-ms 100]
                                        [--servers 1] [--workers 4] [--threads 1]

Builds the same database as agent_loop.py (the demo, one user per agent, "Strøm til
bedrifter" without attempt rules) and writes each agent's session straight into Django's
session store, so no password is hashed over HTTP. Then N agents, all coroutines on one
asyncio loop sharing one aiohttp connection pool, work as a person does: open the customer
screen, think 20–40 s while the open page renews the lease and polls the side panel as
screen.html tells it to, save "Ikke svar" with *then: next customer from the list*. Each
step adds agents (each starting at a random moment of its first think period), waits out a
warm-up, measures every request kind's p50 and p99 and the CPU of the load generator,
gunicorn and PostgreSQL; the steps stop at the first whose p99 passes the limit. Then
pgbench runs the agent cycle in bare SQL on the same database. gunicorn is stopped and the
database dropped at the end, also on error or Ctrl-C. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agent_loop import (
    CAMPAIGN,
    DEFAULT_SERVER,
    ROOT,
    Pgbench,
    Setup,
    _interrupted,
    bench_database,
    free_port,
    manage,
    measure_pgbench,
    percentile,
    prepare,
    registered_by_bench,
    release_all,
    run_env,
    screen_form,
    server_version,
    setup_django,
    start_gunicorn,
    stop_gunicorn,
    tail,
    wait_until_serving,
    with_database,
)

STEPS = "100,200,400,700,1000,1400,2000"
KINDS = ("screen", "save", "renew", "side panel", "start")
LIMITED = KINDS[:4]  # "start" (My work, then Start working) is an agent's first minute only
TICK = os.sysconf("SC_CLK_TCK")

# The open screen's own requests, as the page makes them (read from it, so they stay true).
SCREEN_HTML = ROOT / "kundeflyt/handling/templates/handling/screen.html"
RENEW_RE = re.compile(r"""hx-post="\{% url 'handling:screen_renew' %\}" hx-trigger="every (\d+)s""")
PANEL_RE = re.compile(r"""hx-get="\{% url 'handling:side_panel' %\}" hx-trigger="every (\d+)s""")


def page_intervals() -> tuple[float, float]:
    """Seconds between the screen's lease renewals, and between its side-panel polls."""
    page = SCREEN_HTML.read_text()
    renew, panel = RENEW_RE.search(page), PANEL_RE.search(page)
    if renew is None or panel is None:
        raise RuntimeError(f"{SCREEN_HTML} no longer polls as this bench expects: update it")
    return float(renew[1]), float(panel[1])


def write_sessions(setup: Setup) -> list[str]:
    """A logged-in session per bench agent, written in bulk as Django's login would write it
    (user, backend, the password's session hash, the idle clock); returns the session keys."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from kundeflyt.accounts.backends import PeopleBackend
    from kundeflyt.accounts.middleware import LAST_ACTIVITY
    from kundeflyt.accounts.models import User

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    backend = f"{PeopleBackend.__module__}.{PeopleBackend.__qualname__}"
    users = User.objects.filter(
        pk__gte=setup.first_user, pk__lt=setup.first_user + len(setup.usernames)
    ).order_by("pk")
    now = int(time.time())
    sessions = []
    for user in users:
        store = store_class()
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: backend,
            HASH_SESSION_KEY: user.get_session_auth_hash(),
            LAST_ACTIVITY: now,
        }
        sessions.append(store.create_model_instance(data))  # the database session engines
    store_class.get_model_class().objects.bulk_create(sessions)
    return [session.session_key for session in sessions]


# --- What the agents did --------------------------------------------------------------------


@dataclass
class Window:
    """What happened in one step's measured part."""

    times: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: Counter[str] = field(default_factory=Counter)
    not_modified: int = 0  # side panels answered 304
    registrations: int = 0
    lease_lost: int = 0  # renewals answered "you no longer have this customer"
    restarts: int = 0  # saves that went back to My work (lease lost, nobody waiting)
    lag: list[float] = field(default_factory=list)  # the load generator's own lateness, s
    pg_active: list[int] = field(default_factory=list)  # queries running, sampled each second
    pg_lock_waits: int = 0  # samples of a query waiting on a lock


@dataclass
class Run:
    http: aiohttp.ClientSession
    campaign_id: int
    think: tuple[float, float]
    renew_every: float
    panel_every: float
    random: random.Random
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    window: Window | None = None  # None during a warm-up
    registrations: int = 0  # over the whole run, to check against the events written
    error_examples: Counter[str] = field(default_factory=Counter)

    def timed(self, kind: str, seconds: float) -> None:
        if self.window is not None:
            self.window.times[kind].append(seconds)

    def error(self, kind: str, what: str) -> None:
        self.error_examples[what] += 1
        if self.window is not None:
            self.window.errors[kind] += 1

    def count(self, what: str) -> None:
        if what == "registrations":
            self.registrations += 1
        if self.window is not None:
            setattr(self.window, what, getattr(self.window, what) + 1)


@dataclass
class Agent:
    base: str  # the application server this agent's browser talks to
    cookies: dict[str, str]
    form: dict[str, str] | None = None  # the open screen's customer, token and outcome
    etag: str = ""  # the side panel's, as the browser's cache keeps it


@dataclass(frozen=True)
class Answer:
    status: int
    goes_to: str  # Location, or HX-Redirect for htmx
    body: str
    etag: str


async def send(
    run: Run,
    agent: Agent,
    kind: str,
    method: str,
    path: str,
    *,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer | None:
    """One timed request with the agent's cookies, no redirect followed; None if it failed
    (a 4xx/5xx answer, a lost connection, a timeout), which is counted as an error."""
    cookie = "; ".join(f"{name}={value}" for name, value in agent.cookies.items())
    started = time.perf_counter()
    try:
        async with run.http.request(
            method,
            agent.base + path,
            data=data,
            headers={"Cookie": cookie, **(headers or {})},
            allow_redirects=False,
        ) as response:
            body = await response.text(errors="replace")
            for name, morsel in response.cookies.items():
                if morsel.value and morsel["max-age"] != "0":
                    agent.cookies[name] = morsel.value
                else:  # deleted (the messages cookie once shown)
                    agent.cookies.pop(name, None)
            headers_in = response.headers
            answer = Answer(
                response.status,
                headers_in.get("HX-Redirect") or headers_in.get("Location") or "",
                body,
                headers_in.get("ETag", ""),
            )
    except (aiohttp.ClientError, TimeoutError) as error:
        run.timed(kind, time.perf_counter() - started)
        run.error(kind, f"{method} {path}: {type(error).__name__} {error}".strip())
        return None
    run.timed(kind, time.perf_counter() - started)
    if answer.status >= 400:
        run.error(kind, f"{method} {path} answered {answer.status}")
        return None
    return answer


def htmx(agent: Agent, *, target: str, trigger: str = "") -> dict[str, str]:
    """The headers htmx sends from the open screen (base.html gives every htmx request the
    CSRF token)."""
    headers = {
        "HX-Request": "true",
        "HX-Current-URL": f"{agent.base}/screen/",
        "HX-Target": target,
        "X-CSRFToken": agent.cookies.get("csrftoken", ""),
    }
    if trigger:
        headers["HX-Trigger"] = trigger
    return headers


async def pause(run: Run, seconds: float) -> bool:
    """Wait; True as soon as the run is over (then the agent ends between requests)."""
    if seconds > 0 and not run.stop.is_set():
        try:
            await asyncio.wait_for(run.stop.wait(), seconds)
        except TimeoutError:
            return False
    return run.stop.is_set()


async def agent_works(run: Run, agent: Agent, phase: float) -> None:
    """Come in at ``phase``, then again and again: the screen, thinking, the save."""
    if await pause(run, phase):
        return
    while True:
        if agent.form is None and not await start_working(run, agent):
            if await pause(run, 5):  # as a person would, a moment before trying again
                return
            continue
        if await think_on_screen(run, agent, run.random.uniform(*run.think)):
            return
        await save(run, agent)


async def start_working(run: Run, agent: Agent) -> bool:
    """My work (which also gives the CSRF cookie), *Start working*, the first screen."""
    if await send(run, agent, "start", "GET", "/") is None:
        return False
    csrf = agent.cookies.get("csrftoken", "")
    started = await send(
        run,
        agent,
        "start",
        "POST",
        "/work/start/",
        data={"campaign": str(run.campaign_id), "csrfmiddlewaretoken": csrf},
    )
    if started is None:
        return False
    if started.goes_to != "/screen/":
        run.error("start", f"POST /work/start/ answered {started.status} → {started.goes_to}")
        return False
    return await open_screen(run, agent)


async def open_screen(run: Run, agent: Agent) -> bool:
    answer = await send(run, agent, "screen", "GET", "/screen/")
    if answer is None:
        return False
    if answer.status != 200:  # no current customer: sent to My work
        run.count("restarts")
        return False
    agent.form = screen_form(answer.body)
    if agent.form is None:
        run.error("screen", "GET /screen/: no customer, token or “Ikke svar” in the page")
        return False
    return True


async def think_on_screen(run: Run, agent: Agent, seconds: float) -> bool:
    """The screen stays open ``seconds``: its timers renew the lease and poll the side panel
    (htmx's ``every``, counted from the page's load). True if the run ended meanwhile."""
    loop = asyncio.get_running_loop()
    opened = loop.time()
    end, renew_at, panel_at = opened + seconds, opened + run.renew_every, opened + run.panel_every
    while True:
        due = min(end, renew_at, panel_at)
        if await pause(run, due - loop.time()):
            return True
        if due == end:
            return False
        if due == renew_at:
            await renew(run, agent)
            renew_at += run.renew_every
        else:
            await side_panel(run, agent)
            panel_at += run.panel_every


async def renew(run: Run, agent: Agent) -> None:
    assert agent.form is not None
    fields = {"customer": agent.form["customer"], "token": agent.form["token"]}
    answer = await send(
        run,
        agent,
        "renew",
        "POST",
        "/screen/renew/",
        data=fields,
        headers=htmx(agent, target="lease-status"),
    )
    if answer is not None and "data-lease-lost" in answer.body:
        run.count("lease_lost")


async def side_panel(run: Run, agent: Agent) -> None:
    headers = htmx(agent, target="side-panel", trigger="side-panel")
    if agent.etag:
        headers["If-None-Match"] = agent.etag
    answer = await send(run, agent, "side panel", "GET", "/screen/side-panel/", headers=headers)
    if answer is None:
        return
    agent.etag = answer.etag or agent.etag
    if answer.status == 304:
        run.count("not_modified")


async def save(run: Run, agent: Agent) -> None:
    """Save "Ikke svar", then the next customer: today a redirect to the screen (an htmx one
    for htmx), which the browser loads; an answer of 200 with a screen is the next screen."""
    assert agent.form is not None
    fields = {
        **agent.form,
        "then": "list",
        "csrfmiddlewaretoken": agent.cookies.get("csrftoken", ""),
    }
    agent.form = None
    answer = await send(
        run,
        agent,
        "save",
        "POST",
        "/screen/save/",
        data=fields,
        headers=htmx(agent, target="main", trigger="outcome-form"),
    )
    if answer is None:
        return
    if answer.goes_to == "/screen/":
        run.count("registrations")
        await open_screen(run, agent)
    elif answer.status == 200 and (form := screen_form(answer.body)) is not None:
        run.count("registrations")
        agent.form = form
    elif answer.goes_to == "/":
        run.count("restarts")  # back to My work: the agent starts working again
    else:
        run.error("save", f"POST /screen/save/ answered {answer.status} → {answer.goes_to}")


# --- What it cost ---------------------------------------------------------------------------


def proc_stat(pid: int) -> tuple[int, float, float] | None:
    """A process's parent, its own CPU seconds and its reaped children's; None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # after the command, which may hold anything
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return int(fields[1]), (utime + stime) / TICK, (cutime + cstime) / TICK


def gunicorn_cpu(arbiters: set[int]) -> float:
    """The arbiters and their workers, living and reaped (a restarted worker's time is in
    its arbiter's children's)."""
    total = 0.0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = proc_stat(int(entry.name))
            if stat and (int(entry.name) in arbiters or stat[0] in arbiters):
                total += stat[1] + stat[2]
    return total


def box_cpu() -> tuple[float, float]:
    """The whole machine's busy and total CPU seconds (all its CPUs, every process)."""
    with open("/proc/stat") as stat:
        ticks = [int(n) for n in stat.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / TICK, sum(ticks) / TICK


@dataclass(frozen=True)
class Cpu:
    at: float
    generator: float
    gunicorn: float
    postgres: dict[int, float]  # backend pid → CPU seconds
    box: tuple[float, float]


class Watch:
    """One connection of its own to PostgreSQL: the run's backends, their CPU and what they
    wait on. Backends come and go (gunicorn's connections live CONN_MAX_AGE), so each one's
    CPU is read every second and its last reading kept after it ends."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], database: str):
        self.conn = conn
        self.database = database
        self.seen: dict[int, float] = {}  # backend pid → its CPU seconds when last read

    async def look(self) -> tuple[int, int]:
        """Read the backends' CPU; returns how many run a query and how many wait on a lock."""
        cursor = await self.conn.execute(
            "SELECT pid, state = 'active', wait_event_type IS NOT DISTINCT FROM 'Lock'"
            "  FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.database,),
        )
        rows = await cursor.fetchall()
        for pid, _active, _waits in rows:
            stat = proc_stat(pid)
            if stat is not None:
                self.seen[pid] = stat[1]
        return sum(1 for row in rows if row[1]), sum(1 for row in rows if row[2])

    async def sample(self, run: Run) -> None:
        while not run.stop.is_set():
            active, waiting = await self.look()
            if run.window is not None:
                run.window.pg_active.append(active)
                run.window.pg_lock_waits += 1 if waiting else 0
            await pause(run, 1)

    async def cpu(self, arbiters: set[int]) -> Cpu:
        await self.look()
        gunicorn = gunicorn_cpu(arbiters)
        return Cpu(time.monotonic(), time.process_time(), gunicorn, dict(self.seen), box_cpu())


async def watch_lag(run: Run) -> None:
    """How late the load generator wakes up: if it were the bottleneck, this would grow."""
    loop = asyncio.get_running_loop()
    while not run.stop.is_set():
        asked = loop.time()
        await asyncio.sleep(0.1)
        if run.window is not None:
            run.window.lag.append(loop.time() - asked - 0.1)


# --- The steps ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    agents: int
    per_server: list[int]
    seconds: float
    window: Window
    generator: float  # CPU seconds
    gunicorn: float
    postgres: float  # the run's backends that lived through the window or began in it
    others: float  # the rest of the machine's busy CPU seconds: every other process
    box: float  # share of all CPUs busy, in %
    load: float

    def p99_ms(self, kind: str) -> float:
        return percentile(sorted(self.window.times[kind]), 99) * 1000

    def errors(self) -> int:
        return sum(self.window.errors.values())

    def worst(self) -> tuple[str, float]:
        measured = [kind for kind in LIMITED if self.window.times[kind]]
        kind = max(measured, key=self.p99_ms, default="screen")
        return kind, self.p99_ms(kind)

    def passed(self, limit_ms: float) -> bool:
        return self.worst()[1] <= limit_ms and not self.errors()

    def core(self, cpu_seconds: float) -> float:
        """CPU seconds over the window as a share of one core, in %."""
        return 100 * cpu_seconds / self.seconds


def cpu_step(agents: int, per_server: list[int], window: Window, before: Cpu, after: Cpu) -> Step:
    seconds = after.at - before.at
    # A backend that began in the window counts whole (so does one whose pid was reused).
    postgres = sum(
        spent - before.postgres.get(pid, 0.0) if spent >= before.postgres.get(pid, 0.0) else spent
        for pid, spent in after.postgres.items()
    )
    busy, total = (a - b for a, b in zip(after.box, before.box, strict=True))
    generator = after.generator - before.generator
    gunicorn = after.gunicorn - before.gunicorn
    return Step(
        agents=agents,
        per_server=per_server,
        seconds=seconds,
        window=window,
        generator=generator,
        gunicorn=gunicorn,
        postgres=postgres,
        others=max(0.0, busy - generator - gunicorn - postgres),
        box=100 * busy / total if total else 0.0,
        load=os.getloadavg()[0],
    )


def step_report(step: Step, *, warmup: float) -> str:
    w = step.window
    split = " + ".join(str(n) for n in step.per_server)
    lines = [
        f"{step.agents} agents"
        + (f" ({split} on {len(step.per_server)} servers)" if len(step.per_server) > 1 else "")
        + f", measured {step.seconds:.0f} s after {warmup:.0f} s of warm-up",
        f"  {'':12}{'count':>8}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}",
    ]
    for kind in KINDS:
        times = sorted(w.times[kind])
        lines.append(
            f"  {kind:12}{len(times):8,}{len(times) / step.seconds:8.1f}"
            f"{percentile(times, 50) * 1000:9.1f}{percentile(times, 99) * 1000:9.1f}"
            f"{(times[-1] if times else 0) * 1000:9.1f}{w.errors[kind]:8}"
            + (f"   ({w.not_modified} answered 304)" if kind == "side panel" else "")
        )

    lag = sorted(w.lag)
    lines += [
        f"  registrations {w.registrations} ({w.registrations / step.seconds:.2f}/s), "
        f"lease lost on renewal {w.lease_lost}, sent back to My work {w.restarts}",
        f"  CPU, share of one core: load generator {step.core(step.generator):.1f} %, "
        f"gunicorn {step.core(step.gunicorn):.0f} %, PostgreSQL {step.core(step.postgres):.0f} % "
        f"(the run's backends), everything else {step.core(step.others):.0f} %; "
        f"the machine {step.box:.0f} % busy of {os.cpu_count()} CPUs, load average {step.load:.1f}",
        f"  load generator's lateness p99 {percentile(lag, 99) * 1000:.1f} ms; PostgreSQL: "
        f"queries running at once: at most {max(w.pg_active, default=0)} in a sample, "
        f"{w.pg_lock_waits} of {len(w.pg_active)} samples with one waiting on a lock",
    ]
    return "\n".join(lines)


def summary(steps: list[Step], limit_ms: float, sql: Pgbench, sql_clients: int) -> str:
    lines = [
        f"{'agents':>7}{'saves/s':>9}"
        + "".join(f"{kind + ' p99':>16}" for kind in LIMITED)
        + f"{'errors':>8}{'gen %':>7}{'gunicorn %':>11}{'pg %':>6}{'other %':>8}{'box %':>7}",
    ]
    for step in steps:
        p99 = [f"{step.p99_ms(k):.1f}" if step.window.times[k] else "–" for k in LIMITED]
        lines.append(
            f"{step.agents:7,}{step.window.registrations / step.seconds:9.2f}"
            + "".join(f"{ms:>16}" for ms in p99)
            + f"{step.errors():8}{step.core(step.generator):7.1f}"
            f"{step.core(step.gunicorn):11.0f}{step.core(step.postgres):6.0f}"
            f"{step.core(step.others):8.0f}{step.box:7.0f}"
        )
    passed = [step for step in steps if step.passed(limit_ms)]
    failed = next((step for step in steps if not step.passed(limit_ms)), None)
    if failed is None:
        verdict = f"every step stayed under {limit_ms:g} ms: at least {steps[-1].agents:,} agents"
    else:
        kind, ms = failed.worst()
        why = f"{kind} p99 {ms:.0f} ms" + (f", {failed.errors()} errors" if failed.errors() else "")
        under = f"{passed[-1].agents:,} agents" if passed else "none of the steps"
        verdict = (
            f"largest N with every p99 ≤ {limit_ms:g} ms: {under} (at {failed.agents:,}: {why})"
        )
    lines += ["", verdict]
    last = steps[-1]
    per_agent = last.window.registrations / last.seconds / last.agents
    lines.append(
        f"agent cycle in bare SQL (pgbench, {sql_clients} clients): {sql.tps:,.0f} cycles/s "
        f"(p50 {sql.p50_ms:.1f} ms, p99 {sql.p99_ms:.1f} ms)"
        + (
            f"; at {per_agent * 60:.2f} saves per agent a minute (measured at "
            f"{last.agents:,}) the database alone could take {sql.tps / per_agent:,.0f} agents"
            if per_agent
            else ""
        )
    )
    return "\n".join(lines)


async def load(
    args: argparse.Namespace,
    setup: Setup,
    sessions: list[str],
    bases: list[str],
    servers: list[subprocess.Popen[bytes]],
    database: str,
    intervals: tuple[float, float],
) -> tuple[list[Step], Run]:
    arbiters = {server.pid for server in servers}
    connector = aiohttp.TCPConnector(
        limit=args.connections,
        # Shorter than gunicorn's keep-alive (2 s), so a pooled connection is never reused
        # just as the server closes it.
        keepalive_timeout=1.0,
    )
    async with (
        aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # each agent sends its own cookies
            timeout=aiohttp.ClientTimeout(total=60),
        ) as http,
        await psycopg.AsyncConnection.connect(
            with_database(args.database_url, database), autocommit=True
        ) as conn,
    ):
        run = Run(
            http=http,
            campaign_id=setup.campaign_id,
            think=(args.think[0], args.think[1]),
            renew_every=intervals[0],
            panel_every=intervals[1],
            random=random.Random(args.seed),
        )
        watch = Watch(conn, database)
        helpers = [asyncio.create_task(watch_lag(run)), asyncio.create_task(watch.sample(run))]
        tasks: list[asyncio.Task[None]] = []
        steps: list[Step] = []
        try:
            for n in args.steps:
                for i in range(len(tasks), n):
                    agent = Agent(base=bases[i % len(bases)], cookies={"sessionid": sessions[i]})
                    phase = run.random.uniform(0, args.think[1])
                    tasks.append(asyncio.create_task(agent_works(run, agent, phase)))
                await asyncio.sleep(args.warmup)
                before = await watch.cpu(arbiters)
                run.window = window = Window()
                await asyncio.sleep(args.hold - args.warmup)
                run.window = None
                after = await watch.cpu(arbiters)
                per_server = [len(range(s, n, len(bases))) for s in range(len(bases))]
                step = cpu_step(n, per_server, window, before, after)
                steps.append(step)
                print(step_report(step, warmup=args.warmup) + "\n", flush=True)
                if not step.passed(args.limit_ms):
                    break
        finally:
            run.stop.set()  # every agent ends after its current request
            _done, late = await asyncio.wait([*tasks, *helpers], timeout=70)
            for task in late:
                task.cancel()
    return steps, run


# --- The run --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument(
        "--steps", default=STEPS, help=f"agents at each step, comma separated ({STEPS})"
    )
    parser.add_argument("--hold", type=float, default=90, help="seconds each step lasts (90)")
    parser.add_argument(
        "--warmup", type=float, default=45, help="first seconds of a step, not measured (45)"
    )
    parser.add_argument(
        "--limit-ms", type=float, default=100, help="stop once a kind's p99 passes this (100)"
    )
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(20, 40),
        metavar=("LEAST", "MOST"),
        help="seconds an agent spends on a customer, drawn evenly between (20 40)",
    )
    parser.add_argument("--customers", type=int, default=20_000, help="demo customers (20000)")
    parser.add_argument("--servers", type=int, default=1, help="gunicorn instances (1)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers per server (4)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (1)")
    parser.add_argument(
        "--connections", type=int, default=200, help="the load generator's pool size (200)"
    )
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=60,
        help="seconds gunicorn keeps a database connection (CONN_MAX_AGE, 60)",
    )
    parser.add_argument("--pgbench-clients", type=int, default=16, help="pgbench clients (16)")
    parser.add_argument("--pgbench-seconds", type=float, default=10, help="pgbench's run (10)")
    parser.add_argument("--seed", type=int, default=13, help="of the think times and phases")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER),
        help="the PostgreSQL server, with a database to connect to for CREATE/DROP DATABASE "
        f"(default $BENCH_DATABASE_URL or {DEFAULT_SERVER})",
    )
    args = parser.parse_args(argv)
    try:
        args.steps = [int(n) for n in args.steps.split(",")]
    except ValueError:
        parser.error("--steps is a list of numbers such as 100,200,400")
    if args.steps != sorted(set(args.steps)) or args.steps[0] < 1:
        parser.error("--steps must rise")
    if not 0 <= args.warmup < args.hold:
        parser.error("the warm-up must be shorter than the step")
    if not 0 < args.think[0] <= args.think[1]:
        parser.error("--think needs 0 < LEAST <= MOST")
    if min(args.servers, args.workers, args.threads, args.connections, args.pgbench_clients) < 1:
        parser.error("need at least one server, worker, thread, connection and pgbench client")
    if args.customers < 10 * args.steps[-1]:
        parser.error("give at least ten customers per agent")
    signal.signal(signal.SIGTERM, _interrupted)

    name = f"kundeflyt_bench_open_{os.getpid()}"
    with (
        tempfile.TemporaryDirectory(prefix="kundeflyt_open_loop_") as scratch,
        bench_database(args.database_url, name) as servers,
    ):
        return measure(args, name, Path(scratch), servers)


def measure(
    args: argparse.Namespace, name: str, workdir: Path, servers: list[subprocess.Popen[bytes]]
) -> int:
    database_url = with_database(args.database_url, name)
    env = run_env(database_url, CONN_MAX_AGE=str(args.conn_max_age))
    migrated = manage(env, "migrate", "--no-input", "--verbosity=0")
    built = manage(env, "demo_data", f"--customers={args.customers}")
    print(f"database {name}: migrated in {migrated:.1f} s, demo built in {built:.1f} s", flush=True)

    setup_django(env)
    from django.db import connections

    started = time.monotonic()
    setup = prepare(args.steps[-1])
    sessions = write_sessions(setup)
    connections.close_all()
    print(
        f"{len(sessions):,} agents and their sessions made in {time.monotonic() - started:.1f} s; "
        f"“{CAMPAIGN}” has {setup.available:,} available of {setup.in_campaign:,} placements",
        flush=True,
    )
    if setup.available < 2 * args.steps[-1]:
        raise RuntimeError("fewer than two available customers per agent: give more --customers")
    before = registered_by_bench(database_url, setup)

    bases: list[str] = []
    for n in range(args.servers):
        port = free_port()
        while any(base.endswith(f":{port}") for base in bases):
            port = free_port()
        log = workdir / f"gunicorn-{n}.log"
        servers.append(
            start_gunicorn(env, port=port, workers=args.workers, threads=args.threads, log=log)
        )
        bases.append(f"http://127.0.0.1:{port}")
    for server, base, n in zip(servers, bases, range(len(servers)), strict=True):
        wait_until_serving(server, base, workdir / f"gunicorn-{n}.log")
    renew_every, panel_every = page_intervals()
    print(
        f"gunicorn on {', '.join(bases)}, {args.workers} workers × {args.threads} thread(s) "
        f"each; PostgreSQL {server_version(database_url)}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
        f"\nagents think {args.think[0]:g}–{args.think[1]:g} s a customer; the open screen "
        f"renews its lease every {renew_every:g} s and polls the side panel every "
        f"{panel_every:g} s; limit p99 ≤ {args.limit_ms:g} ms\n",
        flush=True,
    )

    intervals = (renew_every, panel_every)
    steps, run = asyncio.run(load(args, setup, sessions, bases, servers, name, intervals))
    for server in servers:
        stop_gunicorn(server)
    written = registered_by_bench(database_url, setup) - before

    release_all(database_url)
    clients = min(args.pgbench_clients, len(setup.usernames))
    sql = measure_pgbench(
        database_url,
        dataclasses.replace(setup, usernames=setup.usernames[:clients]),
        seconds=args.pgbench_seconds,
        workdir=workdir,
    )
    print(summary(steps, args.limit_ms, sql, clients))
    print(
        f"events written by the agents: {written:,} "
        + (
            "= registrations ✓"
            if written == run.registrations
            else f"≠ {run.registrations:,} registrations ✗"
        )
    )
    if run.error_examples:
        print("errors over the whole run, warm-ups included:")
        for what, times in run.error_examples.most_common(10):
            print(f"  {times} × {what}")
        for n in range(len(servers)):
            print(tail(workdir / f"gunicorn-{n}.log", lines=10))
    return 0 if written == run.registrations else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: gunicorn stopped, database dropped", file=sys.stderr)
        sys.exit(130)
