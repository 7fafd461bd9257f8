"""Access (GDPR Art. 15) and finding a person: everything held about them, in a number of
queries that does not grow with their history, and only for the officer's data owners."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kundeflyt.accounts.models import User
from kundeflyt.crm.models import Customer
from kundeflyt.handling.services import AfterSave, customer_select, outcome_register
from kundeflyt.privacy.models import PrivacyRequest, Right
from kundeflyt.privacy.selectors import person_access, persons_find
from kundeflyt.privacy.services import customer_anonymise, privacy_customer
from tests.factories import CampaignFactory
from tests.world import World

pytestmark = pytest.mark.django_db


def calls(world: World, customer: Customer, n: int) -> None:
    for i in range(n):
        selection = customer_select(world.agent, customer_id=customer.pk)
        outcome_register(
            world.agent,
            customer_id=customer.pk,
            token=selection.token,
            outcome_id=world.outcome("no_answer").pk,
            comment=f"Samtale {i}",
            then=AfterSave.MY_WORK,
        )


def test_everything_held_is_handed_out(world: World, officer: User) -> None:
    kari = world.customer(
        "K-1", phone1="912 34 567", email="kari@example.no", fields={"employees": 4}
    )
    calls(world, kari, 2)

    held = person_access(officer, privacy_customer(officer, kari.pk))

    assert held["customer"]["name"] == "Kunde K-1"
    assert held["customer"]["phones"] == ["91 23 45 67"]
    assert held["customer"]["fields"] == {"Org.nr.": None, "Ansatte": 4, "Bransje": None}
    assert held["controller"]["data_owner"] == world.crm.data_owner.name
    assert held["placement"]["campaign"] == world.campaign.name
    assert [r["comment"] for r in held["registrations"]] == ["Samtale 0", "Samtale 1"]
    assert [r["by"] for r in held["registrations"]] == ["Kari Nordmann"] * 2
    assert {c["action"] for c in held["changes"]} >= {"customer.create", "customer.select"}


def test_the_queries_do_not_grow_with_the_history(world: World, officer: User) -> None:
    few, many = world.customer("F", phone1="91234567"), world.customer("M", phone1="91234568")
    calls(world, few, 3)
    calls(world, many, 30)

    def count(customer: Customer) -> int:
        with CaptureQueriesContext(connection) as queries:
            person_access(officer, privacy_customer(officer, customer.pk))
        return len(queries)

    count(few)  # the officer's permissions are read once per user
    assert count(few) == count(many)


def test_a_person_is_found_by_phone_in_any_format_email_or_name(
    world: World, officer: User
) -> None:
    kari = world.customer("K-1", phone1="912 34 567", email="kari@example.no")
    other_owner = Customer.objects.create(
        crm=CampaignFactory().crm, customer_id="K-1", phone1="+4791234567", source="manual"
    )
    owner = world.crm.data_owner
    for query in ("+47 912 34 567", "0047 91234567", "91 23 45 67", "KARI@example.no", "kunde k-1"):
        assert persons_find(officer, data_owner=owner, query=query).customers == [kari], query
    assert other_owner not in persons_find(officer, data_owner=owner, query="91234567").customers

    customer_anonymise(officer, customer_id=kari.pk, reason="Ba om sletting")

    gone = persons_find(officer, data_owner=owner, query="912 34 567")
    assert gone.customers == []
    assert gone.erased_at is not None


def test_the_officer_downloads_it_and_the_request_is_logged(
    world: World, officer: User, client: Client
) -> None:
    kari = world.customer("K-1", phone1="912 34 567")
    calls(world, kari, 1)
    client.force_login(officer)

    response = client.post(
        reverse("privacy:access", args=[kari.pk]), {"format": "json", "reason": "Brev"}
    )

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    held = json.loads(response.content)
    assert held["registrations"][0]["comment"] == "Samtale 0"
    logged = PrivacyRequest.objects.get()
    assert (logged.right, logged.reason, logged.customer) == (Right.ACCESS, "Brev", kari)

    page = client.post(reverse("privacy:access", args=[kari.pk]), {"format": "page"})
    assert page.status_code == 200
    assert "Samtale 0" in page.content.decode()
    assert PrivacyRequest.objects.count() == 2


def test_pages_refuse_those_who_are_not_officers_of_the_data_owner(
    world: World, officer: User, client: Client
) -> None:
    kari = world.customer("K-1", phone1="912 34 567")
    client.force_login(world.supervisor)
    assert client.get(reverse("privacy:index")).status_code == 403
    assert client.get(reverse("privacy:person", args=[kari.pk])).status_code == 403
    refused = client.post(
        reverse("privacy:erase", args=[kari.pk]), {"confirm": "yes", "reason": "x"}
    )
    assert refused.status_code == 302  # back, with the reason as a message

    client.force_login(officer)
    foreign = Customer.objects.create(crm=CampaignFactory().crm, customer_id="F", source="manual")
    assert client.get(reverse("privacy:person", args=[foreign.pk])).status_code == 404
    assert client.get(reverse("privacy:person", args=[10**30])).status_code == 404
    refused = client.get(reverse("privacy:index"), {"q": "a\x00b", "data_owner": "9" * 40})
    assert refused.status_code == 400
    assert "invisible control characters" in refused.content.decode()
    assert client.get(reverse("privacy:index"), {"q": "k" * 201}).status_code == 400
    assert Customer.objects.get(pk=kari.pk).anonymised_at is None
