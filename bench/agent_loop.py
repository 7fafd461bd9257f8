"""The agent loop over HTTP: simulated agents work the demo's manual campaign through gunicorn.

    .venv/bin/python bench/agent_loop.py [--agents 16] [--seconds 20] [--customers 20000]
                                         [--workers 4] [--threads 1]

Creates its own PostgreSQL database (kundeflyt_bench_http_<pid>), migrates it and builds the
demo (``manage.py demo_data``), adds one agent user per simulated agent, serves the project
with gunicorn on 127.0.0.1, and lets every agent log in, start working "Strøm til bedrifter"
and then, until time is up, open the customer screen and save "Ikke svar" with *then: next
customer from the list*. Beside it, pgbench runs the same cycle in bare SQL on the same
database. Prints one table, stops gunicorn and drops the database, also on error or Ctrl-C.
See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.cookiejar
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
CAMPAIGN = "Strøm til bedrifter"  # the demo's manual campaign
NO_ANSWER = "Ikke svar"  # the outcome every simulated agent registers
PASSWORD = "demo1234"  # the demo's password, given to the bench agents too
TEAMS = ["Team Nord", "Team Sør"]  # the demo's teams, granted the demo data owner

CUSTOMER_RE = re.compile(r'name="customer" value="(\d+)"')
TOKEN_RE = re.compile(r'name="token" value="(\d+)"')
NO_ANSWER_RE = re.compile(
    r'<input type="radio" name="outcome" value="(\d+)"[^>]*>\s*'
    r"<span>(?:<kbd>\d+</kbd>\s*)?" + re.escape(NO_ANSWER) + r"</span>"
)

# One agent cycle in bare SQL, per pgbench client: register "no answer" on the customer the
# client holds (as outcome_register: the event row, then the placement's attempts, waiting
# time and hold), commit; then claim the next available customer as customer_present_next
# does for the available queue (one segment at a time in priority order, unsegmented last,
# each read from its index with FOR UPDATE SKIP LOCKED; then the holder), commit.
# :first_user, :campaign and :outcome come from `pgbench -D`; :client_id is pgbench's own.
REGISTER_SQL = """\
\\set uid :first_user + :client_id
BEGIN;
INSERT INTO handling_event (
    actor_process, registered_at, comment, extra_values, follow_up_at, included_in_reports,
    counts_at, is_corrected, actor_user_id, campaign_id, corrects_id, counts_for_user_id,
    customer_id, follow_up_user_id, from_state_id, option_id, outcome_id, segment_id,
    to_state_id
)
SELECT '', now(), '', '{}', NULL, true,
       now(), false, :uid, p.campaign_id, NULL, :uid,
       p.customer_id, NULL, p.state_id, NULL, :outcome, p.segment_id,
       p.state_id
  FROM handling_placement p
 WHERE p.holder_id = :uid;
UPDATE handling_placement
   SET attempts = attempts + 1, last_attempt_at = now(), waiting_since = now(),
       follow_up_at = NULL, follow_up_user_id = NULL,
       set_by_user_id = :uid, set_by_process = '',
       holder_id = NULL, selected_at = NULL, lease_expires_at = NULL,
       version = version + 1
 WHERE holder_id = :uid;
COMMIT;
BEGIN;
\\set next 0
"""

# One segment's queue (or the unsegmented one), asked only while nothing was found; max()
# makes it one row (0 for none) for \\gset.
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
COMMIT;
"""


def cycle_sql(segment_ids: list[int]) -> str:
    conditions = [f"p.segment_id = {pk}" for pk in segment_ids] + ["p.segment_id IS NULL"]
    queues = "".join(QUEUE_SQL.replace("SEGMENT", c) for c in conditions)
    return REGISTER_SQL + queues + CLAIM_SQL


# --- The database of the run ---------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def create_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "kundeflyt.settings",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(40),
        "PLAIN_HTTP": "1",  # the bench talks to gunicorn over plain HTTP on loopback
        "CONN_MAX_AGE": "60",
        **extra,
    }
    # The bench agents log in over HTTP with the project's real password hasher.
    env.pop("FAST_PASSWORD_HASHER", None)
    return env


