"""A supervisor reads the reports in Chromium: opens them from the menu, chooses a period,
sees the chart and downloads a table as CSV; in Norwegian, over a long period, the chart's day
labels stay apart and the CSV opens in Norwegian Excel."""

from __future__ import annotations

import csv
import datetime as dt
import io
from itertools import pairwise
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kundeflyt.accounts.models import User
from tests.reports.history import OSLO, Shop, register, shop  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_supervisor_filters_a_period_sees_the_chart_and_downloads_csv(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
    shop: Shop,  # noqa: F811
) -> None:
    world = shop.world
    for n, (user, day) in enumerate(
        [(world.agent, 2), (world.agent, 3), (world.agent2, 3), (world.agent, 20)]
    ):
        register(
            shop.customers[n],
            campaign=shop.campaign,
            outcome=world.outcome("sold" if n % 2 else "no_answer"),
            user=user,
            at=dt.datetime(2025, 6, day, 10, 15, tzinfo=OSLO),
            products=[(shop.products[0], 2, None)],
        )
    base = live_server.url

    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()

    page.get_by_label("From").fill("2025-06-01")
    page.get_by_label("To", exact=True).fill("2025-06-10")
    page.get_by_role("button", name="Show").click()

    people = page.locator("section", has=page.get_by_role("heading", name="Activity per user"))
    expect(people.get_by_role("img", name="Activity per user")).to_be_visible()
    expect(people.locator("tbody tr")).to_have_count(2)
    expect(people.locator("tfoot")).to_contain_text("3")  # the event of 20 June is outside
    expect(people.locator("tbody")).to_contain_text("Kari Nordmann")

    with page.expect_download() as download:
        people.get_by_role("link", name="CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["User", "Team", "Outcomes"]
    assert {r[0]: r[2] for r in rows[1:]} == {"Kari Nordmann": "2", "Ola Hansen": "1", "Total": "3"}
    assert download.value.suggested_filename == "kundeflyt-activity-people-20250601-20250610.csv"

    page.get_by_role("link", name="Products", exact=True).click()
    products = page.locator("section", has=page.get_by_role("heading", name="Products", exact=True))
    expect(products.get_by_role("img")).to_be_visible()
    expect(products.locator("tbody")).to_contain_text("Fastpris")


def test_a_norwegian_supervisor_reads_a_long_period_and_opens_its_csv_in_norwegian(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
    shop: Shop,  # noqa: F811
) -> None:
    world = shop.world
    User.objects.filter(pk=shop.boss.pk).update(language="nb")
    first = dt.date(2025, 4, 1)
    for n in range(90):  # a registration every day for 90 days, every eighth one progressive
        register(
            shop.customers[n % 4],
            campaign=shop.campaign,
            outcome=world.outcome("sold" if n % 8 == 0 else "no_answer"),
            user=world.agent,
            at=dt.datetime.combine(first + dt.timedelta(days=n), dt.time(10), tzinfo=OSLO),
        )
    base = live_server.url
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/reports/activity/?start=2025-04-01&end=2025-06-29")

    days = page.locator("section", has=page.get_by_role("heading", name="Aktivitet per dag"))
    chart = days.get_by_role("img", name="Aktivitet per dag")
    expect(chart).to_be_visible()
    # The day labels as Chromium draws them: the bottom row of axis texts, left to right.
    boxes = chart.evaluate(
        """svg => {
            const texts = [...svg.querySelectorAll("text.chart-axis")];
            const bottom = Math.max(...texts.map(t => t.y.baseVal[0].value));
            return texts.filter(t => t.y.baseVal[0].value === bottom).map(t => {
                const box = t.getBBox();
                return [t.textContent, box.x, box.x + box.width];
            }).sort((a, b) => a[1] - b[1]);
        }"""
    )
    width = chart.evaluate("svg => svg.viewBox.baseVal.width")
    assert boxes[0][0] == "01.04.2025" and boxes[-1][0] == "29.06.2025"
    assert len(boxes) >= 5
    for (text, _, right), (following, left, _) in pairwise(boxes):
        assert right < left, f"{text} runs into {following}"
    assert boxes[0][1] >= 0 and boxes[-1][2] <= width

    with page.expect_download() as download:
        days.get_by_role("link", name="CSV").click()
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Dag", "Utfall"]
    assert rows[1][:2] == ["01.04.2025", "1"] and rows[1][4] == "100,0"
    assert rows[-1][0] == "Totalt" and rows[-1][1:5] == ["90", "78", "12", "13,3"]
