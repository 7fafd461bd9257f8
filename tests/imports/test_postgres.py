"""On PostgreSQL: an import racing agents who work the same campaign, and a real worker
process (``manage.py db_worker``) running an import from the database's task queue."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

from kundeflyt.accounts.models import User
from kundeflyt.campaigns.models import Campaign
from kundeflyt.common.actors import Process
from kundeflyt.crm.models import Customer
from kundeflyt.crm.services import customer_create
from kundeflyt.flows.models import Outcome
from kundeflyt.handling.models import Event, Placement
from kundeflyt.handling.services import customer_present_next, outcome_register
from kundeflyt.imports import services
from kundeflyt.imports.models import ImportBatch
from tests.factories import UserFactory
from tests.imports.conftest import HEADER, Place
from tests.imports.sheets import csv_bytes
from tests.imports.test_import_run import kari

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

KEEPER = Process("test-keeper")
AGENTS = 8
ROWS = 1500
JOIN_SECONDS = 300


def test_an_import_racing_agents_places_each_customer_once_and_presents_it_once(
    place: Place, monkeypatch: pytest.MonkeyPatch, in_calling_hours: None
) -> None:
    # Given a campaign where one attempt takes a customer out of the queue, agents working
    # it, and an import of 1,500 customers into it in pieces of 100.
    monkeypatch.setattr("kundeflyt.imports.services.running.CHUNK_ROWS", 100)
    Campaign.objects.filter(pk=place.campaign.pk).update(max_attempts=1)
    campaign = Campaign.objects.get(pk=place.campaign.pk)
    agents: list[User] = UserFactory.create_batch(AGENTS)
    place.crm.data_owner.users.add(*agents)
    no_answer = Outcome.objects.get(flow=campaign.flow, key="no_answer").pk
    rows = [HEADER] + [kari(n, phone=f"9{n:07d}") for n in range(1, ROWS + 1)]
    batch = place.upload(csv_bytes(rows))
    batch = services.import_start(
        place.setup,
        batch=batch,
        mapping=services.mapping_of(batch),
        campaign=campaign,
        enqueue=False,
    )
    presented: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    importing = threading.Event()
    importing.set()
    barrier = threading.Barrier(AGENTS + 1)

    def run_import() -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=JOIN_SECONDS)
            services.run_import(batch.pk)
        except BaseException as error:
            errors.append(error)
        finally:
            importing.clear()
            connection.close()

    def work(agent: User) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=JOIN_SECONDS)
            while True:
                selection = customer_present_next(agent, campaign=campaign)
                if selection is None:
                    if not importing.is_set():
                        # The import has ended: one more look, then the queue is empty.
                        if customer_present_next(agent, campaign=campaign) is None:
                            return
                        continue
                    time.sleep(0.01)
                    continue
                presented.append((selection.customer_id, agent.pk))
                outcome_register(
                    agent,
                    customer_id=selection.customer_id,
                    token=selection.token,
                    outcome_id=no_answer,
                )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run_import)] + [
        threading.Thread(target=work, args=(agent,)) for agent in agents
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors

    batch.refresh_from_db()
    created = set(Customer.objects.filter(crm=place.crm).values_list("pk", flat=True))
    # Every customer placed exactly once (a placement is keyed by its customer)…
    assert batch.status == ImportBatch.Status.DONE
    assert len(created) == batch.created_count == batch.placed_count
    assert set(Placement.objects.values_list("pk", flat=True)) == created
    # …and presented to exactly one agent, once: nobody got a customer twice.
    times = Counter(customer for customer, _agent in presented)
    assert set(times) == created
    assert max(times.values()) == 1
    assert Event.objects.count() == len(created)
    assert len({agent for _c, agent in presented}) > 1  # they really worked side by side


def test_a_real_worker_process_runs_the_import(place: Place, settings: Any, tmp_path: Path) -> None:
    # The pages enqueue into the database; `manage.py db_worker` (as `make run` starts it)
    # takes the task from there in a process of its own.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    batch = place.upload(csv_bytes([HEADER, kari(1), kari(2), kari(3, phone="12")]))
    batch = services.import_start(
        place.setup, batch=batch, mapping=services.mapping_of(batch), campaign=place.campaign
    )
    assert batch.status == ImportBatch.Status.QUEUED
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = os.environ | {
        "DATABASE_URL": url,
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "KUNDEFLYT_DATA_DIR": str(tmp_path),
    }

    worker = subprocess.run(
        [
            sys.executable,
            str(Path(django_settings.BASE_DIR) / "manage.py"),
            "db_worker",
            "--batch",
            "--no-startup-delay",
            "--no-reload",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert worker.returncode == 0, worker.stderr
    batch.refresh_from_db()
    assert (batch.status, batch.created_count, batch.rejected_count) == ("done", 2, 1)
    assert Placement.objects.filter(campaign=place.campaign).count() == 2


def test_a_customer_created_meanwhile_by_someone_else_is_found_on_the_second_look(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Between the import's look for existing customers and its insert, someone else (another
    # connection) creates customer 2: the unique constraint refuses the piece, which is looked
    # at again and finds it.
    original = services.running.Run._existing
    looks: list[int] = []

    def someone_creates_after_the_first_look(self, candidates):  # type: ignore[no-untyped-def]
        found = original(self, candidates)
        looks.append(1)
        if len(looks) == 1:

            def create() -> None:
                try:
                    customer_create(KEEPER, crm=place.crm, customer_id="2", name="Først")
                finally:
                    connection.close()

            other = threading.Thread(target=create)
            other.start()
            other.join()
        return found

    monkeypatch.setattr(services.running.Run, "_existing", someone_creates_after_the_first_look)
    batch = place.run(place.upload(csv_bytes([HEADER, kari(1), kari(2), kari(3)])))

    assert len(looks) == 2
    assert (batch.created_count, batch.duplicate_count) == (2, 1)
    assert Customer.objects.get(customer_id="2").name == "Først"


def test_an_import_keeps_the_planners_row_counts_as_it_grows_the_tables(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While PostgreSQL believes the customer table empty, it looks a piece's customer ids up
    by reading every customer of the CRM; the import refreshes its statistics as it goes."""
    monkeypatch.setattr("kundeflyt.common.copying.GrowingTables.FIRST_AFTER", 20)
    monkeypatch.setattr("kundeflyt.imports.services.running.CHUNK_ROWS", 25)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_customer")  # empty: what a fresh installation knows

    def planned_rows() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'crm_customer'")
            return float(cursor.fetchone()[0])  # type: ignore[index]

    assert planned_rows() <= 0
    batch = place.run(
        place.upload(csv_bytes([HEADER, *(kari(n) for n in range(1, 201))])),
        campaign=place.campaign,
    )

    assert batch.created_count == 200
    # Analysed after 25, 50, 100 and 200 rows: the planner knows about what is there.
    assert planned_rows() == 200
