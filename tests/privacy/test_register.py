"""The Reservasjonsregisteret (DESIGN.md rule 11): loaded from the register's file, every
customer screened, a reserved consumer never presented or taken without a recorded contact
basis, and no consumer called on a register older than a month."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kundeflyt.accounts.permissions import Perm
from kundeflyt.campaigns.models import Campaign
from kundeflyt.common.actors import Process
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.crm.models import CRM, Customer
from kundeflyt.crm.services import customer_update
from kundeflyt.handling.selectors import my_work
from kundeflyt.handling.services import customer_present_next, customer_select
from kundeflyt.privacy.models import RegisterLoad, ReservedNumber
from kundeflyt.privacy.register import contact_basis_set, register_load, register_parse
from tests.conftest import register_loaded
from tests.factories import CampaignFactory, CRMFactory, UserFactory
from tests.world import SETUP, World

pytestmark = pytest.mark.django_db

ADMIN = Process("test-admin")


@pytest.fixture
def consumers(world: World, in_calling_hours: None) -> Campaign:
    crm = CRMFactory(data_owner=world.crm.data_owner, kind=CRM.Kind.B2C, name="Privat")
    return CampaignFactory(crm=crm, name="Strøm privat")


def test_both_layouts_are_read_and_other_lines_counted() -> None:
    plain = register_parse([b"91234567\n", b"+47 412 34 567\n", b"\n", b"hello\n"])
    assert plain.numbers == {"+4791234567", "+4741234567"}
    assert plain.rejected == 1
    delimited = register_parse(
        [b"\xef\xbb\xbfnummer;type;dato\n", b"91234567;T;2026-01-01\n", b'"004741234567",T\n']
    )
    assert delimited.numbers == {"+4791234567", "+4741234567"}
    assert delimited.rejected == 1  # the header


def test_a_load_screens_every_customer_again(world: World) -> None:
    kari = world.customer("K", phone2="912 34 567")
    ola = world.customer("O", phone1="412 34 567")

    register_load(ADMIN, file_name="r.txt", lines=[b"91234567"])
    assert dict(Customer.objects.values_list("pk", "is_reserved")) == {kari.pk: True, ola.pk: False}

    register_load(ADMIN, file_name="r2.txt", lines=[b"41234567"])
    assert dict(Customer.objects.values_list("pk", "is_reserved")) == {kari.pk: False, ola.pk: True}
    assert ReservedNumber.objects.count() == 1
    load = RegisterLoad.objects.order_by("-pk").first()
    assert load is not None and (load.numbers, load.reserved_customers) == (1, 1)

    customer_update(SETUP, customer=kari, changes={"phone2": "41234567"})
    assert Customer.objects.get(pk=kari.pk).is_reserved  # every writer screens


def test_a_reserved_consumer_is_never_presented_unless_a_basis_is_recorded(
    world: World, consumers: Campaign
) -> None:
    reserved = world.customer("R", campaign=consumers, phone1="912 34 567")
    customer_ok = world.customer("C", campaign=consumers, phone1="912 34 568")
    register_loaded("+4791234567", "+4791234568")
    contact_basis_set(
        world.agent,
        customer_id=customer_ok.pk,
        basis="customer",
        on="2025-02-01",
        source="Strømavtale 2025-0117",
    )

    selection = customer_present_next(world.agent, campaign=consumers)
    assert selection is not None and selection.customer_id == customer_ok.pk
    assert customer_present_next(world.agent2, campaign=consumers) is None
    with pytest.raises(DomainError, match="Reservasjonsregisteret") as refused:
        customer_select(world.agent2, customer_id=reserved.pk)
    assert refused.value.code == "reserved"


def test_a_business_campaign_ignores_the_register_unless_it_opts_in(world: World) -> None:
    reserved = world.customer("R", phone1="912 34 567")  # the world's campaign is B2B
    register_load(ADMIN, file_name="r.txt", lines=[b"91234567"])

    assert customer_select(world.agent, customer_id=reserved.pk).customer_id == reserved.pk


def test_no_consumer_is_called_on_a_register_older_than_a_month(
    world: World, consumers: Campaign, time_machine: object
) -> None:
    world.customer("A", campaign=consumers, phone1="912 34 567")
    RegisterLoad.objects.update(loaded_at=timezone.now() - dt.timedelta(days=32))

    with pytest.raises(DomainError, match="more than a month ago") as refused:
        customer_present_next(world.agent, campaign=consumers)
    assert refused.value.code == "register"
    entry = next(c for c in my_work(world.agent).campaigns if c.campaign == consumers)
    assert entry.register_stale is not None and not entry.register_never

    RegisterLoad.objects.all().delete()
    with pytest.raises(DomainError, match="never been loaded"):
        customer_present_next(world.agent, campaign=consumers)
    assert next(c for c in my_work(world.agent).campaigns if c.campaign == consumers).register_never
    # A business campaign goes on.
    assert customer_present_next(world.agent, campaign=world.campaign) is None


def test_refusals_change_nothing(world: World) -> None:
    kari = world.customer("K", phone1="912 34 567")
    stranger = Customer.objects.create(crm=CRMFactory(), customer_id="S", source="manual")
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    for basis, on, source, field in (
        ("friend", "2025-01-01", "x", "contact_basis"),
        ("customer", "", "x", "contact_basis_on"),
        ("customer", "01.02.2025", "x", "contact_basis_on"),
        ("customer", tomorrow, "x", "contact_basis_on"),
        ("customer", "1899-12-31", "x", "contact_basis_on"),
        ("customer", "2025-01-01", "", "contact_basis_source"),
        ("customer", "2025-01-01", "x\x00", "contact_basis_source"),
        ("customer", "2025-01-01", "x" * 201, "contact_basis_source"),
    ):
        with pytest.raises(DomainError) as refused:
            contact_basis_set(world.agent, customer_id=kari.pk, basis=basis, on=on, source=source)
        assert refused.value.field == field, (basis, on, source)
    with pytest.raises(NotFound):
        contact_basis_set(
            world.agent, customer_id=stranger.pk, basis="request", on="2025-01-01", source="x"
        )
    with pytest.raises(DomainError):
        register_load(world.agent, file_name="r.txt", lines=[b"91234567"])
    with pytest.raises(DomainError, match="no phone numbers"):
        register_load(ADMIN, file_name="r.txt", lines=[b"hello", b""])
    assert Customer.objects.get(pk=kari.pk).contact_basis == ""
    assert not RegisterLoad.objects.exists() and not ReservedNumber.objects.exists()


def test_an_administrator_loads_the_file_on_the_page_in_the_background(
    world: World,
    client: Client,
    settings: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.DATA_DIR = tmp_path
    kari = world.customer("K", phone1="912 34 567")
    admin = UserFactory(perms=[Perm.ADMINISTRATOR])
    client.force_login(admin)
    assert "Never loaded" in client.get(reverse("privacy:register")).content.decode()

    with django_capture_on_commit_callbacks(execute=True):  # the worker's turn
        response = client.post(
            reverse("privacy:register_upload"),
            {"file": SimpleUploadedFile("reservasjon.txt", b"91234567\n41234567\n")},
        )

    assert response.status_code == 302
    assert Customer.objects.get(pk=kari.pk).is_reserved
    load = RegisterLoad.objects.get()
    assert (load.status, load.numbers, load.reserved_customers) == ("done", 2, 1)
    assert list((tmp_path / "register").iterdir()) == []  # the file goes once loaded
    page = client.get(reverse("privacy:register")).content.decode()
    assert "Good until" in page and "reservasjon.txt" in page

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("privacy:register_upload"),
            {"file": SimpleUploadedFile("feil.txt", b"hei\nhallo\n")},
        )
    failed = RegisterLoad.objects.order_by("-pk").first()
    assert failed is not None and failed.status == "failed"
    assert "no phone numbers" in failed.error
    assert Customer.objects.get(pk=kari.pk).is_reserved  # the register stays as it was
    assert "no phone numbers" in client.get(reverse("privacy:register")).content.decode()

    client.force_login(world.agent)
    assert client.get(reverse("privacy:register")).status_code == 403
    refused = client.post(
        reverse("privacy:register_upload"), {"file": SimpleUploadedFile("x.txt", b"1")}
    )
    assert refused.status_code == 302 and RegisterLoad.objects.count() == 2


def test_the_agent_records_a_basis_on_the_details_page_and_the_api_shows_it(
    world: World, client: Client
) -> None:
    kari = world.customer("K", phone1="912 34 567")
    register_load(ADMIN, file_name="r.txt", lines=[b"91234567"])
    client.force_login(world.agent)

    page = client.get(reverse("handling:customer_details", args=[kari.pk])).content.decode()
    assert "In the Reservasjonsregisteret" in page
    client.post(
        reverse("handling:customer_contact_basis", args=[kari.pk]),
        {
            "contact_basis": "request",
            "contact_basis_on": "2026-03-03",
            "contact_basis_source": "Samtalen",
        },
    )

    kari.refresh_from_db()
    assert (kari.contact_basis, kari.contact_basis_on, kari.contact_basis_source) == (
        "request",
        dt.date(2026, 3, 3),
        "Samtalen",
    )
    page = client.get(reverse("handling:customer_details", args=[kari.pk])).content.decode()
    assert "May be called: Asked to be called since 03.03.2026 (Samtalen)" in page
