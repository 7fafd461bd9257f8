"""The agent's and supervisor's pages speak Norwegian to a Norwegian user, with no English
left from our own texts."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from kundeflyt.handling.services import customer_move, customer_select
from tests.world import World

ENGLISH = re.compile(
    r">\s*(My work|Start working|Customer card|Outcome|Save|History|Campaign|"
    r"Selected customers|Information fields|Events|Other changes|Take customer|Search)\s*<"
)


@pytest.fixture
def norwegian(client: Client, world: World) -> Client:
    world.supervisor.language = "nb"
    world.supervisor.save()
    client.force_login(world.supervisor)
    return client


def test_every_page_of_the_agent_and_supervisor_is_in_norwegian(
    norwegian: Client, world: World
) -> None:
    customer = world.customer(1, segment=world.hot)
    customer_move(world.supervisor, customer_id=customer.pk, segment=world.cold)
    pages = {
        "my work": reverse("handling:my_work"),
        "details": reverse("handling:customer_details", args=[customer.pk]),
        "search": reverse("handling:search") + "?q=Kunde",
        "list": reverse("handling:campaign_customers", args=[world.campaign.pk]),
        "selected": reverse("handling:selected_customers"),
    }
    customer_select(world.supervisor, customer_id=customer.pk)
    pages["screen"] = reverse("handling:screen")
    for name, url in pages.items():
        html = norwegian.get(url).content.decode()
        assert 'lang="nb"' in html, name
        assert not ENGLISH.search(html), f"{name}: {ENGLISH.search(html)}"
    screen = norwegian.get(pages["screen"]).content.decode()
    for word in ("Kundekort", "Utfall", "Lagre", "Historikk", "Mine oppfølginger"):
        assert word in screen