def manage(env: dict[str, str], *arguments: str) -> float:
    """Run ``manage.py`` with the run's environment; returns the seconds it took."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(arguments)} failed ({done.returncode}):\n"
            f"{done.stdout[-2000:]}{done.stderr[-4000:]}"
        )
    return time.monotonic() - started


# --- Bench-only setup, straight through the ORM --------------------------------------------


@dataclass(frozen=True)
class Setup:
    campaign_id: int
    segment_ids: list[int]  # in priority order
    outcome_id: int
    usernames: list[str]
    first_user: int
    in_campaign: int
    available: int


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.pop("FAST_PASSWORD_HASHER", None)
    # The query count below uses Django's test client, which calls itself "testserver".
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,testserver"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(agents: int) -> Setup:
    """Agents like agent1 (the demo's Agent group, a team granted the data owner), and a
    campaign that never runs out: no attempt limit and no pause between attempts."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from kundeflyt.accounts.models import Team, User
    from kundeflyt.campaigns.models import Campaign
    from kundeflyt.flows.models import Outcome, StateKind
    from kundeflyt.handling.models import Placement

    with transaction.atomic():
        campaign = Campaign.objects.get(name=CAMPAIGN)
        Campaign.objects.filter(pk=campaign.pk).update(
            max_attempts=None, min_minutes_between_attempts=0
        )
        outcome = Outcome.objects.get(flow=campaign.flow_id, name=NO_ANSWER)
        group = Group.objects.get(name="Agent")
        teams = list(Team.objects.filter(name__in=TEAMS).order_by("name"))
        password = make_password(PASSWORD)  # hashed once: all bench agents share it
        # In bulk: the open-loop bench makes thousands (User has no save() of its own).
        users = User.objects.bulk_create(
            User(
                username=f"bench-agent-{n:03}",
                first_name="Benk",
                last_name=f"Agent {n}",
                password=password,
                team=teams[n % len(teams)],
                language="nb",
            )
            for n in range(agents)
        )
        membership = User.groups.through
        membership.objects.bulk_create(
            membership(user_id=user.pk, group_id=group.pk) for user in users
        )
    ids = [user.pk for user in users]
    if ids != list(range(ids[0], ids[0] + agents)):
        raise RuntimeError("the bench agents' ids are not consecutive; the pgbench cycle needs it")
    placements = Placement.objects.filter(campaign=campaign)
    available = placements.filter(
        is_final=False, follow_up_at__isnull=True, state__kind=StateKind.AVAILABLE
    ).count()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return Setup(
        campaign_id=campaign.pk,
        segment_ids=list(campaign.segments.order_by("priority", "pk").values_list("pk", flat=True)),
        outcome_id=outcome.pk,
        usernames=[user.username for user in users],
        first_user=ids[0],
        in_campaign=placements.count(),
        available=available,
    )


@dataclass(frozen=True)
class QueryCount:
    queries: int
    sql_ms: float
    slowest_ms: float
    slowest_sql: str
    p50_ms: float = 0.0  # server time in process, one agent alone, over ALONE_CYCLES


ALONE_CYCLES = 40


def count_queries(setup: Setup) -> dict[str, QueryCount]:
    """One agent alone, through Django's test client: the queries of a screen and a save."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from kundeflyt.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=setup.usernames[0]))
    response = client.post("/work/start/", {"campaign": setup.campaign_id})
    if response.status_code != 302 or response["Location"] != "/screen/":
        raise RuntimeError(f"work/start answered {response.status_code} for one agent alone")

    def measure(method: str, path: str, data: dict[str, Any] | None = None) -> Any:
        htmx = {"HTTP_HX_REQUEST": "true"} if method == "post" else {}
        with CaptureQueriesContext(connection) as captured:
            response = getattr(client, method)(path, data, **htmx)
        times = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
        slowest = max(times, default=(0.0, ""))
        counts[f"{method} {path}"] = QueryCount(
            len(times), sum(t for t, _sql in times), slowest[0], slowest[1]
        )
        return response

    counts: dict[str, QueryCount] = {}
    client.get("/screen/")  # warm: per-process caches
    page = measure("get", "/screen/").content.decode()
    form = screen_form(page)
    if form is None:
        raise RuntimeError("the customer screen has no customer, token or “Ikke svar” outcome")
    response = measure("post", "/screen/save/", {**form, "then": "list"})
    brought_screen = response.status_code == 200 and screen_form(response.content.decode())
    redirected = response.status_code == 204 and response.get("HX-Redirect") == "/screen/"
    if not (brought_screen or redirected):
        raise RuntimeError(f"the save answered {response.status_code} for one agent alone")
    # The server time of each, in process (no HTTP): the p50 of ALONE_CYCLES screens and saves.
    times: dict[str, list[float]] = {"screen": [], "save": []}
    for _cycle in range(ALONE_CYCLES):
        started = time.perf_counter()
        form = screen_form(client.get("/screen/").content.decode())
        times["screen"].append(time.perf_counter() - started)
        if form is None:
            raise RuntimeError("the customer screen lost its form while timing one agent alone")
        started = time.perf_counter()
        client.post("/screen/save/", {**form, "then": "list"}, HTTP_HX_REQUEST="true")
        times["save"].append(time.perf_counter() - started)
    client.post("/work/stop/")
    return {
        step: dataclasses.replace(counts[key], p50_ms=statistics.median(times[step]) * 1000)
        for step, key in (("screen", "get /screen/"), ("save", "post /screen/save/"))
    }


def screen_form(page: str) -> dict[str, str] | None:
    customer, token, outcome = (r.search(page) for r in (CUSTOMER_RE, TOKEN_RE, NO_ANSWER_RE))
    if customer is None or token is None or outcome is None:
        return None
    return {"customer": customer[1], "token": token[1], "outcome": outcome[1]}


def registered_by_bench(database_url: str, setup: Setup) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM handling_event WHERE actor_user_id BETWEEN %s AND %s",
            (setup.first_user, setup.first_user + len(setup.usernames) - 1),
        ).fetchone()
    return int(row[0]) if row else 0


def release_all(database_url: str) -> None:
    """Start pgbench with nobody holding a customer, as the HTTP agents started."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE handling_placement SET holder_id = NULL, selected_at = NULL, "
            "lease_expires_at = NULL WHERE holder_id IS NOT NULL"
        )
        conn.execute("VACUUM ANALYZE handling_placement")
        conn.execute("VACUUM ANALYZE handling_event")


