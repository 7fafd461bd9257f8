"""Writing customers through the API: create (placed if asked), retried safely with an
Idempotency-Key, and changed only from the version the client read (If-Match)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from kundeflyt.accounts.permissions import Perm
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import Customer
from kundeflyt.handling.models import Placement
from tests.api.conftest import Api, Tenants, at_once, grant, token_for

pytestmark = pytest.mark.django_db


class Writer(Api):
    def post(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.post(
            f"/api/v1{path}",
            json.dumps(body),
            content_type="application/json",
            headers=self.headers | headers,
        )

    def patch(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.patch(
            f"/api/v1{path}",
            json.dumps(body),
            content_type="application/json",
            headers=self.headers | headers,
        )


@pytest.fixture
def crm_sync(client: Client, tenants: Tenants) -> Writer:
    return Writer(client, token_for(tenants.world.agent))


def test_a_created_customer_is_checked_like_the_card_and_placed_where_asked(
    crm_sync: Writer, tenants: Tenants
) -> None:
    world = tenants.world
    answer = crm_sync.post(
        "/customers",
        {
            "crm": world.crm.pk,
            "customer_id": "K-1001",
            "name": "Fjord Bygg AS",
            "phone1": "912 34 567",
            "fields": {"employees": "12", "industry": "Bygg"},
            "campaign": world.campaign.pk,
            "segment": world.cold.pk,
        },
    )

    assert answer.status_code == 201, answer.content
    body = answer.json()
    customer = Customer.objects.get(pk=body["id"])
    assert customer.phone1 == "+4791234567" and customer.source == "api"
    assert body["fields"]["employees"] == 12
    assert body["status"]["campaign"] == world.campaign.pk
    assert body["status"]["segment"] == world.cold.pk
    assert answer["Location"] == f"/api/v1/customers/{customer.pk}"
    assert answer["ETag"] == crm_sync.get(f"/customers/{customer.pk}")["ETag"]
    assert AuditEntry.objects.filter(action="customer.create", customer_id=customer.pk).exists()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"customer_id": "K-1", "phone1": "hei"}, 400, "phone1"),
        ({"customer_id": "K-1", "fields": {"industry": "Fiske"}}, 400, "industry"),
        ({"customer_id": "K-1", "fields": {"ukjent": 1}}, 400, "ukjent"),
        ({"customer_id": "K-1", "fields": {"employees": [1, 2]}}, 400, "employees"),
        ({"customer_id": "K-1", "name": "x" * 201}, 400, "name"),
        ({"customer_id": "K-1", "name": "a\x00b"}, 400, "name"),
        ({"customer_id": ""}, 422, "customer_id"),
        ({"customer_id": "K-1", "campaign": 2**62}, 404, "campaign"),
        ({"customer_id": "K-1", "segment": 1}, 404, "segment"),
    ],
)
def test_bad_input_is_refused_naming_its_field_and_creates_nothing(
    crm_sync: Writer, tenants: Tenants, body: dict[str, Any], status: int, field: str
) -> None:
    answer = crm_sync.post("/customers", {"crm": tenants.world.crm.pk} | body)

    assert answer.status_code == status, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["field"] == field
    assert not Customer.objects.filter(customer_id="K-1").exists()


def test_another_data_owners_crm_and_a_reader_without_handling_are_refused(
    crm_sync: Writer, client: Client, tenants: Tenants
) -> None:
    other_crm = tenants.other_customer.crm_id
    reader = Writer(client, token_for(grant(tenants.world.supervisor, Perm.REPORTING)))
    reader.client = Client()

    assert crm_sync.post("/customers", {"crm": other_crm, "customer_id": "Z"}).status_code == 404
    # The outsider's customer is not found, let alone changed.
    path = f"/customers/{tenants.other_customer.pk}"
    assert crm_sync.patch(path, {"name": "Ny"}, **{"If-Match": '"x"'}).status_code == 404
    assert Customer.objects.filter(customer_id="Z").count() == 0


def test_a_retry_with_the_same_key_answers_the_same_and_creates_once(
    crm_sync: Writer, tenants: Tenants
) -> None:
    body = {"crm": tenants.world.crm.pk, "customer_id": "K-7", "name": "Kari"}

    first = crm_sync.post("/customers", body, **{"Idempotency-Key": "synk-7"})
    again = crm_sync.post("/customers", body, **{"Idempotency-Key": "synk-7"})
    other = crm_sync.post("/customers", body | {"name": "Ola"}, **{"Idempotency-Key": "synk-7"})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert again["ETag"] == first["ETag"]
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    assert Customer.objects.filter(customer_id="K-7").count() == 1


def test_a_failed_write_keeps_no_key_so_the_retry_runs(crm_sync: Writer, tenants: Tenants) -> None:
    body = {"crm": tenants.world.crm.pk, "customer_id": "K-8", "phone1": "hei"}

    assert crm_sync.post("/customers", body, **{"Idempotency-Key": "k8"}).status_code == 400
    answer = crm_sync.post("/customers", body | {"phone1": ""}, **{"Idempotency-Key": "k8"})

    assert answer.status_code == 201


def test_a_change_needs_the_version_read_and_a_stale_one_changes_nothing(
    crm_sync: Writer, tenants: Tenants
) -> None:
    customer = tenants.world.customer("K-9", fields={"employees": 5})
    path = f"/customers/{customer.pk}"
    etag = crm_sync.get(path)["ETag"]

    missing = crm_sync.patch(path, {"name": "Uten versjon"})
    changed = crm_sync.patch(path, {"fields": {"employees": 6}}, **{"If-Match": etag})
    stale = crm_sync.patch(path, {"name": "Gammel versjon"}, **{"If-Match": etag})

    assert missing.status_code == 428
    assert changed.status_code == 200 and changed.json()["fields"]["employees"] == 6
    assert changed["ETag"] != etag
    assert stale.status_code == 412 and stale["Content-Type"] == "application/problem+json"
    customer.refresh_from_db()
    assert customer.name == "Kunde K-9" and customer.fields["employees"] == 6
    assert Placement.objects.filter(customer=customer).exists()


def test_a_customer_id_change_needs_campaign_setup(crm_sync: Writer, tenants: Tenants) -> None:
    customer = tenants.world.customer("K-10")
    path = f"/customers/{customer.pk}"

    answer = crm_sync.patch(
        path, {"customer_id": "K-11"}, **{"If-Match": crm_sync.get(path)["ETag"]}
    )

    assert answer.status_code == 403 and answer.json()["field"] == "customer_id"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_retries_with_one_key_create_one_customer(tenants: Tenants) -> None:
    token = token_for(tenants.world.agent)
    body = {"crm": tenants.world.crm.pk, "customer_id": "K-race", "name": "Kappløp"}

    def retry() -> Any:
        return Writer(Client(), token).post("/customers", body, **{"Idempotency-Key": "race-1"})

    answers = at_once(8, retry)

    assert [a.status_code for a in answers] == [201] * 8
    assert len({a.json()["id"] for a in answers}) == 1
    assert Customer.objects.filter(customer_id="K-race").count() == 1


def test_an_erased_person_is_not_created_again_and_the_api_says_why(
    crm_sync: Writer, tenants: Tenants
) -> None:
    from kundeflyt.common.actors import Process
    from kundeflyt.privacy.services import customer_anonymise

    world = tenants.world
    kari = world.customer("K-1", phone1="912 34 567")
    customer_anonymise(Process("test-privacy"), customer_id=kari.pk, reason="Ba om sletting")

    answer = crm_sync.post(
        "/customers",
        {"crm": world.crm.pk, "customer_id": "K-1", "name": "Kari", "phone1": "+4791234567"},
    )

    assert answer.status_code == 409, answer.content
    problem = answer.json()
    assert answer["Content-Type"].startswith("application/problem+json")
    assert "erased at their own request" in problem["detail"]
    assert Customer.objects.filter(crm=world.crm).count() == 1  # the erased one only
    shown = crm_sync.get(f"/customers/{kari.pk}").json()
    assert (shown["name"], shown["phone1"], shown["is_reserved"]) == ("", "", False)
