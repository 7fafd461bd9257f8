"""A supervisor hands the client June's registrations in Chromium: opens the export page,
chooses the period, sees how many match, downloads the CSV (in Norwegian: semicolons,
decimal comma, dd.mm.yyyy) and the XLSX, and reads them back."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from kundeflyt.accounts.models import User
from tests.exports.conftest import History, history  # noqa: F401 - the fixture
from tests.reports.history import shop  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_a_supervisor_downloads_the_registrations_of_june_and_reads_them_back(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
    history: History,  # noqa: F811
) -> None:
    boss = history.shop.boss
    base = live_server.url
    log_in(page, base, "boss")

    page.goto(f"{base}/exports/registrations/")
    expect(page.get_by_role("heading", name="Export registrations")).to_be_visible()
    page.get_by_label("From").fill("2025-06-01")
    page.get_by_label("To", exact=True).fill("2025-06-30")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("8 registrations match.")).to_be_visible()

    page.get_by_label("XLSX: an Excel workbook").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export").click()
    assert download.value.suggested_filename == "kundeflyt-registrations-20250601-20250630.xlsx"
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    sheet = book["Registrations"]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 9 and rows[0][:2] == ("Registration", "Registered")
    assert [r[0] for r in rows[1:]] == [e.pk for e in history.events]
    assert rows[1][1] == dt.datetime(2025, 6, 2, 10, 15)

    # The same in Norwegian, as CSV: what Norwegian Excel opens with a double click.
    User.objects.filter(pk=boss.pk).update(language="nb")
    page.goto(f"{base}/exports/registrations/?start=2025-06-01&end=2025-06-30")
    expect(page.get_by_text("8 registreringer passer.")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Eksporter").click()
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header, sale = lines[0], dict(zip(lines[0], lines[1], strict=True))
    assert header[:4] == ["Registrering", "Registrert", "Registrert av", "Teller for"]
    assert sale["Registrert"] == "02.06.2025 10:15:00"
    assert sale["Registrert av"] == "Kari Nordmann"
    assert sale["Verdi"] == "99,95" and sale["Forbruk (kWh)"] == "12,5"
    assert sale["Produkter"] == "2 × Fastpris @ 49,90; 1 × Spotpris @ 0,15"
    assert [int(line[0]) for line in lines[1:]] == [e.pk for e in history.events]