# --- gunicorn -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(
    env: dict[str, str], *, port: int, workers: int, threads: int, log: Path
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "kundeflyt.wsgi:application",
        f"--workers={workers}",
        f"--threads={threads}",
        f"--bind=127.0.0.1:{port}",
        "--timeout=60",
        "--graceful-timeout=5",
        f"--error-logfile={log}",
    ]
    server_env = {
        **env,
        # The run's key, so sessions the bench writes itself (open_loop.py) are valid.
        "SECRET_KEY": env.get("SECRET_KEY") or secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "0",
        "CONN_MAX_AGE": env.get("CONN_MAX_AGE", "60"),
    }
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=server_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


def wait_until_serving(server: subprocess.Popen[bytes], base: str, log: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < 60:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.returncode}):\n{tail(log)}")
        try:
            with urllib.request.urlopen(f"{base}/login/", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /login/ within 60 s:\n{tail(log)}")


def stop_gunicorn(server: subprocess.Popen[bytes] | None) -> None:
    if server is None or server.poll() is not None:
        return
    server.terminate()  # SIGTERM to the arbiter (our child): it stops its workers
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=5)


Servers = list[subprocess.Popen[bytes]]


@contextmanager
def bench_database(server_url: str, name: str, *, keep: bool = False) -> Iterator[Servers]:
    """The run's own database ``name`` on ``server_url``; yields the list the run adds its
    gunicorns to. At the end, also on an error, Ctrl-C or SIGTERM (``_interrupted``), the
    gunicorns are stopped, Django's connections closed and the database dropped (with
    ``keep``, its address is printed instead)."""
    servers: Servers = []
    create_database(server_url, name)
    try:
        yield servers
    finally:
        try:
            for server in servers:
                stop_gunicorn(server)
            if "django" in sys.modules:
                from django.db import connections

                connections.close_all()
        finally:
            if keep:
                print(f"kept: {with_database(server_url, name)}")
            else:
                drop_database(server_url, name)


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- The simulated agents -------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPErrorProcessor):
    """Hand back every response as it is: a redirect is a step's answer, not followed."""

    def http_response(self, request: Any, response: Any) -> Any:
        return response

    https_response = http_response


