"""``manage.py customers_import``: the same import from the command line, as the process
``import``."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from kundeflyt.crm.models import Customer
from kundeflyt.handling.models import Placement
from kundeflyt.imports.models import ImportBatch
from tests.imports.conftest import HEADER, Place
from tests.imports.sheets import csv_bytes
from tests.imports.test_import_run import kari


def test_a_file_into_a_campaign_segment_by_name(place: Place, tmp_path: Path) -> None:
    path = tmp_path / "kunder.csv"
    path.write_bytes(csv_bytes([HEADER, kari(1), kari(2, phone="12")]))
    out = StringIO()

    call_command(
        "customers_import",
        str(path),
        "--crm",
        str(place.crm.pk),
        "--campaign",
        place.campaign.name,
        "--segment",
        "Oslo",
        "--rejected",
        str(tmp_path / "feil.csv"),
        stdout=out,
    )

    batch = ImportBatch.objects.get()
    assert (batch.status, batch.created_count, batch.rejected_count) == ("done", 1, 1)
    assert batch.actor_process == "import" and batch.actor_user is None
    assert Placement.objects.get().segment == place.oslo
    assert Placement.objects.get().set_by_process == "import"
    assert "1 created" in out.getvalue()
    assert "Mobil" in (tmp_path / "feil.csv").read_text(encoding="utf-8-sig")


def test_a_mapping_file_generated_ids_and_updates(place: Place, tmp_path: Path) -> None:
    path = tmp_path / "kunder.csv"
    path.write_bytes(csv_bytes([["Navn", "Tlf nr", "Info"], ["Kari", "91234567", "VIP"]]))
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Navn": "name", "Tlf nr": "phone1", "Info": "notes"}))
    arguments = [str(path), "--crm", str(place.crm.pk), "--mapping", str(mapping)]

    call_command("customers_import", *arguments, "--generate-ids", "KAS-", stdout=StringIO())
    call_command(
        "customers_import",
        *arguments,
        "--generate-ids",
        "KAS-",
        "--on-duplicate",
        "all",
        stdout=StringIO(),
    )

    customer = Customer.objects.get()
    assert customer.customer_id.startswith("KAS-")
    assert customer.fields["notes"] == "VIP"
    assert list(ImportBatch.objects.values_list("created_count", "duplicate_count")) == [
        (0, 1),
        (1, 0),
    ]


def test_refusals_are_command_errors(place: Place, tmp_path: Path) -> None:
    path = tmp_path / "kunder.csv"
    path.write_bytes(csv_bytes([HEADER[1:], kari(1)[1:]]))

    with pytest.raises(CommandError, match="customer id"):
        call_command("customers_import", str(path), "--crm", str(place.crm.pk))
    with pytest.raises(CommandError, match="No CRM"):
        call_command("customers_import", str(path), "--crm", "Finnes ikke")


def test_background_hands_the_run_to_the_worker(place: Place, tmp_path: Path) -> None:
    path = tmp_path / "kunder.csv"
    path.write_bytes(csv_bytes([HEADER, kari(1)]))

    # The test run's task backend runs it at once; a real worker would pick it up.
    call_command(
        "customers_import", str(path), "--crm", str(place.crm.pk), "--background", stdout=StringIO()
    )

    assert ImportBatch.objects.get().status == "done"
