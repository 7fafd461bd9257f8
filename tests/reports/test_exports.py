"""CSV exports open right with a double click in the spreadsheet of the user's language:
Norwegian Excel wants semicolons between fields, a decimal comma and dd.mm.yyyy dates; English
keeps commas, decimal points and ISO dates. Both start with a byte-order mark for æ, ø and å."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from kundeflyt.accounts.models import User
from kundeflyt.reports.exports import ENGLISH_CSV, NORWEGIAN_CSV, cell_text, csv_style
from tests.reports.history import OSLO, Shop, register

pytestmark = pytest.mark.django_db

BOM = "\ufeff".encode()
MIDSUMMER = {"start": "2025-06-23", "end": "2025-06-23"}


def eight_outcomes_by_ase(shop: Shop) -> None:
    """Åse Bjørnæs of team Sør registers eight outcomes in one hour on 23 June in the campaign
    “Strøm bedrift”, one of them progressive: a progression rate of 12.5 %, 8.0 an hour."""
    ase = shop.world.agent2
    User.objects.filter(pk=ase.pk).update(first_name="Åse", last_name="Bjørnæs")
    sold, no_answer = shop.world.outcome("sold"), shop.world.outcome("no_answer")
    assert sold.is_progressive and not no_answer.is_progressive
    for n in range(8):
        register(
            shop.customers[n % 4],
            campaign=shop.campaign,
            outcome=sold if n == 0 else no_answer,
            user=ase,
            at=dt.datetime(2025, 6, 23, 10, 5 * n, tzinfo=OSLO),
        )


def speaks(user: User, language: str) -> None:
    User.objects.filter(pk=user.pk).update(language=language)


def export(client: Client, reader: User, table: str, delimiter: str) -> list[list[str]]:
    """The activity table ``table`` as ``reader`` downloads it, read back with ``delimiter``."""
    client.force_login(reader)
    body = client.get(reverse("reports:export", args=["activity", table, "csv"]), MIDSUMMER)
    assert body.status_code == 200
    assert body.content.startswith(BOM)
    return list(csv.reader(io.StringIO(body.content.decode("utf-8-sig")), delimiter=delimiter))


@pytest.mark.parametrize(
    ("language", "delimiter", "user", "rate", "per_hour", "day"),
    [
        ("nb", ";", "Bruker", "12,5", "8,0", "23.06.2025"),
        ("en", ",", "User", "12.5", "8.0", "2025-06-23"),
    ],
)
def test_csv_opens_right_in_the_spreadsheet_of_the_users_language(
    client: Client,
    shop: Shop,
    language: str,
    delimiter: str,
    user: str,
    rate: str,
    per_hour: str,
    day: str,
) -> None:
    eight_outcomes_by_ase(shop)
    speaks(shop.boss, language)

    people = export(client, shop.boss, "people", delimiter)
    days = export(client, shop.boss, "days", delimiter)

    header, ase, total = people
    assert header[0] == user and len(header) == 8
    assert ase == ["Åse Bjørnæs", "Sør", "8", "7", "1", rate, "1", per_hour]
    assert total[2:] == ase[2:]
    assert days[1] == [day, "8", "7", "1", rate, "1", per_hour]
    for rows in (people, days):
        assert {len(row) for row in rows} == {len(rows[0])}  # no field split at a decimal comma


def test_the_language_cookie_chooses_the_csv_style_as_it_chooses_the_language(
    client: Client, shop: Shop
) -> None:
    eight_outcomes_by_ase(shop)
    speaks(shop.boss, "nb")
    client.cookies["django_language"] = "en"

    header, row, _ = export(client, shop.boss, "days", ",")

    assert header[0] == "Day" and row[0] == "2025-06-23" and row[4] == "12.5"


def test_cell_text_writes_numbers_and_dates_as_each_language_reads_them() -> None:
    nb, en = csv_style("nb"), csv_style("en")
    assert (nb, en) == (NORWEGIAN_CSV, ENGLISH_CSV)
    for value, norwegian, english in [
        (1234567, "1234567", "1234567"),
        (Decimal("12.5"), "12,5", "12.5"),
        (Decimal("1234567.80"), "1234567,80", "1234567.80"),
        (Decimal("-0.1"), "-0,1", "-0.1"),
        (12.5, "12,5", "12.5"),
        (0.00001, "0,00001", "0.00001"),
        (dt.date(2025, 6, 3), "03.06.2025", "2025-06-03"),
        (None, "", ""),
        ("Ærlig talt; «ja»", "Ærlig talt; «ja»", "Ærlig talt; «ja»"),
    ]:
        assert cell_text(value, nb) == norwegian, value
        assert cell_text(value, en) == english, value