@dataclass
class Answer:
    status: int
    location: str
    body: str
    seconds: float


class Browser:
    """One agent's browser: its own cookie jar, no redirects followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects()
        )

    def csrf_token(self) -> str:
        return next((c.value or "" for c in self.jar if c.name == "csrftoken"), "")

    def get(self, path: str) -> Answer:
        return self._send(urllib.request.Request(self.base + path))

    def post(self, path: str, fields: dict[str, str], *, htmx: bool = False) -> Answer:
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self.csrf_token()})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if htmx:
            headers["HX-Request"] = "true"  # as the screen's form posts it
        request = urllib.request.Request(self.base + path, data=data.encode(), headers=headers)
        return self._send(request)

    def _send(self, request: urllib.request.Request) -> Answer:
        started = time.perf_counter()
        with self.opener.open(request, timeout=60) as response:
            body = response.read().decode("utf-8", errors="replace")
            status = response.status
            location = response.headers.get("Location") or response.headers.get("HX-Redirect") or ""
        return Answer(status, location, body, time.perf_counter() - started)


@dataclass
class Tally:
    """What one agent did."""

    screen: list[float] = field(default_factory=list)
    save: list[float] = field(default_factory=list)
    registrations: int = 0
    restarts: int = 0  # sent back to My work (lease lost, nobody waiting): started again
    errors: list[str] = field(default_factory=list)


class AgentError(Exception):
    pass


def _ok(answer: Answer) -> bool:
    return 200 <= answer.status < 400


def log_in_and_start(browser: Browser, username: str, campaign_id: int) -> None:
    browser.get("/login/")  # the csrftoken cookie
    answer = browser.post("/login/", {"username": username, "password": PASSWORD})
    if answer.status != 302:
        raise AgentError(f"{username}: login answered {answer.status}")
    start_working(browser, campaign_id)
    browser.get("/screen/")  # warm: the worker's templates and caches, untimed


def start_working(browser: Browser, campaign_id: int) -> None:
    answer = browser.post("/work/start/", {"campaign": str(campaign_id)})
    if answer.status != 302 or answer.location != "/screen/":
        raise AgentError(f"work/start answered {answer.status} → {answer.location or '-'}")


def agent_loop(
    browser: Browser, campaign_id: int, deadline: float, stop: threading.Event, tally: Tally
) -> None:
    """Screen, save with "then: next customer from the list", and again, until the deadline.
    The save posts as the screen's htmx form does: its answer is either the next screen
    itself, or a redirect to /screen/ (HX-Redirect), followed as the next step's GET."""
    page: str | None = None
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            page = agent_step(browser, campaign_id, deadline, tally, page)
        except (OSError, AgentError) as error:  # URLError, a reset connection, a refusal
            tally.errors.append(f"{type(error).__name__}: {error}")
            page = None
            time.sleep(0.1)


