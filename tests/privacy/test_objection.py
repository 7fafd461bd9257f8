"""Objection (GDPR Art. 21): "don't call me again" blocks the person's numbers for the data
owner the objection was made to, and for no one else."""

from __future__ import annotations

import pytest
from django.utils import timezone

from kundeflyt.accounts.models import User
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.crm.models import CRM, BlockedNumber, Customer
from kundeflyt.crm.services import blocked_number_add, blocked_number_remove, customer_update
from kundeflyt.handling.models import Placement
from kundeflyt.handling.services import customer_present_next, customer_select
from kundeflyt.privacy.models import PrivacyRequest, Right
from kundeflyt.privacy.services import customer_object
from kundeflyt.webhooks.models import Delivery, EventType, Subscription
from tests.factories import CampaignFactory, CRMFactory
from tests.world import SETUP, World

pytestmark = pytest.mark.django_db


@pytest.fixture
def ola(world: World) -> Customer:
    return world.customer("O-1", phone1="912 34 567")


def test_the_agent_records_it_for_the_customer_on_the_screen(world: World, ola: Customer) -> None:
    Subscription.objects.create(
        data_owner=world.crm.data_owner,
        url="https://crm.example/hook",
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        events=[EventType.CUSTOMER_BLOCKED.value],
    )
    customer_select(world.agent, customer_id=ola.pk)
    Placement.objects.filter(pk=ola.pk).update(follow_up_at=timezone.now())
    same_owner_consumer = world.customer("O-2", phone1="91234567")  # the same number, same owner
    other_owner = CampaignFactory(crm=CRMFactory(kind=CRM.Kind.B2C))
    elsewhere = Customer.objects.create(
        crm=other_owner.crm, customer_id="O-1", phone1="+4791234567", source="manual"
    )

    request = customer_object(
        world.agent, customer_id=ola.pk, reason="Ba om å slippe flere oppringinger"
    )

    assert request.right == Right.OBJECTION
    entry = BlockedNumber.objects.get()
    assert (entry.phone, entry.data_owner, entry.actor_user) == (
        "+4791234567",
        world.crm.data_owner,
        world.agent,
    )
    blocked = dict(Customer.objects.values_list("pk", "is_blocked"))
    assert blocked == {ola.pk: True, same_owner_consumer.pk: True, elsewhere.pk: False}
    placement = Placement.objects.get(pk=ola.pk)
    assert (placement.holder, placement.follow_up_at) == (None, None)
    assert customer_present_next(world.agent, campaign=world.campaign) is None
    assert {d.payload["data"]["customer"] for d in Delivery.objects.all()} == {
        ola.pk,
        same_owner_consumer.pk,
    }


def test_the_objection_outlives_the_block_list_for_everyone(world: World, ola: Customer) -> None:
    blocked_number_add(SETUP, phone="91234567", reason="Svindel")
    customer_object(world.agent, customer_id=ola.pk, reason="Vil ikke ringes")

    blocked_number_remove(SETUP, phone="91234567")
    customer_update(SETUP, customer=ola, changes={"name": "Ola Nordmann"})

    assert Customer.objects.get(pk=ola.pk).is_blocked


def test_an_officer_records_it_for_any_customer_of_the_data_owner(
    world: World, officer: User, ola: Customer
) -> None:
    world.campaign.visible_to_all = False  # the officer may not see it as an agent would
    world.campaign.save()

    customer_object(officer, customer_id=ola.pk, reason="Brev 4. mars")

    assert Customer.objects.get(pk=ola.pk).is_blocked
    assert PrivacyRequest.objects.get().actor_user == officer


def test_refusals_change_nothing(world: World, ola: Customer) -> None:
    no_phone = world.customer("O-3")
    stranger_owner = CampaignFactory()
    stranger = Customer.objects.create(
        crm=stranger_owner.crm, customer_id="S", phone1="+4798765432", source="manual"
    )
    with pytest.raises(DomainError) as missing:
        customer_object(world.agent, customer_id=ola.pk, reason="")
    assert missing.value.field == "reason"
    with pytest.raises(DomainError, match="no phone"):
        customer_object(world.agent, customer_id=no_phone.pk, reason="Vil ikke")
    with pytest.raises(NotFound):
        customer_object(world.agent, customer_id=stranger.pk, reason="Vil ikke")
    with pytest.raises(DomainError):
        customer_object(world.agent, customer_id=ola.pk, reason="x" * 501)
    assert not BlockedNumber.objects.exists()
    assert not PrivacyRequest.objects.exists()
    assert not Customer.objects.filter(is_blocked=True).exists()


def test_the_objection_follows_the_person_to_a_new_number(world: World, ola: Customer) -> None:
    customer_object(world.agent, customer_id=ola.pk, reason="Vil ikke ringes")

    customer_update(SETUP, customer=ola, changes={"phone1": "41234567"})

    changed = Customer.objects.get(pk=ola.pk)
    assert (changed.phone1, changed.is_blocked) == ("+4741234567", True)
    assert changed.objected_at is not None
    with pytest.raises(DomainError):
        customer_select(world.agent, customer_id=ola.pk)
