"""Issue 10's "done when", in Chromium: a Norwegian supervisor takes a client's Excel file,
brings its customers into a campaign segment, finds them again by their import, agents work
them, and the supervisor hands the client the registrations as a spreadsheet."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.handling.models import Event, Placement
from kundeflyt.imports.models import ImportBatch
from tests.browser.test_agent_day import log_in as log_in_agent
from tests.browser.test_export import log_in
from tests.factories import UserFactory
from tests.imports.sheets import xlsx_bytes
from tests.world import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLIENT_FILE = {
    "Kunder": [
        ["Kundenr", "Firma", "Telefon", "Ansatte", "Bransje"],
        [9001, "Fjordkraft Bygg AS", "412 34 567", 40, "Bygg"],
        [9002, "Nordlys Handel AS", "+47 98765432", 12, "Handel"],
        [9003, "Vestland IT AS", 92345678, 120, "IT"],  # Excel kept the number as a number
        [9004, "Feil Nummer AS", "12", 5, "IT"],  # refused: not a phone number
    ]
}


def test_a_clients_excel_file_becomes_registrations_in_a_spreadsheet(
    page: Page, live_server: Any, world: World
) -> None:
    boss = UserFactory(
        username="sjef",
        language="nb",
        perms=[
            Perm.CAMPAIGN_SETUP,
            Perm.CUSTOMER_HANDLING,
            Perm.EXTENDED_CUSTOMER_HANDLING,
            Perm.REPORTING,
            Perm.INDIVIDUAL_RESULTS,  # the client is told who called
        ],
    )
    world.crm.data_owner.users.add(boss)
    base = live_server.url
    log_in(page, base, "sjef")

    # The file in: upload, the columns matched by their headings, into a segment.
    page.goto(f"{base}/imports/")
    page.get_by_role("link", name="Importer en fil").click()
    page.get_by_label("Kundefil (CSV, XLSX eller ODS)").set_input_files(
        files=[
            {
                "name": "kundeliste.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": xlsx_bytes(CLIENT_FILE),
            }
        ]
    )
    page.get_by_role("button", name="Last opp og koble kolonnene").click()
    expect(page.get_by_label("Telefon", exact=True)).to_have_value("phone1")
    page.get_by_label("Legg de nye kundene i").select_option(label="Strøm bedrift › Varme")
    page.get_by_role("button", name="Forhåndsvis de første radene").click()
    expect(page.locator("#preview")).to_contain_text("92 34 56 78")
    page.get_by_role("button", name="Start importen").click()  # the test's worker runs at once

    expect(page.get_by_role("heading", name="Resultat")).to_be_visible()
    batch = ImportBatch.objects.get()
    assert (batch.created_count, batch.placed_count, batch.rejected_count) == (3, 3, 1)

    # The customers of that file, found again by their import.
    page.get_by_role("link", name="Velg kundene den opprettet").click()
    expect(page.locator("#customer-count")).to_have_text("3 kunder")
    expect(page.get_by_label("Import")).to_have_value(str(batch.pk))

    # Two agents work them: the first two, then back to My work; the second the third.
    worked: list[str] = []
    for username, count in (("agent", 2), ("agent2", 1)):
        agent = page.context.browser.new_page()  # type: ignore[union-attr]
        log_in_agent(agent, base, username)
        agent.get_by_role("button", name="Start working").first.click()
        heading = agent.get_by_role("heading", level=1)
        for n in range(count):
            if worked and n:
                expect(heading).not_to_have_text(worked[-1])  # the next customer is in
            expect(heading).to_contain_text("AS")
            worked.append(heading.inner_text())
            agent.get_by_text("Ikke svar").click()
            agent.get_by_label("Comment").fill(f"Ringte, {username}")
            if n == count - 1:
                agent.get_by_label("After saving").select_option("my_work")
            agent.get_by_role("button", name="Save").click()
        expect(agent.get_by_role("button", name="Start working").first).to_be_visible()
        agent.close()
    assert sorted(worked) == ["Fjordkraft Bygg AS", "Nordlys Handel AS", "Vestland IT AS"]
    assert Event.objects.filter(customer__import_batch=batch).count() == 3
    assert Placement.objects.filter(customer__import_batch=batch, attempts=1).count() == 3

    # The registrations out, as the client's spreadsheet, from the reports.
    today = timezone.localdate().isoformat()
    page.goto(f"{base}/reports/activity/?start={today}&end={today}")
    page.get_by_role("link", name="Eksporter registreringene …").click()
    expect(page.get_by_text("3 registreringer passer.")).to_be_visible()
    page.get_by_label("XLSX: en Excel-arbeidsbok").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Eksporter", exact=True).click()
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    rows = list(book["Registreringer"].iter_rows(values_only=True))
    header, lines = rows[0], [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert len(lines) == 3 and "Registrert av" in header
    assert sorted(line["Registrert av"] for line in lines) == [
        "Kari Nordmann",
        "Kari Nordmann",
        "Ola Hansen",
    ]
    assert {line["Kunde-ID"] for line in lines} == {"9001", "9002", "9003"}
    assert sorted(line["Kommentar"] for line in lines) == [
        "Ringte, agent",
        "Ringte, agent",
        "Ringte, agent2",
    ]
    assert User.objects.get(username="sjef").language == "nb"

    # The day's data checks: no customer lost (rule 10), every report equal to its recount.
    call_command("placements_verify", stdout=io.StringIO())
    call_command("reports_verify", stdout=io.StringIO())
