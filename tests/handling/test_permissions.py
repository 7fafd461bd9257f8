"""Rule 9 over HTTP: each action refused without its permission; no customer of a campaign
the user may not see is reachable by URL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kundeflyt.accounts.permissions import Perm
from kundeflyt.common.models import AuditEntry
from kundeflyt.handling.models import CorrectionRequest, Event, Placement
from kundeflyt.handling.services import (
    AfterSave,
    customer_add,
    customer_select,
    outcome_register,
)
from tests.factories import CampaignFactory, UserFactory
from tests.world import SETUP, World


@pytest.fixture
def event(world: World) -> Event:
    customer = world.customer("K-1")
    selection = customer_select(world.agent2, customer_id=customer.pk)
    return outcome_register(
        world.agent2,
        customer_id=customer.pk,
        token=selection.token,
        outcome_id=world.outcome("no_answer").pk,
        then=AfterSave.MY_WORK,
    )


def changes_nothing(customer_id: int, before: Placement) -> bool:
    after = Placement.objects.get(pk=customer_id)
    return (after.version, after.segment_id, after.follow_up_at) == (
        before.version,
        before.segment_id,
        before.follow_up_at,
    ) and not CorrectionRequest.objects.exists()


def test_an_agent_without_extended_rights_cannot_use_state_actions_or_corrections(
    client: Client, world: World, event: Event
) -> None:
    customer_id = event.customer_id
    before = Placement.objects.get(pk=customer_id)
    client.force_login(world.agent)  # customer handling only
    later = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    posts = [
        (
            reverse("handling:customer_follow_up", args=[customer_id]),
            {"follow_up_at": later, "follow_up_user": "shared"},
        ),
        (reverse("handling:customer_move", args=[customer_id]), {"segment": world.cold.pk}),
        (
            reverse("handling:event_send_for_correction", args=[event.pk]),
            {"to_user": world.agent.pk, "reason": "x", "allowed": world.outcome("sold").pk},
        ),
        (reverse("handling:event_correct", args=[event.pk]), {"as": "me"}),
        (
            reverse("handling:event_report_facts", args=[event.pk]),
            {"counts_at": later, "counts_for_user": world.agent.pk},
        ),
    ]
    for url, data in posts:
        response = client.post(url, data, follow=True)
        assert "You do not have the permission" in response.content.decode(), url
    assert changes_nothing(customer_id, before)
    event.refresh_from_db()
    assert event.included_in_reports and event.counts_for_user == world.agent2


def test_releasing_someone_elses_customer_needs_extended_rights(
    client: Client, world: World, event: Event
) -> None:
    customer_select(world.agent2, customer_id=event.customer_id)
    client.force_login(world.agent)
    client.post(reverse("handling:selection_release", args=[event.customer_id]))
    assert Placement.objects.get(pk=event.customer_id).holder == world.agent2


def test_no_customer_of_a_hidden_campaign_is_reachable_by_url(client: Client, world: World) -> None:
    hidden = CampaignFactory(crm=world.crm, visible_to_all=False)
    customer = customer_add(SETUP, customer_id="H-1", name="Skjult", campaign=hidden)
    client.force_login(world.supervisor)
    for name in ("customer_details", "customer_presence", "customer_fields"):
        assert client.get(reverse(f"handling:{name}", args=[customer.pk])).status_code == 404
    assert (
        client.get(reverse("handling:customer_field", args=[customer.pk, "name"])).status_code
        == 404
    )
    assert (
        client.post(
            reverse("handling:customer_field", args=[customer.pk, "name"]), {"value": "Avslørt"}
        ).status_code
        == 404
    )
    assert client.get(reverse("handling:campaign_customers", args=[hidden.pk])).status_code == 404
    client.post(reverse("handling:customer_take", args=[customer.pk]))
    client.post(reverse("handling:customer_move", args=[customer.pk]), {"segment": world.cold.pk})
    customer.refresh_from_db()
    assert customer.name == "Skjult"
    assert Placement.objects.get(pk=customer.pk).holder is None
    assert not AuditEntry.objects.filter(customer=customer, actor_user=world.supervisor).exists()
    page = client.get(reverse("handling:search"), {"q": "Skjult"}).content.decode()
    assert "H-1" not in page


def test_pages_need_customer_handling(client: Client, world: World) -> None:
    client.force_login(UserFactory(perms=[Perm.REPORTING]))
    for name in ("my_work", "search", "selected_customers"):
        assert client.get(reverse(f"handling:{name}")).status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, world: World) -> None:
    response = client.get(reverse("handling:my_work"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_administrator_sees_only_the_data_owners_granted_to_them(world: World) -> None:
    """Rule 9 and the tenancy boundary: only a superuser (or a process) sees every data owner;
    an administrator sees those granted to them, in the screens as in the admin."""
    from kundeflyt.accounts.visibility import customers_visible_to
    from tests.factories import UserFactory

    customer = world.customer(1)
    administrator = UserFactory(perms=[Perm.ADMINISTRATOR, Perm.CUSTOMER_HANDLING])
    assert not customers_visible_to(administrator).filter(pk=customer.pk).exists()
    world.crm.data_owner.users.add(administrator)
    assert customers_visible_to(administrator).filter(pk=customer.pk).exists()
    superuser = UserFactory(perms=[], is_superuser=True)
    assert customers_visible_to(superuser).filter(pk=customer.pk).exists()
