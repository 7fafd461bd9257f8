"""A supervisor reads the reports in Chromium: opens them from the menu, chooses a period,
sees the chart and downloads a table as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

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
