"""The report pages over HTTP: who may read them, what they show, exports that hold the same
numbers, and a number of queries that does not grow with the events."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from kundeflyt.accounts.models import User
from kundeflyt.reports.exports import ENGLISH_CSV, cell_text
from kundeflyt.reports.selectors import REPORTS, ReportFilter
from tests.reports.history import OSLO, Shop, register

pytestmark = pytest.mark.django_db

PERIOD = {"start": "2025-06-01", "end": "2025-06-30"}
JUNE = ReportFilter(first=dt.date(2025, 6, 1), last=dt.date(2025, 6, 30))


def history(shop: Shop, count: int = 3) -> None:
    """``count`` registrations in June by three agents and a process, in both campaigns."""
    world = shop.world
    outcomes = shop.outcomes()
    people = [world.agent, world.agent2, shop.agent3, None]
    for n in range(count):
        outcome = outcomes[n % len(outcomes)]
        register(
            shop.customers[n % 4],
            campaign=shop.campaign,
            outcome=outcome,
            user=people[n % 4],
            at=dt.datetime(2025, 6, 2 + n % 20, 8 + n % 8, n % 60, tzinfo=OSLO),
            segment=shop.segments[n % 3],
            option=shop.options[n % 2] if outcome == shop.refused else None,
            products=[(shop.products[n % 2], 1 + n % 3, None)],
        )
    register(
        shop.hidden_customer,
        campaign=shop.hidden,
        outcome=shop.outcomes(shop.hidden)[3],
        user=world.agent,
        at=dt.datetime(2025, 6, 3, 10, tzinfo=OSLO),
        products=[(shop.hidden.products.get(), 5, None)],
    )


def get(client: Client, reader: User, report: str, **params: Any) -> Any:
    client.force_login(reader)
    return client.get(reverse("reports:report", args=[report]), {**PERIOD, **params})


def test_without_the_reporting_permission_the_reports_are_closed(
    client: Client, shop: Shop
) -> None:
    response = client.get(reverse("reports:report", args=["activity"]))
    assert response.status_code == 302 and "/login/" in response["Location"]

    client.force_login(shop.world.agent)
    assert client.get(reverse("reports:index")).status_code == 403
    assert client.get(reverse("reports:report", args=["activity"])).status_code == 403
    export = reverse("reports:export", args=["activity", "people", "csv"])
    assert client.get(export).status_code == 403
    assert "Reports" not in client.get(reverse("handling:my_work")).content.decode()


def test_the_menu_leads_supervisors_to_the_reports(client: Client, shop: Shop) -> None:
    client.force_login(shop.lead)
    page = client.get(reverse("reports:index"), follow=True)
    assert page.redirect_chain[-1][0] == reverse("reports:report", args=["activity"])
    assert 'href="/reports/"' in page.content.decode()


def test_each_report_shows_its_tables_with_charts_and_export_links(
    client: Client, shop: Shop
) -> None:
    history(shop, 12)
    for report in REPORTS:
        if report == "calls":  # no calls in this history: tests/telephony/test_calls_report.py
            continue
        response = get(client, shop.boss, report)
        page = response.content.decode()
        assert response.status_code == 200, report
        assert "<svg" in page and "CSV" in page and "XLSX" in page, report
    page = get(client, shop.boss, "activity").content.decode()
    assert "Activity per user" in page and "Kari Nordmann" in page
    assert "Progression rate (%)" in page and "Contacts per hour" in page


def test_without_individual_results_people_are_summed_per_team(client: Client, shop: Shop) -> None:
    history(shop, 12)
    page = get(client, shop.lead, "activity").content.decode()
    assert "Activity per team" in page
    for name in ("Kari Nordmann", "Ola Hansen", "Sara Nilsen"):
        assert name not in page
    assert "Nord" in page and "Sør" in page and "No team" in page
    assert 'name="user"' not in page  # no filter on a named user either

    # A user filter in the address is ignored: it would name one person's results.
    page = get(client, shop.lead, "activity", user=shop.world.agent.pk).content.decode()
    assert "Kari Nordmann" not in page

    client.force_login(shop.lead)
    for fmt in ("csv", "xlsx"):
        url = reverse("reports:export", args=["activity", "people", fmt])
        body = client.get(url, PERIOD).content
        text = body.decode("utf-8-sig") if fmt == "csv" else str(read_xlsx(body))
        assert "Kari Nordmann" not in text and "Nord" in text


def test_revenue_is_shown_and_exported_only_with_the_revenue_permission(
    client: Client, shop: Shop
) -> None:
    history(shop, 12)
    assert "Revenue" in get(client, shop.boss, "products").content.decode()
    page = get(client, shop.lead, "products").content.decode()
    assert "Revenue" not in page and "NOK" not in page
    client.force_login(shop.lead)
    for table in ("products", "people", "campaigns"):
        body = client.get(reverse("reports:export", args=["products", table, "csv"]), PERIOD)
        assert "Revenue" not in body.content.decode("utf-8-sig")


def test_campaigns_the_user_may_not_see_are_neither_counted_nor_offered(
    client: Client, shop: Shop
) -> None:
    history(shop, 4)
    page = get(client, shop.boss, "products").content.decode()
    assert "Skjult" not in page
    outcomes = get(client, shop.boss, "activity").content.decode()
    assert "Skjult oppdrag" not in outcomes

    response = get(client, shop.boss, "activity", campaign=shop.hidden.pk)
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    export = client.get(
        reverse("reports:export", args=["activity", "people", "csv"]),
        {**PERIOD, "campaign": shop.hidden.pk},
    )
    assert export.status_code == 400 and b"campaign" in export.content


def test_a_period_that_ends_before_it_starts_is_refused(client: Client, shop: Shop) -> None:
    response = get(client, shop.boss, "activity", start="2025-06-30", end="2025-06-01")
    assert response.status_code == 400
    assert "The period ends before it starts." in response.content.decode()


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def read_xlsx(body: bytes) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def as_xlsx(value: Any) -> Any:
    if value in ("", None):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time.min)
    return value


def test_every_table_exports_to_csv_and_xlsx_with_the_numbers_of_the_page(
    client: Client, shop: Shop
) -> None:
    history(shop, 16)
    client.force_login(shop.boss)
    for key, build in REPORTS.items():
        report = build(shop.boss, JUNE)
        for table in report.tables:
            lines = [[c.label for c in table.columns], *table.rows]
            if table.total is not None:
                lines.append(table.total)

            url = reverse("reports:export", args=[key, table.key, "csv"])
            response = client.get(url, PERIOD)
            assert response["Content-Type"].startswith("text/csv")
            assert "attachment" in response["Content-Disposition"]
            assert read_csv(response.content) == [
                [cell_text(v, ENGLISH_CSV) for v in line] for line in lines
            ]

            url = reverse("reports:export", args=[key, table.key, "xlsx"])
            xlsx = read_xlsx(client.get(url, PERIOD).content)
            assert xlsx == [[as_xlsx(v) for v in line] for line in lines], (key, table.key)
    assert (
        client.get(reverse("reports:export", args=["activity", "nope", "csv"])).status_code == 404
    )


@pytest.mark.parametrize("report", list(REPORTS))
def test_the_number_of_queries_does_not_grow_with_the_events(
    client: Client, shop: Shop, report: str
) -> None:
    client.force_login(shop.boss)
    url = reverse("reports:report", args=[report])
    history(shop, 6)  # every outcome once: each table has rows
    client.get(url, PERIOD)  # the configuration, cached
    with CaptureQueriesContext(connection) as few:
        assert client.get(url, PERIOD).status_code == 200
    history(shop, 300)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url, PERIOD).status_code == 200
    assert len(many) == len(few)
    assert len(few) <= 25


def test_the_reports_speak_norwegian(client: Client, shop: Shop) -> None:
    history(shop, 6)
    User.objects.filter(pk=shop.boss.pk).update(language="nb")
    shop.boss.refresh_from_db()
    page = get(client, shop.boss, "activity").content.decode()
    assert "Rapporter" in page and "Aktivitet per bruker" in page and "Progresjonsrate" in page
    assert "Activity per user" not in page
