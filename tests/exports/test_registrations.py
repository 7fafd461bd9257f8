"""A supervisor hands the client the registrations of June as a spreadsheet: one row per
registration, read back equal to the database in CSV (Norwegian and English) and XLSX, with
the columns the reader's permissions allow and nothing of another data owner."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.exports.models import Export
from kundeflyt.handling.models import Event
from tests.exports.conftest import JUNE, History, download, read_csv, read_xlsx, speaks
from tests.factories import UserFactory
from tests.reports.history import OSLO, register

pytestmark = pytest.mark.django_db

NB = {"delimiter": ";", "decimal": ",", "time": "%d.%m.%Y %H:%M:%S"}
EN = {"delimiter": ",", "decimal": ".", "time": "%Y-%m-%d %H:%M:%S"}


def text(value: Any, style: dict[str, str]) -> str:
    """A value as the reader's spreadsheet should read it, written here independently."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(OSLO).strftime(style["time"])
    if isinstance(value, Decimal | float):
        return str(value).replace(".", style["decimal"])
    return str(value)


def name(user: User | None, individual: bool) -> str:
    if user is None:
        return ""
    if individual:
        return user.get_full_name() or user.username
    return user.team.name if user.team else "No team"


def expected(e: Event, style: dict[str, str], *, individual: bool, revenue: bool) -> dict:
    """What the export's row of ``e`` must say, read from the rows with the ORM."""
    lines = list(e.product_lines.select_related("product").order_by("pk"))
    meeting = e.meetings.filter(deleted_at__isnull=True).first()
    price = "{:.2f}".format
    products = "; ".join(
        f"{line.quantity} × {line.product.name}"
        + (f" @ {price(line.unit_price).replace('.', style['decimal'])}" if revenue else "")
        for line in lines
    )
    corrected_by = Event.objects.filter(corrects=e).first()
    row = {
        "Registration": str(e.pk),
        "Registered": text(e.registered_at, style),
        ("Registered by" if individual else "Team (registered by)"): (
            name(e.actor_user, individual) if e.actor_user else f"process: {e.actor_process}"
        ),
        ("Counts for" if individual else "Team (counts for)"): name(e.counts_for_user, individual),
        "Campaign": e.campaign.name,
        "Segment": e.segment.name if e.segment else "",
        "Customer id": e.customer.customer_id,
        "Customer": e.customer.name,
        "State before": e.from_state.name,
        "State after": e.to_state.name,
        "Outcome": e.outcome.name,
        "Outcome option": e.option.label if e.option else "",
        "Comment": e.comment,
        "Kontraktnr": e.extra_values.get("contract", ""),
        "Forbruk (kWh)": text(e.extra_values.get("kwh"), style),
        "Follow-up": text(e.follow_up_at, style),
        "Products": products,
        "Quantity": str(sum(line.quantity for line in lines)) if lines else "",
        "Meeting": text(meeting.starts_at if meeting else None, style),
        "Meeting place": meeting.place if meeting else "",
        "Meeting with": meeting.with_whom if meeting else "",
        "Corrects registration": str(e.corrects_id or ""),
        "Corrected by registration": str(corrected_by.pk if corrected_by else ""),
        "Included in reports": "Yes" if e.included_in_reports else "No",
        "Counts at": text(e.counts_at, style),
        "Counts in reports": "Yes" if e.counts_in_reports else "No",
    }
    if revenue:
        total = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
        row["Value"] = text(total, style) if lines else ""
        row["Currency"] = lines[0].currency if lines else ""
    return row


@pytest.mark.parametrize("language", ["en", "nb"])
def test_a_csv_reads_back_equal_to_the_database_in_the_readers_language(
    client: Client, history: History, language: str
) -> None:
    boss = history.shop.boss
    speaks(boss, language)
    style = NB if language == "nb" else EN

    rows = read_csv(
        download(client, boss, "registrations", {**JUNE, "format": "csv"}), style["delimiter"]
    )

    assert len(rows) == len(history.events)
    if language == "nb":
        assert list(rows[0])[:3] == ["Registrering", "Registrert", "Registrert av"]
        rows = [_in_english(row) for row in rows]
    for row, event in zip(rows, history.events, strict=True):
        want = expected(event, style, individual=True, revenue=True)
        assert {k: row[k] for k in want} == want


