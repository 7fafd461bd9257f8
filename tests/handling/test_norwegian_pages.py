"""The agent's and supervisor's pages speak Norwegian to a Norwegian user, with no English
left from our own texts."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from kundeflyt.crm.models import FieldDefinition
from kundeflyt.crm.services import customer_update
from kundeflyt.handling.services import customer_move, customer_select
from tests.world import World

ENGLISH = re.compile(
    r">\s*(My work|Start working|Customer card|Outcome|Save|History|Campaign|"
    r"Selected customers|Information fields|Events|Other changes|Take customer|Search)\s*<"
)


# Item 4 of issue 8: a {# … #} comment over several lines printed on every page.
TEMPLATE_SYNTAX = re.compile(r"\{[#%{]|[#%}]\}")


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
    pages["reports"] = reverse("reports:report", args=["activity"])
    for name, url in pages.items():
        html = norwegian.get(url).content.decode()
        assert 'lang="nb"' in html, name
        assert not ENGLISH.search(html), f"{name}: {ENGLISH.search(html)}"
        assert not TEMPLATE_SYNTAX.search(html), f"{name}: {TEMPLATE_SYNTAX.search(html)}"
    screen = norwegian.get(pages["screen"]).content.decode()
    for word in ("Kundekort", "Utfall", "Lagre", "Historikk", "Mine oppfølginger"):
        assert word in screen


def test_no_template_syntax_shows_on_any_page_or_partial(norwegian: Client, world: World) -> None:
    customer = world.customer(1, segment=world.hot)
    customer_select(world.supervisor, customer_id=customer.pk)
    urls = [
        reverse("handling:my_work"),
        reverse("handling:screen"),
        reverse("handling:side_panel"),
        reverse("handling:outcome_fields") + f"?outcome={world.outcome('call_back').pk}",
        reverse("handling:customer_details", args=[customer.pk]),
        reverse("handling:customer_presence", args=[customer.pk]),
        reverse("handling:customer_fields", args=[customer.pk]) + "?edit=1",
        reverse("handling:customer_field", args=[customer.pk, "phone1"]) + "?edit=1&screen=1",
        reverse("handling:search") + "?q=Kunde",
        reverse("handling:campaign_customers", args=[world.campaign.pk]),
        reverse("handling:selected_customers"),
        reverse("reports:report", args=["activity"]),
    ]
    norwegian.logout()
    login = norwegian.get(reverse("login")).content.decode()
    assert not TEMPLATE_SYNTAX.search(login)
    norwegian.force_login(world.supervisor)
    for url in urls:
        response = norwegian.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert not TEMPLATE_SYNTAX.search(html), f"{url}: {TEMPLATE_SYNTAX.search(html)}"


def test_the_audit_trail_shows_field_labels_and_values_in_the_readers_language(
    norwegian: Client, world: World
) -> None:
    """Item 14: it showed raw keys ("org_number", "newsletter: True") and English "Phone 2"."""
    FieldDefinition.objects.create(
        crm=world.crm, key="newsletter", label="Ønsker nyhetsbrev", type="checkbox"
    )
    customer = world.customer(1)
    customer_update(
        world.supervisor,
        customer=customer,
        changes={"org_number": "923609016", "newsletter": True, "phone2": "41234567"},
    )

    html = norwegian.get(reverse("handling:customer_details", args=[customer.pk])).content.decode()
    trail = html.split("Andre endringer")[1].split("</table>")[0]

    assert "Org.nr.: – → 923609016" in trail
    assert "Ønsker nyhetsbrev: Nei → Ja" in trail
    assert "Telefon 2: – → 41 23 45 67" in trail
    for raw in ("org_number", "newsletter", "True", "Phone 2", "phone2"):
        assert raw not in trail, raw
