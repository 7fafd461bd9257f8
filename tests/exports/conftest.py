"""A history to export: the report tests' shop (two teams, options, products, a meeting
outcome, a reporting boss and lead, another data owner's campaign) with registrations of
every kind in June 2025, and helpers that download an export and read it back."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from kundeflyt.accounts.models import User
from kundeflyt.campaigns.models import ExtraField
from kundeflyt.crm.models import Customer
from kundeflyt.handling.models import Event, Meeting, ProductLine
from tests.reports.history import OSLO, Shop, correct, reattribute, register, set_included
from tests.reports.history import shop as shop

JUNE = {"start": "2025-06-01", "end": "2025-06-30"}


@dataclass
class History:
    shop: Shop
    events: list[Event]  # in June, in the world's campaign, in the order of registration
    hidden: Event  # another data owner's campaign
    july: Event  # outside the period


def at(day: int, hour: int, minute: int = 0, month: int = 6) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=OSLO)


@pytest.fixture
def history(shop: Shop) -> History:
    world = shop.world
    campaign = shop.campaign
    sold, refused = world.outcome("sold"), shop.refused
    no_answer = world.outcome("no_answer")
    ExtraField.objects.create(
        campaign=campaign,
        applies_to=ExtraField.AppliesTo.OUTCOME,
        outcome=sold,
        key="contract",
        label="Kontraktnr",
        type="text",
    )
    ExtraField.objects.create(
        campaign=campaign,
        applies_to=ExtraField.AppliesTo.OUTCOME,
        outcome=sold,
        key="kwh",
        label="Forbruk (kWh)",
        type="number",
        position=1,
    )
    ExtraField.objects.create(
        campaign=campaign,
        applies_to=ExtraField.AppliesTo.PRODUCT,
        key="meter",
        label="Målernr",
        type="digits",
    )
    c = shop.customers
    Customer.objects.filter(pk=c[0].pk).update(name="Ærlig Østby; «AS»")
    sale = register(
        c[0],
        campaign=campaign,
        outcome=sold,
        user=world.agent,
        at=at(2, 10, 15),
        segment=world.hot,
        products=[(shop.products[0], 2, None), (shop.products[1], 1, Decimal("0.15"))],
    )
    Event.objects.filter(pk=sale.pk).update(
        comment="Vil ha faktura, «ja»; ring etter 16",
        extra_values={"contract": "K-17", "kwh": 12.5},
    )
    ProductLine.objects.filter(event=sale, product=shop.products[0]).update(
        extra_values={"meter": "0123"}
    )
    no = register(
        c[1],
        campaign=campaign,
        outcome=refused,
        user=world.agent2,
        at=at(3, 14),
        option=shop.options[1],
    )
    Event.objects.filter(pk=no.pk).update(comment="For dyrt")
    meeting = register(
        c[2], campaign=campaign, outcome=shop.meeting, user=world.agent, at=at(3, 15)
    )
    Meeting.objects.filter(event=meeting).update(place="Storgata 1, Oslo", with_whom="Per Daglig")
    by_process = register(c[3], campaign=campaign, outcome=no_answer, user=None, at=at(4, 9))
    wrong = register(c[3], campaign=campaign, outcome=no_answer, user=world.agent2, at=at(4, 11))
    right = correct(wrong, by=world.supervisor, outcome=sold, at=at(5, 12), as_original=True)
    left_out = register(c[1], campaign=campaign, outcome=no_answer, user=world.agent, at=at(6, 9))
    set_included(left_out, False)
    moved = register(c[2], campaign=campaign, outcome=no_answer, user=world.agent, at=at(6, 23, 30))
    reattribute(moved, user=shop.agent3, at=at(7, 8))
    hidden = register(
        shop.hidden_customer,
        campaign=shop.hidden,
        outcome=shop.hidden.flow.outcomes.get(key="sold"),
        user=None,
        at=at(10, 10),
    )
    july = register(
        c[0], campaign=campaign, outcome=no_answer, user=world.agent, at=at(1, 10, 0, 7)
    )
    events = [sale, no, meeting, by_process, wrong, right, left_out, moved]
    return History(shop, [Event.objects.get(pk=e.pk) for e in events], hidden, july)


# --- Downloading and reading back ----------------------------------------------------------------


def speaks(user: User, language: str) -> None:
    User.objects.filter(pk=user.pk).update(language=language)


def download(client: Client, reader: User, kind: str, data: dict[str, Any]) -> bytes:
    """The export as ``reader`` downloads it from the export page (a POST of its form)."""
    client.force_login(User.objects.get(pk=reader.pk))
    response = client.post(reverse(f"exports:{kind}"), data)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Disposition"].startswith("attachment;")
    # Read to the end: the test client then closes the response (a close of our own would
    # also close the database connection, which PostgreSQL's test transaction needs).
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return body


def read_csv(body: bytes, delimiter: str) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=delimiter))
    header = rows[0]
    assert len(set(header)) == len(header), header
    assert {len(r) for r in rows} == {len(header)}  # no cell split at a decimal comma
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


def read_xlsx(body: bytes) -> dict[str, list[dict[str, Any]]]:
    """Every sheet as rows keyed by the header; the cells as openpyxl reads them."""
    book = load_workbook(io.BytesIO(body))
    sheets = {}
    for sheet in book.worksheets:
        rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
        header = rows[0]
        sheets[sheet.title] = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    return sheets


def cells(body: bytes) -> list[Any]:
    """Every cell of every sheet (openpyxl cells, with their type and style)."""
    book = load_workbook(io.BytesIO(body))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