def _in_english(row: dict[str, str]) -> dict[str, str]:
    """A Norwegian row with the English headers and words, to compare with ``expected``."""
    with translation.override("nb"):
        headers = {gettext(h): h for h in HEADERS}
        words = {w: gettext(w) for w in ("Yes", "No")}
        words["process: test"] = gettext("process: %(name)s") % {"name": "test"}
    english = {norwegian: word for word, norwegian in words.items()}
    return {headers.get(k, k): english.get(v, v) for k, v in row.items()}


HEADERS = [
    "Registration",
    "Registered",
    "Registered by",
    "Counts for",
    "Campaign",
    "Segment",
    "Customer id",
    "Customer",
    "State before",
    "State after",
    "Outcome",
    "Outcome option",
    "Comment",
    "Follow-up",
    "Follow-up responsible",
    "Products",
    "Quantity",
    "Value",
    "Currency",
    "Meeting",
    "Meeting place",
    "Meeting with",
    "Corrects registration",
    "Corrected by registration",
    "Included in reports",
    "Counts at",
    "Counts in reports",
]


def test_an_xlsx_reads_back_equal_with_real_numbers_dates_and_a_sheet_of_product_lines(
    client: Client, history: History
) -> None:
    boss = history.shop.boss

    book = read_xlsx(download(client, boss, "registrations", {**JUNE, "format": "xlsx"}))

    registrations, lines = book["Registrations"], book["Product lines"]
    assert [r["Registration"] for r in registrations] == [e.pk for e in history.events]
    sale = registrations[0]
    event = history.events[0]
    assert sale["Registered"] == dt.datetime(2025, 6, 2, 10, 15)  # Oslo time, a real date
    assert sale["Counts at"] == dt.datetime(2025, 6, 2, 10, 15)
    assert sale["Customer"] == "Ærlig Østby; «AS»"
    assert sale["Forbruk (kWh)"] == 12.5 and sale["Kontraktnr"] == "K-17"
    assert sale["Quantity"] == 3
    assert Decimal(str(sale["Value"])) == Decimal("99.95")
    assert sale["Products"] == "2 × Fastpris @ 49.90; 1 × Spotpris @ 0.15"
    assert [
        (r["Registration"], r["Product"], r["Status"], r["Quantity"], r["Unit price"], r["Total"])
        for r in lines
    ] == [
        (event.pk, "Fastpris", "Sold (closed)", 2, 49.9, 99.8),
        (event.pk, "Spotpris", "Sold (closed)", 1, 0.15, 0.15),
    ]
    assert [r["Målernr"] for r in lines] == ["0123", None]
    for row, e in zip(registrations, history.events, strict=True):
        want = expected(e, EN, individual=True, revenue=True)
        assert (row["Outcome"], row["Comment"] or "") == (want["Outcome"], want["Comment"])
        assert str(row["Corrected by registration"] or "") == want["Corrected by registration"]


def test_without_individual_results_people_are_teams_and_without_revenue_no_money(
    client: Client, history: History
) -> None:
    lead = history.shop.lead  # reporting only

    rows = read_csv(download(client, lead, "registrations", {**JUNE, "format": "csv"}), ",")
    book = read_xlsx(download(client, lead, "registrations", {**JUNE, "format": "xlsx"}))

    header = list(rows[0])
    assert "Registered by" not in header and "Counts for" not in header
    assert "Team (registered by)" in header and "Team (counts for)" in header
    assert not {"Value", "Currency"} & set(header)
    for row, event in zip(rows, history.events, strict=True):
        want = expected(event, EN, individual=False, revenue=False)
        assert {k: row[k] for k in want} == want
    assert rows[0]["Products"] == "2 × Fastpris; 1 × Spotpris"
    assert not {"Unit price", "Total", "Currency"} & set(book["Product lines"][0])
    body = download(client, lead, "registrations", {**JUNE, "format": "csv"})
    for person in ("Kari", "Nordmann", "Ola", "Hansen", "Sara"):
        assert person.encode() not in body


