from __future__ import annotations

from django.test import Client
from django.urls import reverse

from kundeflyt.common.models import AuditEntry
from tests.world import World


def test_a_user_switches_language_and_keeps_it(client: Client, world: World) -> None:
    client.force_login(world.agent)
    assert "My work" in client.get(reverse("handling:my_work")).content.decode()

    response = client.post(reverse("set_language"), {"language": "nb", "next": "/"})

    assert response.status_code == 302
    world.agent.refresh_from_db()
    assert world.agent.language == "nb"
    assert AuditEntry.objects.filter(action="user.language").exists()
    fresh = Client()
    fresh.force_login(world.agent)
    assert "Mitt arbeid" in fresh.get(reverse("handling:my_work")).content.decode()


def test_an_unknown_language_changes_nothing(client: Client, world: World) -> None:
    client.force_login(world.agent)
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    world.agent.refresh_from_db()
    assert world.agent.language == "en"
