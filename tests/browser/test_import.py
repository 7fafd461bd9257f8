"""Importing a client's file in Chromium: upload → map → preview → run → progress → summary
→ download the rejected rows → undo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from kundeflyt.crm.models import Customer
from kundeflyt.handling.models import Placement
from kundeflyt.imports import services
from kundeflyt.imports.models import ImportBatch
from tests.browser.test_agent_day import log_in
from tests.imports.conftest import HEADER, Place, build_place
from tests.imports.sheets import csv_bytes
from tests.imports.test_import_run import kari

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def place(db: None) -> Place:
    return build_place()


def test_a_supervisor_imports_a_clients_file(
    page: Page,
    live_server: Any,
    place: Place,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No worker runs during the test: the test plays the worker below, a piece at a time.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    monkeypatch.setattr("kundeflyt.imports.services.running.CHUNK_ROWS", 2)
    rows = [
        [*HEADER, "Info"],
        [*kari(1), "Kunde siden 2019"],
        [*kari(2, phone="12"), ""],
        [*kari(3), ""],
        [*kari(4, email="kari@"), ""],
        [*kari(5), "Ring etter 17"],
    ]
    base = live_server.url
    log_in(page, base, "sigrid")

    page.goto(f"{base}/imports/")
    page.get_by_role("link", name="Import a file").click()
    page.get_by_label("Customer file (CSV, XLSX or ODS)").set_input_files(
        files=[{"name": "kunder.csv", "mimeType": "text/csv", "buffer": csv_bytes(rows)}]
    )
    page.get_by_role("button", name="Upload and map the columns").click()

    # The mapping: matched by the headings, one changed by hand.
    expect(page.get_by_role("heading", name="Import kunder.csv")).to_be_visible()
    expect(page.get_by_label("Mobil")).to_have_value("phone1")
    expect(page.get_by_label("Fornavn")).to_have_value("name")
    page.get_by_label("Info").select_option("notes")
    page.get_by_label("Put the new customers in").select_option(label="Strøm privat › Oslo")

    page.get_by_role("button", name="Preview the first rows").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("91 23 45 67")
    expect(preview).to_contain_text("Kunde siden 2019")
    expect(preview).to_contain_text("is not a valid phone number")

    page.get_by_role("button", name="Start the import").click()
    expect(page.get_by_role("heading", name="Waiting for the worker…")).to_be_visible()
    batch = ImportBatch.objects.get()

    # The worker, pausing between pieces while the page follows it.
    seen: list[str] = []
    original = services.running.Run._cancel_requested

    def look_between_pieces(run: Any) -> bool:
        done = ImportBatch.objects.get(pk=run.batch.pk).rows_done
        if done == 2:
            expect(page.get_by_text("2 of 5 rows")).to_be_visible()
            expect(page.get_by_role("status")).to_contain_text("rows per second")
            seen.append("progress")
        return original(run)

    monkeypatch.setattr(services.running.Run, "_cancel_requested", look_between_pieces)
    services.run_import(batch.pk)
    assert seen == ["progress"]

    # The summary: the poll notices the end and loads it.
    expect(page.get_by_role("heading", name="Result")).to_be_visible()
    expect(page.get_by_text("Customers created")).to_be_visible()
    assert ImportBatch.objects.get().created_count == 3
    expect(page.get_by_role("heading", name="2 rejected rows")).to_be_visible()
    assert Placement.objects.filter(segment=place.oslo).count() == 3

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the rejected rows").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    assert lines[0].endswith(";Error")
    assert len(lines) == 3 and lines[1].startswith("2;") and lines[2].startswith("4;")

    page.get_by_text("Undo this import…").click()
    page.get_by_role("button", name="Undo the import").click()
    expect(page.get_by_text("The import is undone: 3 customers removed")).to_be_visible()
    assert not Customer.objects.exists()