def agent_step(
    browser: Browser, campaign_id: int, deadline: float, tally: Tally, page: str | None
) -> str | None:
    """One screen (asked for unless the last save brought it) and, unless time is up, its
    save. Returns the next screen when the save brought it."""
    if page is None:
        screen = browser.get("/screen/")
        tally.screen.append(screen.seconds)
        if screen.status == 302:  # no current customer: sent to My work
            tally.restarts += 1
            start_working(browser, campaign_id)
            return None
        if screen.status != 200:
            tally.errors.append(f"GET /screen/ answered {screen.status}")
            start_working(browser, campaign_id)
            return None
        page = screen.body
    form = screen_form(page)
    if form is None:
        tally.errors.append("the screen has no customer, token or “Ikke svar”")
        start_working(browser, campaign_id)
        return None
    if time.monotonic() >= deadline:
        return None
    save = browser.post("/screen/save/", {**form, "then": "list"}, htmx=True)
    tally.save.append(save.seconds)
    if save.status == 200 and screen_form(save.body) is not None:
        tally.registrations += 1  # the answer is the next customer's screen
        return save.body
    if save.status in (204, 302) and save.location == "/screen/":
        tally.registrations += 1
    elif _ok(save):
        # Back to My work: the lease was lost, or nobody waits; not a registration.
        tally.restarts += 1
        start_working(browser, campaign_id)
    else:
        tally.errors.append(f"POST /screen/save/ answered {save.status}")
    return None


def run_agents(
    base: str, setup: Setup, seconds: float
) -> tuple[list[Tally], float, float, list[str]]:
    """Every agent logs in and starts working; then all loop together for ``seconds``."""
    agents = len(setup.usernames)
    clock: dict[str, float] = {}

    def go() -> None:  # run once, when the last agent is ready and before any goes on
        clock["started"] = time.monotonic()
        clock["deadline"] = clock["started"] + seconds

    barrier = threading.Barrier(agents + 1, action=go)
    stop = threading.Event()
    tallies = [Tally() for _ in range(agents)]
    failures: list[str] = []
    finished: list[float] = []

    def work(index: int) -> None:
        browser = Browser(base)
        try:
            log_in_and_start(browser, setup.usernames[index], setup.campaign_id)
            barrier.wait()
            agent_loop(browser, setup.campaign_id, clock["deadline"], stop, tallies[index])
        except threading.BrokenBarrierError:
            return
        except Exception as error:
            failures.append(f"{setup.usernames[index]}: {error!r}")
            barrier.abort()
        finally:
            finished.append(time.monotonic())

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(agents)]
    logging_in = time.monotonic()
    try:
        for thread in threads:
            thread.start()
        try:
            barrier.wait(timeout=180)
        except threading.BrokenBarrierError:
            raise RuntimeError("the agents could not start: " + "; ".join(failures)) from None
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)
    finally:
        stop.set()  # on Ctrl-C too: the agents end after their current request
        barrier.abort()
    started = clock["started"]
    return tallies, max(finished) - started, started - logging_in, failures


# --- The same cycle in bare SQL -------------------------------------------------------------


@dataclass(frozen=True)
class Pgbench:
    transactions: int
    tps: float
    p50_ms: float
    p99_ms: float
    failed: int
    output: str