def test_another_data_owners_registrations_never_appear_and_its_campaign_gives_nothing(
    client: Client, history: History
) -> None:
    boss = history.shop.boss

    rows = read_csv(download(client, boss, "registrations", {**JUNE, "format": "csv"}), ",")

    assert history.hidden.pk not in {int(r["Registration"]) for r in rows}
    assert history.july.pk not in {int(r["Registration"]) for r in rows}
    recorded = Export.objects.filter(user=boss).count()
    refused = client.post(
        reverse("exports:registrations"),
        {**JUNE, "campaign": history.shop.hidden.pk, "format": "csv"},
    )
    assert refused.status_code == 302  # back to the page, with the reason, and no file
    assert not refused.has_header("Content-Disposition")
    assert Export.objects.filter(user=boss).count() == recorded


def test_the_filters_choose_the_rows(client: Client, history: History) -> None:
    shop = history.shop
    boss = shop.boss

    def ids(**filters: Any) -> list[int]:
        body = download(client, boss, "registrations", {**JUNE, **filters, "format": "csv"})
        return [int(r["Registration"]) for r in read_csv(body, ",")]

    e = history.events
    assert ids(user=shop.world.agent2.pk) == [e[1].pk, e[4].pk]
    assert ids(outcome=shop.refused.pk) == [e[1].pk]
    assert ids(segment=shop.world.hot.pk) == [e[0].pk]
    assert ids(team=shop.north.pk) == [e[0].pk, e[2].pk, e[6].pk, e[7].pk]
    assert ids(start="2025-06-04", end="2025-06-05") == [e[3].pk, e[4].pk, e[5].pk]
    # As the reports count: included and not corrected, by counts for and counts at.
    assert ids(basis="reports") == [e[0].pk, e[1].pk, e[2].pk, e[3].pk, e[5].pk, e[7].pk]
    assert ids(basis="reports", user=shop.agent3.pk) == [e[7].pk]
    assert ids(basis="reports", user=shop.world.agent2.pk) == [e[1].pk, e[5].pk]
    assert ids(basis="reports", start="2025-06-07", end="2025-06-07") == [e[7].pk]


def test_registrations_need_reporting(client: Client, history: History) -> None:
    agent = UserFactory(perms=[Perm.CUSTOMER_HANDLING, Perm.EXTENDED_CUSTOMER_HANDLING])
    history.shop.world.crm.data_owner.users.add(agent)
    client.force_login(agent)

    assert client.get(reverse("exports:registrations")).status_code == 403
    assert client.post(reverse("exports:registrations"), {"format": "csv"}).status_code == 403


def test_the_page_counts_what_it_will_export(client: Client, history: History) -> None:
    client.force_login(history.shop.boss)

    page = client.get(reverse("exports:registrations"), JUNE)

    assert page.status_code == 200
    assert "8 registrations match." in page.content.decode()
    wrong = client.get(reverse("exports:registrations"), {"start": "2025-06-30", "end": "x"})
    assert wrong.status_code == 400


def test_the_number_of_queries_does_not_grow_with_the_rows(
    client: Client, history: History
) -> None:
    """A chunk of two thousand rows asks for its product lines, meetings and names once."""
    shop = history.shop
    client.force_login(shop.boss)

    def queries() -> int:
        client.get(reverse("exports:registrations"))  # the configuration, cached
        with CaptureQueriesContext(connection) as captured:
            response = client.post(reverse("exports:registrations"), {**JUNE, "format": "csv"})
            b"".join(response.streaming_content)  # type: ignore[attr-defined]
        return len(captured.captured_queries)

    few = queries()
    for n in range(40):
        register(
            shop.customers[n % 4],
            campaign=shop.campaign,
            outcome=shop.world.outcome("sold"),
            user=shop.agent3,
            at=dt.datetime(2025, 6, 20, 9, n, tzinfo=OSLO),
            products=[(shop.products[0], 1, None)],
        )

    assert queries() == few
