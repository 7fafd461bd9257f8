"""Creating and editing customers: typed fields, phones in E.164, duplicates, the block list."""

from __future__ import annotations

import pytest

from kundeflyt.common.errors import DomainError, NotAllowed, NotFound
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import Customer
from kundeflyt.crm.services import (
    blocked_number_add,
    blocked_number_remove,
    customer_create,
    customer_update,
)
from kundeflyt.handling.models import Placement
from tests.factories import UserFactory
from tests.world import SETUP, World


def test_a_new_customer_gets_normalised_phones_and_starts_available(world: World) -> None:
    customer = world.customer(
        "K-1",
        phone1="912 34 567",
        phone2="0047 22 33 44 55",
        phone3="+46 70 123 45 67",
        email="Ola@Example.no",
        fields={"org_number": "923 609 016", "employees": "12"},
    )
    assert (customer.phone1, customer.phone2, customer.phone3) == (
        "+4791234567",
        "+4722334455",
        "+46701234567",
    )
    assert customer.email == "ola@example.no"
    assert customer.fields == {"org_number": "923609016", "employees": 12, "industry": None}
    placement = Placement.objects.get(pk=customer.pk)
    assert placement.state.key == "available" and placement.set_by_process == "test-setup"
    assert AuditEntry.objects.filter(customer=customer, action="customer.create").exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"phone1": "12"}, "phone1"),
        ({"phone2": "not a phone"}, "phone2"),
        ({"email": "nope@"}, "email"),
        ({"fields": {"org_number": "123456789"}}, "org_number"),
        ({"fields": {"employees": "mange"}}, "employees"),
        ({"fields": {"industry": "Fiske"}}, "industry"),
        ({"fields": {"shoe_size": 42}}, "shoe_size"),
    ],
)
def test_bad_values_are_refused_naming_the_field(
    world: World, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        world.customer("K-2", **kwargs)
    assert refused.value.field == field
    assert not Customer.objects.exists()


def test_duplicate_customer_ids_and_unique_fields_are_refused(world: World) -> None:
    world.customer("K-1", fields={"org_number": "923609016"})
    with pytest.raises(DomainError) as same_id:
        world.customer("K-1")
    assert same_id.value.field == "customer_id" and same_id.value.code == "duplicate"
    with pytest.raises(DomainError) as same_org:
        world.customer("K-2", fields={"org_number": "923609016"})
    assert same_org.value.field == "org_number"
    assert Customer.objects.count() == 1


def test_editing_checks_types_and_audits_before_and_after(world: World) -> None:
    customer = world.customer("K-1", phone1="91234567")
    with pytest.raises(DomainError) as refused:
        customer_update(world.agent, customer=customer, changes={"employees": "ti"})
    assert refused.value.field == "employees"

    customer_update(
        world.agent, customer=customer, changes={"employees": "10", "phone1": "+47 987 65 432"}
    )

    customer.refresh_from_db()
    assert customer.fields["employees"] == 10 and customer.phone1 == "+4798765432"
    entry = AuditEntry.objects.get(action="customer.update")
    assert entry.actor_user == world.agent
    assert entry.before == {
        "phone1": "+4791234567",
        "fields": {"org_number": None, "employees": None, "industry": None},
    }
    assert entry.after["phone1"] == "+4798765432"


def test_customers_outside_the_users_campaigns_are_not_found(world: World) -> None:
    customer = world.customer("K-1")
    with pytest.raises(NotFound):
        customer_update(UserFactory(), customer=customer, changes={"name": "X"})


def test_creating_needs_access_to_the_data_owner(world: World) -> None:
    with pytest.raises(NotAllowed):
        customer_create(UserFactory(), crm=world.crm, customer_id="X")


def test_the_block_list_blocks_and_unblocks_customers_by_any_of_their_numbers(
    world: World,
) -> None:
    customer = world.customer("K-1", phone1="91234567", phone2="98765432")
    blocked_number_add(SETUP, phone="987 65 432", reason="Reservert")
    customer.refresh_from_db()
    assert customer.is_blocked

    later = world.customer("K-2", phone3="98765432")
    assert later.is_blocked

    blocked_number_remove(SETUP, phone="+4798765432")
    customer.refresh_from_db()
    assert not customer.is_blocked

    with pytest.raises(NotAllowed):
        blocked_number_add(world.agent, phone="91234567")
    with pytest.raises(DomainError) as refused:
        blocked_number_add(SETUP, phone="abc")
    assert refused.value.field == "phone"
