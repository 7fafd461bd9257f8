"""Taking a customer (rule 1): leases, refusals with their reasons, fencing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kundeflyt.campaigns.models import PresentationMode
from kundeflyt.common.errors import Conflict, DomainError, NotAllowed, NotFound
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.services import blocked_number_add
from kundeflyt.handling.models import Placement
from kundeflyt.handling.selectors import current_selection
from kundeflyt.handling.services import (
    customer_release,
    customer_select,
    selection_renew,
    selection_stop,
)
from tests.factories import UserFactory
from tests.world import SETUP, World


def test_taking_a_customer_makes_it_the_users_only_current_customer(world: World) -> None:
    first = world.customer(1)
    second = world.customer(2)

    customer_select(world.agent, customer_id=first.pk)
    selection = customer_select(world.agent, customer_id=second.pk)

    assert current_selection(world.agent).pk == second.pk  # type: ignore[union-attr]
    assert Placement.objects.get(pk=first.pk).holder is None
    assert selection.placement.holder == world.agent
    assert AuditEntry.objects.filter(action="customer.select", customer=second).exists()


def test_taking_a_customer_held_by_someone_else_names_the_holder(world: World) -> None:
    customer = world.customer(1)
    customer_select(world.agent, customer_id=customer.pk)

    with pytest.raises(Conflict, match="Kari Nordmann has this customer open"):
        customer_select(world.agent2, customer_id=customer.pk)
    assert Placement.objects.get(pk=customer.pk).holder == world.agent


def test_a_lapsed_lease_can_be_taken_over_and_fences_the_old_holder(world: World) -> None:
    customer = world.customer(1)
    old = customer_select(world.agent, customer_id=customer.pk)
    Placement.objects.filter(pk=customer.pk).update(
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    new = customer_select(world.agent2, customer_id=customer.pk)

    assert new.token != old.token
    with pytest.raises(Conflict):
        selection_renew(world.agent, customer_id=customer.pk, token=old.token)
    selection_renew(world.agent2, customer_id=customer.pk, token=new.token)


def test_taking_again_in_a_second_tab_keeps_the_selection(world: World) -> None:
    customer = world.customer(1)
    first = customer_select(world.agent, customer_id=customer.pk)
    again = customer_select(world.agent, customer_id=customer.pk)
    assert again.token == first.token


def test_predictive_campaigns_refuse_manual_taking(world: World) -> None:
    world.campaign.presentation_mode = PresentationMode.PREDICTIVE
    world.campaign.save()
    customer = world.customer(1)

    with pytest.raises(DomainError, match="cannot be taken by hand") as refused:
        customer_select(world.agent, customer_id=customer.pk)
    assert refused.value.code == "predictive"
    assert Placement.objects.get(pk=customer.pk).holder is None


def test_campaign_outside_its_visibility_period_is_refused(world: World) -> None:
    world.campaign.visible_until = timezone.localdate() - dt.timedelta(days=1)
    world.campaign.save()
    customer = world.customer(1)

    with pytest.raises(DomainError, match="is not open now") as refused:
        customer_select(world.agent, customer_id=customer.pk)
    assert refused.value.field == "campaign"


def test_a_user_without_access_to_the_campaign_sees_no_customer(world: World) -> None:
    customer = world.customer(1)
    outsider = UserFactory()
    with pytest.raises(NotFound):
        customer_select(outsider, customer_id=customer.pk)

    world.campaign.visible_to_all = False
    world.campaign.save()
    world.campaign.users.add(world.agent2)
    with pytest.raises(NotFound):
        customer_select(world.agent, customer_id=customer.pk)
    customer_select(world.agent2, customer_id=customer.pk)


def test_a_user_without_customer_handling_is_refused(world: World) -> None:
    customer = world.customer(1)
    reader = UserFactory(perms=[])
    world.crm.data_owner.users.add(reader)
    with pytest.raises(NotAllowed, match="Customer handling"):
        customer_select(reader, customer_id=customer.pk)


def test_blocked_and_final_customers_cannot_be_taken(world: World) -> None:
    blocked = world.customer(1, phone1="912 34 567")
    blocked_number_add(SETUP, phone="+4791234567", reason="Reservert")
    with pytest.raises(DomainError, match="block list"):
        customer_select(world.agent, customer_id=blocked.pk)

    final = world.customer(2)
    Placement.objects.filter(pk=final.pk).update(
        state=world.campaign.flow.states.get(key="sold"), is_final=True
    )
    with pytest.raises(DomainError, match="final state"):
        customer_select(world.agent, customer_id=final.pk)


def test_release_own_and_others_needs_extended_handling(world: World) -> None:
    customer = world.customer(1)
    customer_select(world.agent, customer_id=customer.pk)

    with pytest.raises(NotAllowed):
        customer_release(world.agent2, customer_id=customer.pk)
    customer_release(world.supervisor, customer_id=customer.pk)

    assert Placement.objects.get(pk=customer.pk).holder is None
    entry = AuditEntry.objects.get(action="customer.release")
    assert entry.actor_user == world.supervisor
    assert entry.before["holder"] == world.agent.pk and entry.after["holder"] is None


def test_stop_working_releases_the_current_customer(world: World) -> None:
    customer = world.customer(1)
    customer_select(world.agent, customer_id=customer.pk)
    selection_stop(world.agent)
    assert current_selection(world.agent) is None
