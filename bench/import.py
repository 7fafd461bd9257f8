"""Customer import rows per second: the real import path beside a server-side COPY.

    .venv/bin/python bench/import.py [--rows 1000000] [--sqlite-rows N] [--profile]

Writes a realistic B2C list (12 columns, as a client's Excel saves it: ``;``, UTF-8 with a
BOM, phones in three spellings, Norwegian and ISO dates, some rows a client got wrong), then,
on its own PostgreSQL database (kundeflyt_bench_import_<pid>):

1. **COPY**: the same rows as the import stores them (E.164 phones, the JSON fields, the
   placement in the campaign) loaded with two server-side ``COPY … FROM '<file>'``, into the
   customer and placement tables with all their indexes, in one transaction;
2. **import**: ``manage.py customers_import FILE --crm … --campaign … --background`` (the
   upload: the file kept in the database, counted and mapped, the task enqueued), then
   ``manage.py db_worker --batch`` (the worker that ``make run`` starts) runs it: every cell
   checked, duplicates looked up, customers created, placed and audited.

The import's rows per second are the rows of the file over the task's run (the batch's
``started_at`` to ``finished_at``); its peak RSS is the worker process's own. Then the same
import on SQLite. Prints one table and drops the database, also when it fails.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
HEADER = [
    "Kundenr",
    "Fornavn",
    "Etternavn",
    "Mobil",
    "Telefon",
    "E-post",
    "Adresse",
    "Postnummer",
    "Poststed",
    "Fødselsdato",
    "Kjønn",
    "Kunde siden",
]
# The CRM's own fields (key, label, type); the file's headings match their labels.
FIELDS = [
    ("address", "Adresse", "text", []),
    ("postcode", "Postnummer", "digits", []),
    ("city", "Poststed", "text", []),
    ("birth_date", "Fødselsdato", "date", []),
    ("gender", "Kjønn", "choice", ["Kvinne", "Mann"]),
    ("customer_since", "Kunde siden", "date", []),
]
# Names, streets and places a Norwegian consumer list is full of.
FIRST = (  # noqa: SIM905
    "Anne Inger Kari Marit Ingrid Liv Eva Berit Astrid Bjørg Hilde Anna Solveig Marianne "
    "Randi Ida Nina Ragnhild Elisabeth Kristin Jan Per Bjørn Ole Lars Kjell Knut Arne Svein "
    "Thomas Hans Geir Tor Morten Terje Odd Erik Martin Andreas John Øystein Håkon Åse Ødny"
).split()
LAST = (  # noqa: SIM905
    "Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen "
    "Johnsen Pettersen Eriksen Berg Haugen Hagen Johannessen Andreassen Jacobsen Dahl "
    "Jørgensen Halvorsen Henriksen Lund Sørensen Jakobsen Moen Gundersen Iversen Strand "
    "Solberg Svendsen Eide Knutsen Martinsen Paulsen Bakken Kristoffersen Mathisen Lie "
    "Amundsen Nguyen Rasmussen Ali Lunde Solheim Berge Moe Nygård Bakke"
).split()
STREETS = (  # noqa: SIM905
    "Storgata Kirkeveien Parkveien Skolegata Strandveien Fjellveien Bjørkeveien "
    "Granveien Solbakken Møllergata Havnegata Åsveien Tunveien Nedregata Øvreveien"
).split()
PLACES = [
    ("0150", "Oslo"),
    ("0368", "Oslo"),
    ("0575", "Oslo"),
    ("1337", "Sandvika"),
    ("1470", "Lørenskog"),
    ("1607", "Fredrikstad"),
    ("2000", "Lillestrøm"),
    ("3015", "Drammen"),
    ("4006", "Stavanger"),
    ("5003", "Bergen"),
    ("6002", "Ålesund"),
    ("7010", "Trondheim"),
    ("8006", "Bodø"),
    ("9008", "Tromsø"),
]
MOBILE_PREFIXES = ["40", "41", "46", "47", "48", "90", "91", "92", "93", "94", "95", "97", "98"]
FIXED_PREFIXES = ["21", "22", "23", "24", "32", "33", "51", "55", "62", "73", "75", "77"]
DOMAINS = ["gmail.com", "online.no", "hotmail.com", "outlook.com", "live.no", "yahoo.no"]
ASCII = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "Ae", "Ø": "O", "Å": "A"})


# --- The file -----------------------------------------------------------------------------------


@dataclass
class Stored:
    """A row as the import stores it, for the COPY reference."""

    customer_id: str
    name: str
    phone1: str
    phone2: str
    email: str
    fields: dict[str, Any]


def lines(rows: int, *, seed: int = 2026) -> Iterator[tuple[list[str], Stored | None]]:
    """The client's rows, each with the row as the import will store it (None for the ~0.4 %
    with a cell the import rejects). The same seed gives the same rows, so the file and the
    COPY reference are written from two passes without holding a million rows in memory."""
    rnd = random.Random(seed)
    for n in range(rows):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        mobile = rnd.choice(MOBILE_PREFIXES) + f"{rnd.randrange(10**6):06d}"
        spelled = rnd.choice([mobile, f"{mobile[:3]} {mobile[3:5]} {mobile[5:]}", f"+47 {mobile}"])
        fixed = ""
        if rnd.random() < 0.3:
            fixed = rnd.choice(FIXED_PREFIXES) + f"{rnd.randrange(10**6):06d}"
        email = ""
        if rnd.random() < 0.7:
            email = f"{first}.{last}{n}@{rnd.choice(DOMAINS)}".translate(ASCII).lower()
        street = f"{rnd.choice(STREETS)} {rnd.randrange(1, 120)}"
        postcode, city = rnd.choice(PLACES)
        born = (rnd.randrange(1, 29), rnd.randrange(1, 13), rnd.randrange(1940, 2006))
        since = (rnd.randrange(2005, 2026), rnd.randrange(1, 13), rnd.randrange(1, 29))
        gender = rnd.choice(["Kvinne", "Mann"])
        bad = rnd.random() < 0.004  # a client's mistake: a number that is no number
        line = [
            f"K{n:07d}",
            first,
            last,
            "12 34" if bad else spelled,
            f"{fixed[:2]} {fixed[2:4]} {fixed[4:6]} {fixed[6:]}" if fixed else "",
            email,
            street,
            postcode,
            city,
            f"{born[0]:02d}.{born[1]:02d}.{born[2]}",
            gender,
            f"{since[0]}-{since[1]:02d}-{since[2]:02d}",
        ]
        stored = None
        if not bad:
            stored = Stored(
                f"K{n:07d}",
                f"{first} {last}",
                "+47" + mobile,
                "+47" + fixed if fixed else "",
                email,
                {
                    "address": street,
                    "postcode": postcode,
                    "city": city,
                    "birth_date": f"{born[2]}-{born[1]:02d}-{born[0]:02d}",
                    "gender": gender,
                    "customer_since": f"{since[0]}-{since[1]:02d}-{since[2]:02d}",
                },
            )
        yield line, stored


def generate(path: Path, rows: int) -> int:
    """The client's file, as Excel's "CSV UTF-8 (semikolondelt)" writes it; returns how many
    of its rows the import will store."""
    kept = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADER)
        for line, stored in lines(rows):
            writer.writerow(line)
            kept += stored is not None
    return kept


# --- Databases and Django in child processes ------------------------------------------------------


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def environment(database_url: str, data_dir: Path) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "kundeflyt.settings",
        "DEBUG": "0",  # no query log
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-" + "x" * 40),
        "PLAIN_HTTP": "1",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "KUNDEFLYT_DATA_DIR": str(data_dir),
        "IMPORT_MAX_MB": "1000",
        "CONN_MAX_AGE": "0",
        "PYTHONPATH": str(ROOT),
    }


@dataclass
class Child:
    """What a child process reported: its output, peak RSS (MB) and wall time (s)."""

    output: str
    rss_mb: float
    seconds: float
    result: dict[str, Any] = field(default_factory=dict)


def child(env: dict[str, str], *args: str, profile: Path | None = None) -> Child:
    """Run ``bench/import.py _<phase> …`` in a process of its own, which reports its peak RSS."""
    report = Path(tempfile.mkstemp(prefix="kf-bench-", suffix=".json")[1])
    command = [sys.executable, __file__, *args, "--report", str(report)]
    if profile:
        command += ["--profile-to", str(profile)]
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    if os.environ.get("BENCH_TRACEMALLOC"):
        print(done.stderr[-5000:])
    data = json.loads(report.read_text() or "{}")
    report.unlink(missing_ok=True)
    return Child(done.stdout + done.stderr, data.pop("rss_mb", 0.0), seconds, data)


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss, which on Linux
    keeps the peak of the parent that forked us from before our exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase(argv: list[str]) -> int:
    """Inside a child: ``_manage <manage.py arguments>`` or ``_seed``."""
    import cProfile

    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--report", type=Path, required=True)
    options.add_argument("--profile-to", type=Path)
    known, rest = options.parse_known_args(argv[1:])
    name, report, profile_to = argv[0], known.report, known.profile_to
    import django

    django.setup()
    if os.environ.get("BENCH_PIECE"):
        import kundeflyt.imports.services.running as pieces

        pieces.CHUNK_ROWS = int(os.environ["BENCH_PIECE"])
    if os.environ.get("BENCH_CLEANERS"):
        from django.conf import settings

        settings.IMPORT_CLEANERS = int(os.environ["BENCH_CLEANERS"])
    result: dict[str, Any] = {}
    profiler = cProfile.Profile() if profile_to else None
    if profiler:
        profiler.enable()
    if name == "_seed":
        result = seed()
    else:
        from django.core.management import call_command

        call_command(*rest)
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(profile_to))
    if os.environ.get("BENCH_TRACEMALLOC"):
        import tracemalloc

        print("traced (current, peak):", tracemalloc.get_traced_memory(), file=sys.stderr)
        for stat in tracemalloc.take_snapshot().statistics("lineno")[:5]:
            print(stat, file=sys.stderr)
    result["rss_mb"] = peak_rss_mb()
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = used.ru_utime + used.ru_stime
    report.write_text(json.dumps(result))
    return 0


def seed() -> dict[str, Any]:
    """A data owner with two B2C CRMs of the same fields, each with a campaign on the shipped
    flow: one for the import, one for the COPY reference."""
    from django.db import transaction

    from kundeflyt.campaigns.models import Campaign, Segment
    from kundeflyt.common.actors import Process
    from kundeflyt.crm.models import CRM, DataOwner, FieldDefinition
    from kundeflyt.flows.services import standard_flow

    process = Process("bench")
    made: dict[str, Any] = {}
    with transaction.atomic():
        flow = standard_flow(process)
        for label in ("import", "copy"):
            owner = DataOwner.objects.create(name=f"Benk {label} AS", purpose="Måling")
            crm = CRM.objects.create(data_owner=owner, kind=CRM.Kind.B2C, name=f"Privat ({label})")
            for position, (key, name, kind_, choices) in enumerate(FIELDS):
                FieldDefinition.objects.create(
                    crm=crm, key=key, label=name, type=kind_, choices=choices, position=position
                )
            campaign = Campaign.objects.create(crm=crm, name=f"Vinter ({label})", flow=flow)
            for priority, name in enumerate(["Østlandet", "Vestlandet", "Resten"], start=1):
                Segment.objects.create(campaign=campaign, name=name, priority=priority)
            made[label] = {"crm": crm.pk, "campaign": campaign.pk, "state": flow.entry_state().pk}
    return made


# --- The COPY reference ---------------------------------------------------------------------------


def copy_reference(database_url: str, rows: int, seeded: dict[str, Any], work: Path) -> float:
    """Both tables filled by server-side COPY from files, in one transaction, then emptied
    again for the import: seconds."""
    customers, placements = work / "customers.copy.csv", work / "placements.copy.csv"
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM crm_customer").fetchone()
    first = int(row[0]) if row else 1
    now = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime())
    with (
        customers.open("w", newline="", encoding="utf-8") as c,
        placements.open("w", newline="", encoding="utf-8") as p,
    ):
        cw, pw = csv.writer(c), csv.writer(p)
        stored = (row for _line, row in lines(rows) if row is not None)
        for offset, row in enumerate(stored):
            pk = first + offset
            cw.writerow(
                [
                    pk,
                    seeded["crm"],
                    row.customer_id,
                    row.name,
                    row.phone1,
                    row.phone2,
                    "",
                    row.email,
                    json.dumps(row.fields, ensure_ascii=False),
                    now,
                    "import",
                    "f",
                ]
            )
            pw.writerow(
                [
                    pk,
                    seeded["campaign"],
                    "",
                    seeded["state"],
                    now,
                    "",
                    "bench",
                    "",
                    "",
                    0,
                    "",
                    now,
                    "f",
                    "",
                    "",
                    "",
                    "",
                    0,
                    0,
                ]
            )
    for path in (customers, placements):
        path.chmod(0o644)
    work.chmod(0o755)
    customer_columns = (
        "id, crm_id, customer_id, name, phone1, phone2, phone3, email, fields, created_at, "
        "source, is_blocked"
    )
    placement_columns = (
        "customer_id, campaign_id, segment_id, state_id, state_since, set_by_user_id, "
        "set_by_process, follow_up_at, follow_up_user_id, attempts, last_attempt_at, "
        "waiting_since, is_final, correction_id, holder_id, selected_at, "
        "lease_expires_at, lease_token, version"
    )
    # Empty texts are empty, not NULL, as the models store them.
    loads = [
        ("crm_customer", customer_columns, customers, ", FORCE_NOT_NULL (phone2, phone3, email)"),
        ("handling_placement", placement_columns, placements, ""),
    ]
    server_side = True
    started = time.monotonic()
    with psycopg.connect(database_url) as conn:
        with conn.cursor() as cursor:
            try:
                for table, columns, source, options in loads:
                    cursor.execute(
                        f"COPY {table} ({columns}) FROM '{source}' WITH (FORMAT csv{options})"
                    )
            except (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedFile):
                # The server cannot read our files (it runs elsewhere): send them.
                conn.rollback()
                server_side = False
                started = time.monotonic()
                for table, columns, source, options in loads:
                    statement = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv{options})"
                    with cursor.copy(statement) as copy, source.open("rb") as data:
                        while block := data.read(1 << 20):
                            copy.write(block)
        conn.commit()
    seconds = time.monotonic() - started
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('crm_customer', 'id'), "
            "(SELECT max(id) FROM crm_customer))"
        )
        # The import then starts from the empty tables the COPY started from: the same
        # indexes, none of them already holding a million rows.
        conn.execute("TRUNCATE crm_customer, handling_placement CASCADE")
        conn.execute("VACUUM ANALYZE crm_customer")
        conn.execute("VACUUM ANALYZE handling_placement")
    customers.unlink()
    placements.unlink()
    print(f"  COPY {'server-side' if server_side else 'FROM STDIN'}: {seconds:.1f} s", flush=True)
    return seconds


# --- The import -----------------------------------------------------------------------------------


@dataclass
class ImportFigure:
    label: str
    rows: int
    seconds: float
    rss_mb: float
    cpu_seconds: float = 0.0
    upload_seconds: float = 0.0
    upload_rss_mb: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def run_import(
    env: dict[str, str], seeded: dict[str, Any], path: Path, label: str, profile: Path | None
) -> ImportFigure:
    upload = child(
        env,
        "_manage",
        "customers_import",
        str(path),
        "--crm",
        str(seeded["crm"]),
        "--campaign",
        str(seeded["campaign"]),
        "--background",
    )
    print(f"  {label}: upload {upload.seconds:.1f} s, {upload.rss_mb:.0f} MB", flush=True)
    worker = child(
        env, "_manage", "db_worker", "--batch", "--no-startup-delay", "--no-reload", profile=profile
    )
    batch = batch_figures(env)
    if batch["status"] != "done":
        raise RuntimeError(f"the import ended {batch['status']}: {batch}\n{worker.output}")
    figure = ImportFigure(
        label=label,
        rows=batch["rows_done"],
        seconds=batch["seconds"],
        rss_mb=worker.rss_mb,
        cpu_seconds=float(worker.result.get("cpu_s", 0.0)),
        upload_seconds=upload.seconds,
        upload_rss_mb=upload.rss_mb,
        counts={k: batch[k] for k in ("created_count", "placed_count", "rejected_count")},
    )
    print(
        f"  {label}: run {figure.seconds:.1f} s, {figure.per_second:,.0f} rows/s, worker "
        f"{figure.rss_mb:.0f} MB and {figure.cpu_seconds:.0f} CPU s",
        flush=True,
    )
    return figure


def batch_figures(env: dict[str, str]) -> dict[str, Any]:
    code = (
        "import django, json; django.setup();"
        "from kundeflyt.imports.models import ImportBatch as B;"
        "b = B.objects.latest('pk');"
        "print(json.dumps({'status': b.status, 'rows_done': b.rows_done,"
        " 'seconds': (b.finished_at - b.started_at).total_seconds() if b.finished_at else 0,"
        " 'created_count': b.created_count, 'placed_count': b.placed_count,"
        " 'rejected_count': b.rejected_count}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        env=env,
        cwd=ROOT,
        check=True,
    )


def show_profile(path: Path, lines: int = 30) -> str:
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("cumulative").print_stats(lines)
    stats.sort_stats("tottime").print_stats(lines)
    return out.getvalue()


# --- Report and main ------------------------------------------------------------------------------


def server_version(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0].startswith("_"):
        return phase(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the file (1000000)")
    parser.add_argument(
        "--sqlite-rows",
        type=int,
        default=None,
        help="rows for the SQLite run (default: --rows; 0 skips it)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER),
        help=f"the PostgreSQL server (default $BENCH_DATABASE_URL or {DEFAULT_SERVER})",
    )
    parser.add_argument("--profile", action="store_true", help="profile the PostgreSQL worker")
    parser.add_argument("--piece", type=int, help="rows per transaction (the import's 1000)")
    parser.add_argument(
        "--cleaners",
        type=int,
        help="helper processes that clean rows while the import writes (IMPORT_CLEANERS; "
        "default: the settings', none unless set)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and files")
    args = parser.parse_args(argv)
    sqlite_rows = args.rows if args.sqlite_rows is None else args.sqlite_rows
    if args.cleaners is not None:
        os.environ["BENCH_CLEANERS"] = str(args.cleaners)
    if args.piece:
        os.environ["BENCH_PIECE"] = str(args.piece)
    profiled = ""

    work = Path(tempfile.mkdtemp(prefix="kundeflyt_bench_import_"))
    name = f"kundeflyt_bench_import_{os.getpid()}"
    database_url = with_database(args.database_url, name)
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        started = time.monotonic()
        path = work / "kunder.csv"
        copied = generate(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(
            f"file: {args.rows:,} rows, {size_mb:.0f} MB, written in "
            f"{time.monotonic() - started:.0f} s",
            flush=True,
        )
        env = environment(database_url, work)
        migrate(env)
        seeded = child(env, "_seed").result
        load_before = os.getloadavg()[0]
        copy_seconds = copy_reference(database_url, args.rows, seeded["copy"], work)
        profile = work / "worker.prof" if args.profile else None
        postgres = run_import(env, seeded["import"], path, "PostgreSQL", profile)
        load = (load_before, os.getloadavg()[0])
        version = server_version(database_url)
        sqlite: ImportFigure | None = None
        if sqlite_rows:
            small = path
            if sqlite_rows != args.rows:
                small = work / "kunder-sqlite.csv"
                generate(small, sqlite_rows)
            sqlite_env = environment(f"sqlite:///{work / 'bench.sqlite3'}", work)
            migrate(sqlite_env)
            sqlite_seed = child(sqlite_env, "_seed").result
            sqlite = run_import(sqlite_env, sqlite_seed["import"], small, "SQLite", None)
        if profile and profile.exists():
            profiled = show_profile(profile)
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            if not args.keep:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    copy_rate = copied / copy_seconds
    lines = [
        "",
        f"Customer import: {args.rows:,} rows of 12 columns ({size_mb:.0f} MB CSV) into one "
        "campaign",
        f"PostgreSQL {version}, Python {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"load average {load[0]:.1f} before and {load[1]:.1f} after",
        "",
        f"{'':38}{'rows':>11}{'seconds':>9}{'rows/s':>10}{'peak RSS':>10}{'CPU s':>7}",
        f"{'server-side COPY (customers+placements)':38}{copied:11,}{copy_seconds:9.1f}"
        f"{copy_rate:10,.0f}{'–':>10}{'–':>7}",
    ]
    for figure in filter(None, [postgres, sqlite]):
        lines.append(
            f"{'import, ' + figure.label + ' (worker)':38}{figure.rows:11,}{figure.seconds:9.1f}"
            f"{figure.per_second:10,.0f}{figure.rss_mb:7.0f} MB{figure.cpu_seconds:7.0f}"
        )
    lines += [
        "",
        f"import ÷ COPY on PostgreSQL: {100 * postgres.per_second / copy_rate:.1f} % (goal ≥ 25 %)",
        f"worker peak RSS: {postgres.rss_mb:.0f} MB (goal < 300 MB)",
        f"upload before the run (store, count, map, enqueue): PostgreSQL "
        f"{postgres.upload_seconds:.1f} s, {postgres.upload_rss_mb:.0f} MB"
        + (
            f"; SQLite {sqlite.upload_seconds:.1f} s, {sqlite.upload_rss_mb:.0f} MB"
            if sqlite
            else ""
        ),
        f"created / placed / rejected: PostgreSQL {postgres.counts}"
        + (f"; SQLite {sqlite.counts}" if sqlite else ""),
    ]
    print("\n".join(lines))
    if args.profile:
        print(profiled)
    return 0


if __name__ == "__main__":
    sys.exit(main())
