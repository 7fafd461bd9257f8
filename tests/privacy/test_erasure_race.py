"""An erasure racing a registration on the same customer, on PostgreSQL: one order wins, and
nothing personal survives the erasure in either."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from django.db import connection

from kundeflyt.accounts.models import User
from kundeflyt.common.errors import Conflict
from kundeflyt.crm.models import Customer
from kundeflyt.handling.models import Event, Placement
from kundeflyt.handling.services import AfterSave, customer_select, outcome_register
from kundeflyt.privacy.services import customer_anonymise
from tests.handling.test_concurrency import after, together
from tests.world import World

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 16
DELAYS = (0.0, 0.02, 0.05, 0.1)  # seconds the registration starts late


@pytest.fixture(autouse=True)
def _close_threads_connections() -> Iterator[None]:
    yield
    connection.close()


def test_an_erasure_and_a_registration_at_once_leave_nothing_personal(
    world: World, officer: User
) -> None:
    orders: Counter[str] = Counter()
    for n in range(ROUNDS):
        customer = world.customer(f"race-{n}", phone1=f"9123{n:04d}")
        selection = customer_select(world.agent, customer_id=customer.pk)

        registered, erased = together(
            after(
                DELAYS[n % len(DELAYS)],
                lambda c=customer.pk, t=selection.token, n=n: outcome_register(
                    world.agent,
                    customer_id=c,
                    token=t,
                    outcome_id=world.outcome("no_answer").pk,
                    comment=f"Kunde race-{n} sa nei",
                    then=AfterSave.MY_WORK,
                ),
            ),
            lambda c=customer.pk: customer_anonymise(officer, customer_id=c, reason="Ba om det"),
        )

        assert erased.ok, erased.error  # a selection never stops an erasure
        stored = Customer.objects.get(pk=customer.pk)
        assert stored.anonymised_at is not None and stored.name == "" and stored.phone1 == ""
        assert not Event.objects.filter(customer=customer, comment__contains="race").exists()
        assert Placement.objects.get(pk=customer.pk).holder is None
        if registered.ok:
            orders["registered first"] += 1
            assert Event.objects.filter(customer=customer).count() == 1
        else:
            orders["erased first"] += 1
            assert isinstance(registered.error, Conflict)
            assert not Event.objects.filter(customer=customer).exists()
    print(dict(orders))
    assert len(orders) == 2, f"only one order happened: {dict(orders)}"
