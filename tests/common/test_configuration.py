"""The configuration cache: a process keeps what it read under the configuration version, and
every change of configuration, made anywhere, is seen at once."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.campaigns.models import OutcomeOption, Segment
from kundeflyt.common.configuration import cached, config_version
from kundeflyt.flows.models import Outcome
from kundeflyt.handling.services import customer_select
from tests.world import World

pytestmark = pytest.mark.django_db


def _screen(client: Client) -> str:
    response = client.get(reverse("handling:screen"))
    assert response.status_code == 200
    return response.content.decode()


def _elsewhere(sql: str, *params: object) -> None:
    """A write by another process: straight to the database, no signal, nothing forgotten
    in this process."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_a_renamed_outcome_shows_at_once_in_every_process(client: Client, world: World) -> None:
    customer_select(world.agent, customer_id=world.customer(1).pk)
    client.force_login(world.agent)
    no_answer = world.outcome("no_answer")
    assert no_answer.name in _screen(client)

    # Another process renames the outcome without changing the version: this process keeps
    # what it read, which shows that the screen reads its outcomes from the cache.
    _elsewhere("UPDATE flows_outcome SET name = %s WHERE id = %s", "Ingen svar", no_answer.pk)
    assert "Ingen svar" not in _screen(client)

    # A real change replaces the version in the same transaction: every process reads again.
    _elsewhere("UPDATE common_configversion SET n = n + 1")
    assert "Ingen svar" in _screen(client)


def test_a_change_made_here_shows_at_once(client: Client, world: World) -> None:
    customer_select(world.agent, customer_id=world.customer(1).pk)
    client.force_login(world.agent)
    _screen(client)
    outcome = world.outcome("no_answer")
    outcome.name = "Tok ikke telefonen"
    outcome.save()
    OutcomeOption.objects.create(campaign=world.campaign, outcome=outcome, label="Opptatt")
    assert "Tok ikke telefonen" in _screen(client)
    fields = client.get(reverse("handling:outcome_fields"), {"outcome": outcome.pk})
    assert "Opptatt" in fields.content.decode()


def test_every_way_of_writing_configuration_changes_the_version(world: World) -> None:
    def changes(write: object) -> bool:
        before = config_version()
        assert callable(write)
        write()
        return config_version() != before

    outcome = world.outcome("no_answer")
    assert changes(lambda: outcome.save())
    assert changes(lambda: Outcome.objects.filter(pk=outcome.pk).update(name="Ny"))
    assert changes(lambda: Segment.objects.bulk_create([Segment(campaign=world.campaign)]))
    assert changes(lambda: Segment.objects.filter(name="").delete())
    assert changes(lambda: world.campaign.users.add(world.agent))
    assert changes(lambda: world.crm.data_owner.users.remove(world.agent2))
    administrator = Permission.objects.get(codename=Perm.ADMINISTRATOR.value)
    assert changes(lambda: world.agent.user_permissions.add(administrator))
    # A login stamps the user; that changes nothing anyone has cached.
    assert not changes(lambda: world.agent.save(update_fields=["last_login"]))


def test_a_change_rolled_back_leaves_no_version_behind(world: World) -> None:
    before = config_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        Outcome.objects.filter(flow=world.campaign.flow).update(name="Rullet tilbake")
        rolled_back = config_version()
        cached("probe", rolled_back, lambda: "read inside the rolled-back change")
        raise RuntimeError
    assert config_version() == before
    # A later change never lands on the rolled-back number: the numbers are random.
    world.outcome("no_answer").save()
    assert config_version() not in (before, rolled_back)
    assert cached("probe", config_version(), lambda: "fresh") == "fresh"


def test_a_grant_taken_away_closes_the_campaign_at_once(client: Client, world: World) -> None:
    client.force_login(world.agent)
    start = reverse("handling:work_start")
    world.customer(1)
    assert client.post(start, {"campaign": world.campaign.pk})["Location"] == "/screen/"
    client.post(reverse("handling:work_stop"))

    world.crm.data_owner.users.remove(world.agent)
    assert client.post(start, {"campaign": world.campaign.pk}).status_code == 404


def test_a_permission_taken_away_is_refused_at_once(client: Client, world: World) -> None:
    client.force_login(world.agent)
    assert client.get(reverse("handling:my_work")).status_code == 200
    agent = User.objects.get(pk=world.agent.pk)
    agent.groups.clear()
    agent.user_permissions.clear()
    assert client.get(reverse("handling:my_work")).status_code == 403
