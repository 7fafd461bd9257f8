"""Customer files in through the API: a file and its mapping in one request, run in the
background (at once in the test run), followed by its id."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import Client

from kundeflyt.accounts.permissions import Perm
from kundeflyt.crm.models import Customer
from kundeflyt.imports.models import ImportBatch
from tests.api.conftest import grant, token_for
from tests.imports.conftest import HEADER, Place, build_place
from tests.imports.sheets import csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def place(db: None) -> Place:
    return build_place()


def rows(n: int) -> list[list[str]]:
    return [
        [f"K-{i}", "Kari", f"Nordmann {i}", "912 34 567", "", "0150", "01.02.1980"]
        for i in range(n)
    ]


def send(client: Client, token: str, content: bytes, **fields: Any) -> Any:
    upload = io.BytesIO(content)
    upload.name = "kunder.csv"
    return client.post(
        "/api/v1/imports",
        {"file": upload, **fields},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_file_comes_in_placed_and_its_progress_can_be_followed(
    client: Client, place: Place
) -> None:
    token = token_for(place.setup)
    content = csv_bytes([HEADER, *rows(5), ["", "Uten", "Nummer", "hei", "", "", ""]])

    started = send(
        client, token, content, crm=place.crm.pk, campaign=place.campaign.pk, generate_ids=""
    )
    followed = client.get(
        f"/api/v1/imports/{started.json()['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    listed = client.get(
        "/api/v1/imports", {"crm": place.crm.pk}, headers={"Authorization": f"Bearer {token}"}
    )

    assert started.status_code == 202, started.content
    body = followed.json()
    assert body["status"] == "done" and body["created"] == 5 and body["placed"] == 5
    assert body["rejected"] == 1
    assert [i["id"] for i in listed.json()["items"]] == [body["id"]]
    for since, expected in ((body["created_at"], [body["id"]]), ("2999-01-01T00:00:00Z", [])):
        synced = client.get(
            "/api/v1/imports",
            {"crm": place.crm.pk, "changed_since": since},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert [i["id"] for i in synced.json()["items"]] == expected
    assert Customer.objects.filter(crm=place.crm, source="import").count() == 5


def test_a_mapping_by_heading_is_used(client: Client, place: Place) -> None:
    token = token_for(place.setup)
    content = csv_bytes([["Nr", "Navn", "Telefon"], ["A-1", "Ola Hansen", "41234567"]])
    mapping = json.dumps({"Nr": "customer_id", "Navn": "name", "Telefon": "phone1"})

    started = send(client, token, content, crm=place.crm.pk, mapping=mapping)

    assert started.status_code == 202, started.content
    customer = Customer.objects.get(crm=place.crm, customer_id="A-1")
    assert customer.name == "Ola Hansen" and customer.phone1 == "+4741234567"


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"mapping": "[1, 2]"}, 400, "mapping"),
        ({"mapping": '{"Kundenr": "ukjent_felt"}'}, 400, None),
        ({"generate_ids": "K 1"}, 400, "id_prefix"),  # refused once the file is in
        ({"campaign": 2**62}, 404, "campaign"),
        ({"on_duplicate": "kanskje"}, 422, "on_duplicate"),
    ],
)
def test_bad_imports_are_refused_and_store_nothing(
    client: Client, place: Place, fields: dict[str, Any], status: int, field: str | None
) -> None:
    token = token_for(place.setup)

    answer = send(client, token, csv_bytes([HEADER, *rows(2)]), crm=place.crm.pk, **fields)

    assert answer.status_code == status, answer.content
    if field:
        assert answer.json()["field"] == field
    assert not Customer.objects.filter(crm=place.crm).exists()
    assert not ImportBatch.objects.exists()


def test_an_agent_and_another_data_owner_cannot_import(client: Client, place: Place) -> None:
    from tests.factories import CRMFactory, UserFactory

    agent = token_for(place.agent)
    other = UserFactory(username="annen", perms=[Perm.CAMPAIGN_SETUP])
    CRMFactory(name="Annen").data_owner.users.add(other)
    outsider = token_for(grant(other, Perm.CAMPAIGN_SETUP))

    assert send(client, agent, csv_bytes([HEADER, *rows(1)]), crm=place.crm.pk).status_code == 403
    assert (
        send(client, outsider, csv_bytes([HEADER, *rows(1)]), crm=place.crm.pk).status_code == 404
    )
    assert not Customer.objects.exists()
