"""Consent to marketing by SMS and e-mail (markedsføringsloven § 15, issue 14): recorded with
its day and how it was given, on customer details and through the API, audited, and
withdrawn by emptying it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import Customer
from kundeflyt.privacy.consent import marketing_consent_set
from tests.api.conftest import token_for
from tests.factories import CRMFactory, UserFactory
from tests.world import World


def test_consent_is_recorded_audited_and_withdrawn(world: World) -> None:
    customer = world.customer(1)

    marketing_consent_set(
        world.agent, customer_id=customer.pk, on="2026-03-01", source="Nettskjema"
    )

    customer.refresh_from_db()
    assert (customer.marketing_consent_on, customer.marketing_consent_source) == (
        dt.date(2026, 3, 1),
        "Nettskjema",
    )
    entry = AuditEntry.objects.get(action="customer.marketing_consent")
    assert entry.after == {
        "marketing_consent_on": "2026-03-01",
        "marketing_consent_source": "Nettskjema",
    }
    assert entry.actor_user == world.agent

    marketing_consent_set(world.agent, customer_id=customer.pk, on="")
    customer.refresh_from_db()
    assert (customer.marketing_consent_on, customer.marketing_consent_source) == (None, "")


@pytest.mark.parametrize(
    ("on", "source", "field"),
    [
        ("2026-03-01", "", "marketing_consent_source"),
        ("0001-01-01", "Nettskjema", "marketing_consent_on"),
        ("9999-12-31", "Nettskjema", "marketing_consent_on"),
        ("i går", "Nettskjema", "marketing_consent_on"),
        ("2026-03-01", "x" * 201, "marketing_consent_source"),
        ("2026-03-01", "Nett\x00skjema", "marketing_consent_source"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    world: World, on: str, source: str, field: str
) -> None:
    customer = world.customer(1)
    with pytest.raises(DomainError) as refused:
        marketing_consent_set(world.agent, customer_id=customer.pk, on=on, source=source)
    assert refused.value.field == field
    assert Customer.objects.get(pk=customer.pk).marketing_consent_on is None


def test_a_customer_of_another_data_owner_is_not_found(world: World) -> None:
    stranger = UserFactory()
    CRMFactory().data_owner.users.add(stranger)
    customer = world.customer(1)
    with pytest.raises(NotFound):
        marketing_consent_set(stranger, customer_id=customer.pk, on="2026-03-01", source="x")


def test_customer_details_records_it(client: Client, world: World) -> None:
    customer = world.customer(1)
    client.force_login(world.agent)
    url = reverse("handling:customer_marketing_consent", args=[customer.pk])
    client.post(url, {"marketing_consent_on": "2026-03-01", "marketing_consent_source": "Samtale"})

    page = client.get(reverse("handling:customer_details", args=[customer.pk])).content.decode()
    assert 'value="2026-03-01"' in page and 'value="Samtale"' in page
    assert "Saved." in page

    refused = client.post(url, {"marketing_consent_on": "2026-03-01"}, follow=True)
    assert "Say how the consent was given" in refused.content.decode()


def test_the_api_records_and_shows_it(client: Client, world: World) -> None:
    customer = world.customer(1)
    headers = {"Authorization": f"Bearer {token_for(world.agent)}"}
    url = f"/api/v1/customers/{customer.pk}/marketing-consent"

    answer = client.put(
        url,
        json.dumps({"since": "2026-03-01", "source": "web form"}),
        content_type="application/json",
        headers=headers,
    )
    assert answer.status_code == 200
    assert answer.json()["marketing_consent"] == {"since": "2026-03-01", "source": "web form"}

    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    refused = client.put(
        url,
        json.dumps({"since": tomorrow, "source": "web form"}),
        content_type="application/json",
        headers=headers,
    )
    assert refused.status_code == 400
    assert "marketing_consent_on" in refused.content.decode()

    withdrawn = client.put(
        url, json.dumps({"since": None}), content_type="application/json", headers=headers
    )
    assert withdrawn.json()["marketing_consent"] is None
