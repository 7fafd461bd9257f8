"""A supervisor exports the customers of a campaign list: every information field of the CRM
with its label as header, where each customer stands, read back equal to the database in
CSV (Norwegian and English) and XLSX; only among what they may see, and only with the
permissions a list of many people's personal data needs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.common.phones import display_phone
from kundeflyt.crm.models import Customer, FieldDefinition
from kundeflyt.crm.services import customer_create
from kundeflyt.handling.models import Placement
from kundeflyt.handling.services import (
    customer_add,
    customer_select,
    follow_up_set,
    outcome_register,
)
from tests.exports.conftest import download, read_csv, read_xlsx, speaks
from tests.factories import CampaignFactory, CRMFactory, UserFactory
from tests.reports.history import OSLO
from tests.world import SETUP, World

pytestmark = pytest.mark.django_db

FOLLOW_UP = dt.datetime(dt.date.today().year + 1, 3, 4, 10, 30)  # in Oslo


@pytest.fixture
def customers(world: World) -> list[Customer]:
    """Four customers of “Strøm bedrift” with every kind of information field filled in."""
    crm = world.crm
    FieldDefinition.objects.create(crm=crm, key="founded", label="Stiftet", type="date")
    FieldDefinition.objects.create(crm=crm, key="vip", label="VIP", type="checkbox")
    FieldDefinition.objects.create(
        crm=crm, key="wants", label="Ønsker", type="multichoice", choices=["Strøm", "Gass"]
    )
    FieldDefinition.objects.create(crm=crm, key="switchboard", label="Sentralbord", type="phone")
    FieldDefinition.objects.create(crm=crm, key="postcode", label="Postnr", type="digits")

    def add(customer_id: str, **values: Any) -> Customer:
        return customer_add(SETUP, campaign=world.campaign, customer_id=customer_id, **values)

    found = [
        add(
            "K-1",
            segment=world.hot,
            name="Ærlig Østby AS",
            phone1="912 34 567",
            phone2="+46 8 123 456 78",
            email="post@ostby.no",
            fields={
                "org_number": "923609016",
                "employees": 42,
                "industry": "Bygg",
                "founded": "01.02.1999",
                "vip": True,
                "wants": ["Strøm", "Gass"],
                "switchboard": "22 33 44 55",
                "postcode": "0150",
            },
        ),
        add("K-2", segment=world.cold, name="Handel & Co", fields={"employees": "12.75"}),
        add("K-3", name="Uten segment"),
        add("K-4", segment=world.hot, name="Bare navn"),
    ]
    follow_up_set(
        world.supervisor,
        customer_id=found[1].pk,
        follow_up_at=FOLLOW_UP.replace(tzinfo=OSLO),
        responsible=world.agent,
    )
    selection = customer_select(world.agent, customer_id=found[3].pk)
    outcome_register(
        world.agent,
        customer_id=found[3].pk,
        token=selection.token,
        outcome_id=world.outcome("no_answer").pk,
    )
    return found


def text(value: Any, language: str) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        fmt = "%d.%m.%Y %H:%M:%S" if language == "nb" else "%Y-%m-%d %H:%M:%S"
        return value.astimezone(OSLO).strftime(fmt)
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y" if language == "nb" else "%Y-%m-%d")
    if isinstance(value, Decimal):
        return str(value).replace(".", "," if language == "nb" else ".")
    return str(value)


def expected(customer: Customer, language: str) -> list[str]:
    """The row of ``customer`` in column order, read with the ORM and written here."""
    customer.refresh_from_db()
    p = Placement.objects.select_related("campaign", "segment", "state", "follow_up_user").get(
        customer=customer
    )
    f = customer.fields
    yes, no = ("Ja", "Nei") if language == "nb" else ("Yes", "No")
    employees = f.get("employees")
    founded = f.get("founded")
    responsible = str(p.follow_up_user) if p.follow_up_user else ""
    return [
        customer.customer_id,
        customer.name,
        *[_national(n) for n in (customer.phone1, customer.phone2, customer.phone3)],
        customer.email,
        f.get("org_number") or "",
        text(Decimal(str(employees)) if employees is not None else None, language),
        f.get("industry") or "",
        text(dt.date.fromisoformat(founded) if founded else None, language),
        (yes if f.get("vip") else no) if "vip" in f and f["vip"] is not None else "",
        ", ".join(f.get("wants") or []),
        _national(f.get("switchboard") or ""),
        f.get("postcode") or "",
        p.campaign.name,
        p.segment.name if p.segment else "",
        p.state.name,
        text(p.state_since, language),
        text(p.follow_up_at, language),
        responsible,
        str(p.attempts),
        text(p.last_attempt_at, language),
        yes if customer.is_blocked else no,
        text(customer.created_at, language),
        "Manuell" if language == "nb" else "Manual",
    ]


def _national(e164: str) -> str:
    """What the card shows: national format for a Norwegian number, international for a
    Swedish one, which starts like a formula in a CSV and is quoted."""
    shown = display_phone(e164)
    return "'" + shown if shown.startswith("+") else shown


@pytest.mark.parametrize(("language", "delimiter"), [("en", ","), ("nb", ";")])
def test_a_campaign_list_reads_back_equal_to_the_database(
    client: Client, world: World, customers: list[Customer], language: str, delimiter: str
) -> None:
    speaks(world.supervisor, language)

    body = download(
        client, world.supervisor, "customers", {"campaign": world.campaign.pk, "format": "csv"}
    )

    rows = read_csv(body, delimiter)
    header = list(rows[0])
    assert header[:6] == (
        ["Customer id", "Name", "Phone", "Phone 2", "Phone 3", "E-mail"]
        if language == "en"
        else ["Kunde-ID", "Navn", "Telefon", "Telefon 2", "Telefon 3", "E-post"]
    )
    assert header[6:14] == [
        "Org.nr.", "Ansatte", "Bransje", "Stiftet", "VIP", "Ønsker", "Sentralbord", "Postnr"
    ]  # fmt: skip
    by_id = {r[header[0]]: list(r.values()) for r in rows}
    assert by_id == {c.customer_id: expected(c, language) for c in customers}


def test_an_xlsx_keeps_numbers_as_numbers_and_dates_as_dates(
    client: Client, world: World, customers: list[Customer]
) -> None:
    body = download(
        client, world.supervisor, "customers", {"campaign": world.campaign.pk, "format": "xlsx"}
    )

    rows = {r["Customer id"]: r for r in read_xlsx(body)["Customers"]}
    first, second = rows["K-1"], rows["K-2"]
    assert first["Phone"] == display_phone("+4791234567") != "+4791234567"
    assert first["Ansatte"] == 42 and second["Ansatte"] == 12.75
    assert first["Stiftet"] == dt.datetime(1999, 2, 1)  # a date cell (openpyxl reads datetime)
    assert first["Phone 2"] == "+46 8 123 456 78"  # a string cell: no quote needed in XLSX
    assert first["Postnr"] == "0150"  # digits that may start with 0 stay text
    assert second["Follow-up"] == FOLLOW_UP  # Oslo time
    assert second["Follow-up responsible"] == "Kari Nordmann"
    assert rows["K-4"]["Attempts"] == 1


def test_the_list_filters_choose_the_customers(
    client: Client, world: World, customers: list[Customer]
) -> None:
    def ids(**filters: Any) -> set[str]:
        data = {"campaign": world.campaign.pk, "format": "csv", **filters}
        rows = read_csv(download(client, world.supervisor, "customers", data), ",")
        return {r["Customer id"] for r in rows}

    assert ids(segment=world.hot.pk) == {"K-1", "K-4"}
    assert ids(segment="none") == {"K-3"}
    assert ids(follow_up="later") == {"K-2"}
    assert ids(responsible=world.agent.pk) == {"K-2"}
    assert ids(q="Østby") == {"K-1"}
    assert ids(field="employees", op="range", low="40", high="50") == {"K-1"}
    assert ids(field="industry", op="equals", value="Bygg") == {"K-1"}


def test_the_page_shows_the_count_and_keeps_the_lists_other_filters(
    client: Client, world: World, customers: list[Customer]
) -> None:
    client.force_login(world.supervisor)

    page = client.get(
        reverse("exports:customers"),
        {"campaign": world.campaign.pk, "segment": world.hot.pk, "q": "Østby"},
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert "1 customer matches." in html
    assert 'name="q" value="Østby"' in html  # kept for the next “Show” and for the export
    assert "Strøm bedrift · Varme" in html


@pytest.mark.parametrize(
    ("perms", "status"),
    [
        ([Perm.CUSTOMER_HANDLING], 403),  # an agent works customers one at a time
        ([Perm.REPORTING], 403),  # no customer handling: no customer lists at all
        ([Perm.CUSTOMER_HANDLING, Perm.REPORTING], 200),
        ([Perm.CUSTOMER_HANDLING, Perm.EXTENDED_CUSTOMER_HANDLING], 200),
    ],
)
def test_a_customer_export_needs_customer_handling_and_extended_handling_or_reporting(
    client: Client, world: World, customers: list[Customer], perms: list[Perm], status: int
) -> None:
    user = UserFactory(perms=perms)
    world.crm.data_owner.users.add(user)
    client.force_login(User.objects.get(pk=user.pk))

    page = client.get(reverse("exports:customers"), {"campaign": world.campaign.pk})
    posted = client.post(
        reverse("exports:customers"), {"campaign": world.campaign.pk, "format": "csv"}
    )

    assert page.status_code == status
    assert posted.status_code == status
    assert posted.has_header("Content-Disposition") == (status == 200)


def test_another_data_owners_campaign_gives_nothing(
    client: Client, world: World, customers: list[Customer]
) -> None:
    other = CampaignFactory(crm=CRMFactory(name="Annen"), name="Annen eiers kampanje")
    customer_add(SETUP, campaign=other, customer_id="S-1", name="Skjult kunde")
    client.force_login(world.supervisor)

    page = client.get(reverse("exports:customers"), {"campaign": other.pk})
    posted = client.post(reverse("exports:customers"), {"campaign": other.pk, "format": "csv"})
    mine = download(
        client, world.supervisor, "customers", {"campaign": world.campaign.pk, "format": "csv"}
    )

    assert page.status_code == 404
    assert posted.status_code == 302 and not posted.has_header("Content-Disposition")
    assert b"Skjult" not in mine


def test_a_campaign_not_open_to_the_user_gives_nothing(
    client: Client, world: World, customers: list[Customer]
) -> None:
    world.campaign.visible_to_all = False
    world.campaign.save()
    client.force_login(world.supervisor)

    page = client.get(reverse("exports:customers"), {"campaign": world.campaign.pk})

    assert page.status_code == 404


def test_a_data_owners_crm_page_exports_its_customers_in_no_campaign_too(
    client: Client, world: World, customers: list[Customer]
) -> None:
    nowhere = customer_create(SETUP, crm=world.crm, customer_id="N-1", name="Uplassert")
    other = CampaignFactory(crm=CRMFactory(name="Annen"), name="Annen eiers kampanje")
    customer_add(SETUP, campaign=other, customer_id="S-1", name="Skjult kunde")

    def ids(**filters: Any) -> set[str]:
        data = {"crm": world.crm.pk, "format": "csv", **filters}
        rows = read_csv(download(client, world.supervisor, "customers", data), ",")
        return {r["Customer id"] for r in rows}

    assert ids() == {"K-1", "K-2", "K-3", "K-4", "N-1"}
    assert ids(campaign="none") == {nowhere.customer_id}
    assert ids(field="industry", op="equals", value="Bygg") == {"K-1"}
    page = client.get(reverse("exports:customers"), {"crm": world.crm.pk, "campaign": "none"})
    assert "1 customer matches." in page.content.decode()
    assert reverse("handling:crm_customers", args=[world.crm.pk]) + "?campaign=none" in (
        page.content.decode()
    )
    assert client.get(reverse("exports:customers"), {"crm": other.crm_id}).status_code == 404


def test_the_lists_and_the_reports_link_to_their_export_with_their_filters(
    client: Client, world: World, customers: list[Customer]
) -> None:
    client.force_login(world.supervisor)
    export = reverse("exports:customers")

    campaign_list = client.get(
        reverse("handling:campaign_customers", args=[world.campaign.pk]),
        {"segment": world.hot.pk, "q": "Østby"},
    ).content.decode()
    crm_page = client.get(
        reverse("handling:crm_customers", args=[world.crm.pk]), {"campaign": "none"}
    ).content.decode()
    reports = client.get(
        reverse("reports:index"), {"start": "2025-06-01", "end": "2025-06-30"}, follow=True
    )

    assert f"{export}?campaign={world.campaign.pk}&amp;segment={world.hot.pk}&amp;q=" in (
        campaign_list
    )
    assert f"{export}?crm={world.crm.pk}&amp;campaign=none" in crm_page
    followed = client.get(f"{export}?crm={world.crm.pk}&campaign=none").content.decode()
    assert "0 customers match." in followed or "No customer matches" in followed
    assert reverse("exports:registrations") + "?start=2025-06-01&amp;end=2025-06-30" in (
        reports.content.decode()
    )
    assert 'aria-current="page">Export<' in followed
