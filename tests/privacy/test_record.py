"""The record of processing (GDPR Art. 30): read from the data owner's setup, for the
officer's data owners only, in a number of queries that does not grow with the setup."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.api.models import ApiToken
from kundeflyt.campaigns.models import ExtraField
from kundeflyt.common.errors import NotAllowed, NotFound
from kundeflyt.crm.models import CRM, FieldDefinition
from kundeflyt.privacy.record import processing_record
from kundeflyt.webhooks.models import EventType, Subscription
from tests.factories import CampaignFactory, CRMFactory, TeamFactory, UserFactory
from tests.world import World

pytestmark = pytest.mark.django_db


def token(user: User, name: str, **kwargs: object) -> ApiToken:
    return ApiToken.objects.create(
        user=user, name=name, prefix=f"kf_{name[:6]}", digest=f"{name:x<64}", **kwargs
    )


def hook(world: World, url: str, *, active: bool = True) -> Subscription:
    return Subscription.objects.create(
        data_owner=world.crm.data_owner,
        url=url,
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        events=[EventType.REGISTRATION_CREATED.value, EventType.CUSTOMER_ANONYMISED.value],
        is_active=active,
    )


def test_the_record_names_purposes_data_recipients_and_access(world: World, officer: User) -> None:
    owner = world.crm.data_owner
    owner.org_number = "923609016"
    owner.save()
    world.campaign.purpose = "Salg av strømavtaler til bedrifter"
    world.campaign.save()
    ExtraField.objects.create(
        campaign=world.campaign, applies_to="outcome", key="note", label="Notat", type="text"
    )
    ExtraField.objects.create(
        campaign=world.campaign, applies_to="outcome", key="size", label="Størrelse", type="number"
    )
    consumers = CRMFactory(data_owner=owner, kind=CRM.Kind.B2C, name="Privat")
    FieldDefinition.objects.create(crm=consumers, key="born", label="Fødselsdato", type="date")
    CampaignFactory(crm=consumers, name="Strøm privat", purpose="")
    hook(world, "https://crm.example.no/hooks/kundeflyt")
    hook(world, "https://old.example.no/hook", active=False)
    sync = UserFactory(username="sync", is_integration=True, perms=[Perm.API_ACCESS])
    owner.users.add(sync)
    token(sync, "Nattlig synk")
    token(sync, "Utløpt", expires_at=timezone.now() - dt.timedelta(days=1))
    token(world.agent, "Uten API-tilgang")  # the agent lacks *API access*: it reads nothing
    sales = TeamFactory(name="Salg Bergen")
    UserFactory(username="bergen1", team=sales, first_name="Berit", last_name="Berg")
    owner.teams.add(sales)

    record = processing_record(officer, owner)

    assert (record.controller, record.org_number) == (owner.name, "923609016")
    business, private = sorted(record.campaigns, key=lambda c: c.name)
    assert business.purpose == "Salg av strømavtaler til bedrifter"
    assert private.purpose == "Salg av strøm"  # the data owner's, not overridden
    assert "6(1)(f)" in business.legal_basis and "markedsføringsloven" in private.legal_basis
    assert business.data_subjects == "Businesses and their contact persons"
    assert private.data_subjects == "Consumers (private persons)"
    assert [(d.label, d.type) for d in business.personal_data][-3:] == [
        ("Org.nr.", "Organisation number"),
        ("Ansatte", "Number"),
        ("Bransje", "Single choice"),
    ]
    assert ("Fødselsdato", "Date") in [(d.label, d.type) for d in private.personal_data]
    assert "E-mail" in [d.label for d in private.personal_data]
    assert business.free_text == ["Comments on registrations", "Notat"]
    assert business.retention == "Until erased on request"
    assert [(w.host, w.events) for w in record.webhooks] == [
        ("crm.example.no", ["Registration created", "Customer anonymised"])
    ]
    assert [(t.name, t.user, t.integration) for t in record.tokens] == [
        ("Nattlig synk", str(sync), True)
    ]
    assert str(world.supervisor) in record.exporters  # *reporting*
    assert str(world.agent) not in record.exporters
    people = {u.username: u for u in record.users}
    assert set(people) == {"agent", "agent2", "supervisor", "officer", "sync", "bergen1"}
    assert people["sync"].integration
    assert people["bergen1"].granted_through == "Team Salg Bergen"
    assert people["supervisor"].permissions == [
        "Reporting",
        "Customer handling",
        "Extended customer handling",
        "Correct registrations",
    ]
    assert people["officer"].permissions == ["Privacy officer"]
    assert [(t.name, t.members) for t in record.teams] == [("Salg Bergen", 1)]


def test_retention_is_read_from_the_crm_when_it_has_one(world: World, officer: User) -> None:
    from kundeflyt.privacy.record import retention

    world.crm.retention_months = 24  # type: ignore[attr-defined]  # a later migration adds it
    assert retention(world.crm) == "Erased after 24 months without activity"
    world.crm.retention_months = 1  # type: ignore[attr-defined]
    assert retention(world.crm) == "Erased after 1 month without activity"


def test_superusers_and_administrators_hold_every_permission(world: World, officer: User) -> None:
    admin = UserFactory(username="admin", perms=[Perm.ADMINISTRATOR])
    world.crm.data_owner.users.add(admin)
    UserFactory(username="root", is_superuser=True, perms=[])
    UserFactory(username="gone", is_active=False)  # archived: no access

    people = {u.username: u for u in processing_record(officer, world.crm.data_owner).users}

    assert "gone" not in people
    assert len(people["admin"].permissions) == len(Perm)
    assert people["root"].superuser
    assert people["root"].granted_through == "Superuser: every data owner"


def test_another_data_owners_officer_is_refused_as_if_it_did_not_exist(world: World) -> None:
    stranger = UserFactory(username="stranger", perms=[Perm.PRIVACY_OFFICER])
    CRMFactory().data_owner.users.add(stranger)

    with pytest.raises(NotFound):
        processing_record(stranger, world.crm.data_owner.pk)
    with pytest.raises(NotAllowed):
        processing_record(world.agent, world.crm.data_owner.pk)

    client = Client()
    url = reverse("privacy:record", args=[world.crm.data_owner.pk])
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    client.force_login(world.agent)
    assert client.get(url).status_code == 403


def grow(world: World, n: int) -> None:
    """n more campaigns, fields, extra fields, users, teams, tokens and webhooks."""
    owner = world.crm.data_owner
    for i in range(n):
        FieldDefinition.objects.create(crm=world.crm, key=f"f{n}_{i}", label=f"F{i}", type="text")
        campaign = CampaignFactory(crm=world.crm, name=f"C{n}-{i}", visible_to_all=False)
        ExtraField.objects.create(
            campaign=campaign, applies_to="outcome", key="note", label="Notat", type="text"
        )
        team = TeamFactory(name=f"T{n}-{i}")
        owner.teams.add(team)
        user = UserFactory(team=team, perms=[Perm.API_ACCESS, Perm.REPORTING])
        campaign.users.add(user)
        campaign.teams.add(team)
        token(user, f"t{n}-{i}")
        hook(world, f"https://h{n}-{i}.example.no/")


def test_the_queries_do_not_grow_with_the_setup(world: World, officer: User) -> None:
    owner = world.crm.data_owner
    grow(world, 1)
    processing_record(officer, owner.pk)  # the officer's permissions, cached on the user
    with CaptureQueriesContext(connection) as small:
        few = processing_record(officer, owner.pk)
    grow(world, 6)
    with CaptureQueriesContext(connection) as large:
        many = processing_record(officer, owner.pk)

    assert (len(few.campaigns), len(many.campaigns)) == (2, 8)
    assert len(many.tokens) == 7
    assert len(large.captured_queries) == len(small.captured_queries)


def test_the_page_prints_the_record_and_the_privacy_page_links_to_it(
    world: World, officer: User
) -> None:
    world.campaign.purpose = "Salg av strømavtaler til bedrifter"
    world.campaign.save()
    hook(world, "https://crm.example.no/hooks/kundeflyt")
    client = Client()
    client.force_login(officer)
    url = reverse("privacy:record", args=[world.crm.data_owner.pk])

    assert url in client.get(reverse("privacy:index")).content.decode()
    client.get(url)  # the configuration, cached
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url)
    grow(world, 5)
    client.get(url)  # the configuration, cached
    with CaptureQueriesContext(connection) as more:
        assert client.get(url).status_code == 200

    html = page.content.decode()
    assert page.status_code == 200
    assert "Record of processing: " in html and "data-print" in html
    assert "Salg av strømavtaler til bedrifter" in html
    assert "crm.example.no" in html and "Ansatte" in html
    assert len(more.captured_queries) == len(queries.captured_queries)


def test_a_stated_legal_basis_replaces_the_default(world: World, officer: User) -> None:
    owner = world.crm.data_owner
    owner.legal_basis = "Samtykke (art. 6 nr. 1 bokstav a), innhentet ved kjøp"
    owner.save()
    own = CampaignFactory(crm=world.crm, name="Avtalt", legal_basis="Avtale (art. 6 nr. 1 b)")

    record = processing_record(officer, owner)

    stated = {c.name: (c.legal_basis, c.legal_basis_default) for c in record.campaigns}
    assert stated[world.campaign.name] == (owner.legal_basis, False)
    assert stated[own.name] == ("Avtale (art. 6 nr. 1 b)", False)
