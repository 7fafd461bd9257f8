"""A correction racing a new registration on PostgreSQL (rule 5 under concurrency)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from django.db import connection

from kundeflyt.common.errors import Conflict
from kundeflyt.handling.models import CorrectionRequest, Event, Placement
from kundeflyt.handling.services import (
    AfterSave,
    correction_send,
    customer_select,
    outcome_register,
)
from tests.handling.test_concurrency import after, lapse, together
from tests.world import World

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 20
DELAYS = (0.0, 0.02, 0.05, 0.1, 0.2)  # seconds the registration starts late


@pytest.fixture(autouse=True)
def _close_threads_connections() -> Iterator[None]:
    yield
    connection.close()


def test_sending_for_correction_while_the_agent_registers_leaves_one_story(
    world: World,
) -> None:
    orders: Counter[str] = Counter()
    for n in range(ROUNDS):
        customer = world.customer(f"race-{n}")
        first = customer_select(world.agent, customer_id=customer.pk)
        wrong = outcome_register(
            world.agent,
            customer_id=customer.pk,
            token=first.token,
            outcome_id=world.outcome("no_answer").pk,
        )
        lapse(customer.pk)  # the agent went quiet: a supervisor may act, the agent is late

        # The registration starts a little late in some rounds, so that both orders happen.
        registered, sent = together(
            after(
                DELAYS[n % len(DELAYS)],
                lambda c=customer.pk, t=first.token: outcome_register(
                    world.agent,
                    customer_id=c,
                    token=t,
                    outcome_id=world.outcome("refused").pk,
                    comment="Nei",
                    then=AfterSave.MY_WORK,
                ),
            ),
            lambda w=wrong.pk: correction_send(
                world.supervisor,
                event_id=w,
                to_user=world.agent,
                reason="Sjekk",
                allowed_outcome_ids=[world.outcome("call_back").pk],
            ),
        )

        assert sent.ok, sent.error  # the lapsed selection never blocks the supervisor
        placement = Placement.objects.get(pk=customer.pk)
        correction = CorrectionRequest.objects.get(event=wrong)
        assert placement.correction == correction and placement.holder is None
        events = list(Event.objects.filter(customer=customer).order_by("registered_at", "pk"))
        if registered.ok:
            # The registration came first: the sent event is no longer the latest, and the
            # state is the registration's.
            orders["registered first"] += 1
            assert [e.outcome.key for e in events] == ["no_answer", "refused"]
            assert placement.state.key == "refused" and placement.is_final
        else:
            # The correction came first and cut the lapsed selection: the agent is fenced.
            orders["sent first"] += 1
            assert isinstance(registered.error, Conflict)
            assert [e.outcome.key for e in events] == ["no_answer"]
            assert placement.state.key == "available"
        assert not any(e.is_corrected for e in events)  # nothing corrected until registered
    print(dict(orders))
    assert len(orders) == 2, f"only one order happened: {dict(orders)}"