def measure_pgbench(database_url: str, setup: Setup, *, seconds: float, workdir: Path) -> Pgbench:
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        raise RuntimeError("pgbench is not installed (Debian: apt-get install postgresql-client)")
    script = workdir / "agent_cycle.sql"
    script.write_text(cycle_sql(setup.segment_ids))
    url = urlsplit(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    clients = len(setup.usernames)
    command = [
        pgbench,
        "--no-vacuum",
        f"--client={clients}",
        f"--jobs={min(2, clients)}",
        f"--time={max(1, round(seconds))}",
        f"--file={script}",
        f"--define=first_user={setup.first_user}",
        f"--define=campaign={setup.campaign_id}",
        f"--define=outcome={setup.outcome_id}",
        "--log",  # one line per transaction, for the percentiles
        f"--log-prefix={workdir / 'cycle'}",
        f"--host={url.hostname or '127.0.0.1'}",
        f"--port={url.port or 5432}",
        f"--username={url.username or 'postgres'}",
        url.path.lstrip("/"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed ({done.returncode}):\n{done.stderr}{done.stdout}")
    # Each line: client, transaction number, latency in µs, script, epoch s, epoch µs.
    latencies = sorted(
        int(line.split()[2]) / 1000
        for log in workdir.glob("cycle*")
        for line in log.read_text().splitlines()
        if line.strip()
    )
    output = done.stdout

    def number(pattern: str) -> float:
        found = re.search(pattern, output)
        if found is None:
            raise RuntimeError(f"pgbench printed no {pattern!r}:\n{output}")
        return float(found.group(1))

    failed = re.search(r"number of failed transactions: (\d+)", output)
    return Pgbench(
        transactions=int(number(r"number of transactions actually processed: (\d+)")),
        tps=number(r"tps = ([\d.]+) \(without initial connection time\)"),
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        failed=int(failed.group(1)) if failed else 0,
        output=output,
    )


# --- Report ---------------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest rank; 0 for no values."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def server_version(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def report(
    args: argparse.Namespace,
    *,
    setup: Setup,
    version: str,
    tallies: list[Tally],
    elapsed: float,
    load: tuple[float, float],
    sql: Pgbench,
) -> str:
    screen = sorted(t * 1000 for tally in tallies for t in tally.screen)
    save = sorted(t * 1000 for tally in tallies for t in tally.save)
    registrations = sum(tally.registrations for tally in tallies)
    per_second = registrations / elapsed if elapsed else 0.0

    def row(label: str, count: int, rate: float, ms: tuple[float, float] | None = None) -> str:
        timing = f"{ms[0]:9.1f}{ms[1]:9.1f}" if ms else ""
        return f"{label:36}{count:9,}{rate:9.1f}{timing}"

    def p50_p99(values: list[float]) -> tuple[float, float]:
        return percentile(values, 50), percentile(values, 99)

    steps = len(screen) + len(save)
    ratio = per_second / sql.tps if sql.tps else 0.0
    return "\n".join(
        [
            f"Agent loop over HTTP: {args.agents} agents working “{CAMPAIGN}” "
            f"({setup.available:,} available of {setup.in_campaign:,} placements, "
            f"{args.customers:,} demo customers), {elapsed:.1f} s",
            f"gunicorn {args.workers} workers × {args.threads} thread(s), "
            f"PostgreSQL {version}, Python {platform.python_version()}, {os.cpu_count()} CPUs; "
            f"load average {load[0]:.1f} before and {load[1]:.1f} after the HTTP run",
            "",
            f"{'':36}{'count':>9}{'per s':>9}{'p50 ms':>9}{'p99 ms':>9}",
            row("screen   GET /screen/", len(screen), len(screen) / elapsed, p50_p99(screen)),
            row("save     POST /screen/save/", len(save), len(save) / elapsed, p50_p99(save)),
            row("steps    screen + save", steps, steps / elapsed),
            row("registrations over HTTP", registrations, per_second),
            row(
                "agent cycle in bare SQL (pgbench)",
                sql.transactions,
                sql.tps,
                (sql.p50_ms, sql.p99_ms),
            ),
            "",
            f"HTTP registrations/s ÷ pgbench cycles/s: {ratio:.3f} "
            f"(the bare SQL cycle runs {1 / ratio if ratio else 0:.0f}× as often)",
        ]
    )


# --- The run --------------------------------------------------------------------------------


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--agents", type=int, default=16, help="simulated agents (16)")
    parser.add_argument("--seconds", type=float, default=20, help="length of each run (20)")
    parser.add_argument("--customers", type=int, default=20_000, help="demo customers (20000)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (1)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER),
        help="the PostgreSQL server, with a database to connect to for CREATE/DROP DATABASE "
        f"(default $BENCH_DATABASE_URL or {DEFAULT_SERVER})",
    )
    parser.add_argument("--verbose", action="store_true", help="print pgbench's report too")
    args = parser.parse_args(argv)
    if args.agents < 1 or args.workers < 1 or args.threads < 1 or args.seconds <= 0:
        parser.error("need at least one agent, worker and thread, and some seconds")
    if args.customers < 10 * args.agents:
        parser.error("give at least ten customers per agent")
    signal.signal(signal.SIGTERM, _interrupted)

    name = f"kundeflyt_bench_http_{os.getpid()}"
    database_url = with_database(args.database_url, name)
    with (
        tempfile.TemporaryDirectory(prefix="kundeflyt_agent_loop_") as scratch,
        bench_database(args.database_url, name) as servers,
    ):
        return measure(args, database_url, Path(scratch), servers)


def measure(
    args: argparse.Namespace,
    database_url: str,
    workdir: Path,
    servers: list[subprocess.Popen[bytes]],
) -> int:
    env = run_env(database_url)
    name = urlsplit(database_url).path.lstrip("/")
    migrated = manage(env, "migrate", "--no-input", "--verbosity=0")
    built = manage(env, "demo_data", f"--customers={args.customers}")
    print(f"database {name}: migrated in {migrated:.1f} s, demo built in {built:.1f} s", flush=True)

    setup_django(env)
    from django.db import connections

    setup = prepare(args.agents)
    queries = count_queries(setup)
    connections.close_all()
    before = registered_by_bench(database_url, setup)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = workdir / "gunicorn.log"
    servers.append(
        start_gunicorn(env, port=port, workers=args.workers, threads=args.threads, log=log)
    )
    ready = wait_until_serving(servers[-1], base, log)
    print(f"gunicorn on {base} answered in {ready:.1f} s", flush=True)
    load_before = os.getloadavg()[0]
    tallies, elapsed, login_seconds, failures = run_agents(base, setup, args.seconds)
    load = (load_before, os.getloadavg()[0])
    print(
        f"{args.agents} agents logged in and started working in {login_seconds:.1f} s", flush=True
    )
    stop_gunicorn(servers[-1])
    written = registered_by_bench(database_url, setup) - before

    release_all(database_url)
    sql = measure_pgbench(database_url, setup, seconds=args.seconds, workdir=workdir)
    if args.verbose:
        print(sql.output)

    print()
    print(
        report(
            args,
            setup=setup,
            version=server_version(database_url),
            tallies=tallies,
            elapsed=elapsed,
            load=load,
            sql=sql,
        )
    )
    registrations = sum(tally.registrations for tally in tallies)
    errors = [error for tally in tallies for error in tally.errors] + failures
    restarts = sum(tally.restarts for tally in tallies)
    print(
        "queries per request, one agent alone: "
        + ", ".join(
            f"{step} {q.queries} ({q.sql_ms:.1f} ms in SQL, slowest {q.slowest_ms:.1f} ms)"
            for step, q in queries.items()
        )
    )
    print(
        f"server time, one agent alone, in process (p50 of {ALONE_CYCLES}): "
        + ", ".join(f"{step} {q.p50_ms:.1f} ms" for step, q in queries.items())
    )
    if args.verbose:
        for step, q in queries.items():
            print(f"slowest query of {step}: {q.slowest_sql[:300]}…")
    print(
        f"events written by the agents: {written:,} "
        + ("= registrations ✓" if written == registrations else f"≠ {registrations:,} ✗")
    )
    if restarts:
        print(f"sent back to My work and started again (lease lost, nobody waiting): {restarts}")
    if sql.failed:
        print(f"pgbench transactions that failed: {sql.failed}")
    if errors:
        print(f"errors (non-2xx/3xx, unreadable screen, lost connection): {len(errors)} ✗")
        for error in sorted(set(errors))[:10]:
            print(f"  {error}")
        if servers:
            print(tail(workdir / "gunicorn.log"))
        return 1
    print("errors (non-2xx/3xx, unreadable screen, lost connection): 0 ✓")
    return 0 if written == registrations else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: gunicorn stopped, database dropped", file=sys.stderr)
        sys.exit(130)
