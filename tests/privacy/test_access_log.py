"""The access log: one compact row per look at a customer's personal data (details, screen,
search results, API reads, exports), none for pages without it, read by the privacy officer
and forgotten after ACCESS_LOG_DAYS."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kundeflyt.accounts.models import User
from kundeflyt.handling.services import customer_select
from kundeflyt.privacy.access_log import access_log_purge
from kundeflyt.privacy.models import AccessLogEntry
from kundeflyt.privacy.selectors import person_access
from kundeflyt.privacy.services import privacy_customer
from tests.world import World

pytestmark = pytest.mark.django_db

Kind = AccessLogEntry.Kind


def rows() -> list[tuple[str, int | None]]:
    return list(AccessLogEntry.objects.order_by("pk").values_list("kind", "customer_id"))


def test_one_row_per_view_of_details_and_screen_and_none_elsewhere(
    world: World, client: Client
) -> None:
    kari = world.customer("K-1", phone1="912 34 567")
    client.force_login(world.supervisor)

    for url in (reverse("handling:my_work"), reverse("handling:selected_customers")):
        assert client.get(url).status_code == 200
    assert rows() == []

    client.get(reverse("handling:customer_details", args=[kari.pk]))
    client.get(reverse("handling:customer_details", args=[kari.pk]))
    customer_select(world.supervisor, customer_id=kari.pk)
    client.get(reverse("handling:screen"))
    client.get(reverse("handling:search"), {"q": "Kunde"})

    assert rows() == [
        (Kind.DETAILS, kari.pk),
        (Kind.DETAILS, kari.pk),
        (Kind.SCREEN, kari.pk),
        (Kind.SEARCH, kari.pk),
    ]
    assert {e.user_id for e in AccessLogEntry.objects.all()} == {world.supervisor.pk}


def test_a_refused_look_leaves_no_row(world: World, client: Client) -> None:
    kari = world.customer("K-1")
    client.force_login(world.agent)
    world.campaign.visible_to_all = False
    world.campaign.save()

    assert client.get(reverse("handling:customer_details", args=[kari.pk])).status_code == 404
    assert rows() == []


def test_the_officer_reads_who_looked(world: World, officer: User, client: Client) -> None:
    kari = world.customer("K-1")
    client.force_login(world.agent)
    client.get(reverse("handling:customer_details", args=[kari.pk]))

    held = person_access(officer, privacy_customer(officer, kari.pk))

    assert [(v["by"], v["where"]) for v in held["viewed_by"]] == [
        ("Kari Nordmann", "Customer details")
    ]


def test_rows_are_forgotten_after_the_days_they_are_kept(world: World, settings: object) -> None:
    kari = world.customer("K-1")
    now = timezone.now()
    old = AccessLogEntry.objects.create(
        user=world.agent, kind=Kind.DETAILS, customer=kari, at=now - dt.timedelta(days=181)
    )
    new = AccessLogEntry.objects.create(
        user=world.agent, kind=Kind.DETAILS, customer=kari, at=now - dt.timedelta(days=179)
    )

    assert access_log_purge(now) == 1

    assert list(AccessLogEntry.objects.all()) == [new]
    assert old.pk not in AccessLogEntry.objects.values_list("pk", flat=True)
