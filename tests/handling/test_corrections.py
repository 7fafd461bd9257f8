"""Corrections (rule 5, D14, D15) and report facts (D16): never destroy, always agree."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kundeflyt.common.errors import Conflict, DomainError, NotAllowed
from kundeflyt.common.models import AuditEntry
from kundeflyt.handling.models import CorrectionRequest, Event, Placement
from kundeflyt.handling.services import (
    AfterSave,
    correction_send,
    correction_start,
    customer_present_next,
    customer_select,
    event_report_facts_change,
    outcome_register,
)
from tests.factories import UserFactory
from tests.world import World


def register(world: World, customer_id: int, key: str, *, user=None, **kwargs) -> Event:  # type: ignore[no-untyped-def]
    user = user or world.agent
    selection = customer_select(user, customer_id=customer_id)
    return outcome_register(
        user,
        customer_id=customer_id,
        token=selection.token,
        outcome_id=world.outcome(key).pk,
        then=AfterSave.MY_WORK,
        **kwargs,
    )


def soon() -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=2)


@pytest.fixture
def history(world: World) -> tuple[int, Event, Event]:
    """A customer with an attempt and then a wrong "refused" (final) as the latest outcome."""
    customer = world.customer(1)
    first = register(world, customer.pk, "no_answer")
    wrong = register(world, customer.pk, "refused", comment="Feil knapp")
    return customer.pk, first, wrong


def test_correcting_the_latest_outcome_myself_rewinds_the_state(
    world: World, history: tuple[int, Event, Event]
) -> None:
    customer_id, _first, wrong = history
    # Correcting it myself takes the customer in the same step (one service, item 2).
    selection = correction_start(world.supervisor, event_id=wrong.pk, as_original=False)
    assert selection.customer_id == customer_id
    correction = CorrectionRequest.objects.get(event=wrong)

    new = outcome_register(
        world.supervisor,
        customer_id=customer_id,
        token=selection.token,
        outcome_id=world.outcome("call_back").pk,
        follow_up_at=soon(),
        then=AfterSave.MY_WORK,
    )

    wrong.refresh_from_db()
    assert wrong.is_corrected and wrong.corrected_by == new
    assert new.corrects == wrong and new.from_state == wrong.from_state
    assert new.counts_for_user == world.supervisor
    placement = Placement.objects.get(pk=customer_id)
    assert placement.state.key == "available" and not placement.is_final
    assert placement.follow_up_at is not None and placement.correction is None
    correction.refresh_from_db()
    assert correction.status == "done"
    # Both stay in the history.
    assert Event.objects.filter(customer_id=customer_id).count() == 3


def test_as_the_original_user_at_the_original_time(
    world: World, history: tuple[int, Event, Event]
) -> None:
    customer_id, _first, wrong = history
    correction_start(world.supervisor, event_id=wrong.pk, as_original=True)
    selection = customer_select(world.supervisor, customer_id=customer_id)
    new = outcome_register(
        world.supervisor,
        customer_id=customer_id,
        token=selection.token,
        outcome_id=world.outcome("no_answer").pk,
    )
    assert new.actor_user == world.supervisor
    assert new.counts_for_user == world.agent and new.counts_at == wrong.counts_at


def test_correcting_an_older_outcome_leaves_the_current_state(
    world: World, history: tuple[int, Event, Event]
) -> None:
    customer_id, first, _wrong = history
    Placement.objects.filter(pk=customer_id).update(is_final=False)  # reopen for the test
    before = Placement.objects.get(pk=customer_id)
    correction_start(world.supervisor, event_id=first.pk, as_original=True)
    selection = customer_select(world.supervisor, customer_id=customer_id)

    outcome_register(
        world.supervisor,
        customer_id=customer_id,
        token=selection.token,
        outcome_id=world.outcome("call_back").pk,
        follow_up_at=soon(),
    )

    after = Placement.objects.get(pk=customer_id)
    assert after.state_id == before.state_id and after.follow_up_at is None
    first.refresh_from_db()
    assert first.is_corrected


def test_sent_for_correction_the_user_may_use_only_the_allowed_outcomes(
    world: World, history: tuple[int, Event, Event]
) -> None:
    customer_id, _first, wrong = history
    correction_send(
        world.supervisor,
        event_id=wrong.pk,
        to_user=world.agent,
        reason="Kunden sa ja til tilbud",
        allowed_outcome_ids=[world.outcome("sold").pk, world.outcome("call_back").pk],
    )
    # Nobody else gets it presented or can take it meanwhile.
    assert customer_present_next(world.agent2, campaign=world.campaign) is None
    with pytest.raises(Conflict, match="waits for correction by Kari Nordmann"):
        customer_select(world.agent2, customer_id=customer_id)

    selection = customer_select(world.agent, customer_id=customer_id)  # final, yet allowed
    with pytest.raises(DomainError, match="not allowed for this correction"):
        outcome_register(
            world.agent,
            customer_id=customer_id,
            token=selection.token,
            outcome_id=world.outcome("no_answer").pk,
        )
    new = outcome_register(
        world.agent,
        customer_id=customer_id,
        token=selection.token,
        outcome_id=world.outcome("call_back").pk,
        follow_up_at=soon(),
    )
    assert new.corrects == wrong
    assert AuditEntry.objects.filter(action="correction.send", customer_id=customer_id).exists()


def test_a_registration_is_corrected_only_once(
    world: World, history: tuple[int, Event, Event]
) -> None:
    customer_id, _first, wrong = history
    correction_start(world.supervisor, event_id=wrong.pk, as_original=False)
    with pytest.raises(Conflict, match="already waiting for correction"):
        correction_start(world.supervisor, event_id=wrong.pk, as_original=False)
    selection = customer_select(world.supervisor, customer_id=customer_id)
    outcome_register(
        world.supervisor,
        customer_id=customer_id,
        token=selection.token,
        outcome_id=world.outcome("no_answer").pk,
    )
    with pytest.raises(Conflict, match="already been corrected"):
        correction_send(
            world.supervisor,
            event_id=wrong.pk,
            to_user=world.agent,
            reason="Igjen",
            allowed_outcome_ids=[world.outcome("sold").pk],
        )


def test_bad_correction_requests_are_refused_and_change_nothing(
    world: World, history: tuple[int, Event, Event]
) -> None:
    _customer_id, _first, wrong = history
    with pytest.raises(NotAllowed):
        correction_start(world.agent, event_id=wrong.pk, as_original=False)
    for kwargs, field in [
        ({"reason": " ", "allowed_outcome_ids": [world.outcome("sold").pk]}, "reason"),
        ({"reason": "x", "allowed_outcome_ids": []}, "allowed_outcomes"),
        ({"reason": "x", "allowed_outcome_ids": [999_999]}, "allowed_outcomes"),
    ]:
        with pytest.raises(DomainError) as refused:
            correction_send(world.supervisor, event_id=wrong.pk, to_user=world.agent, **kwargs)
        assert refused.value.field == field
    with pytest.raises(DomainError) as stranger:
        correction_send(
            world.supervisor,
            event_id=wrong.pk,
            to_user=UserFactory(),
            reason="x",
            allowed_outcome_ids=[world.outcome("sold").pk],
        )
    assert stranger.value.field == "to_user"
    assert not CorrectionRequest.objects.exists()


def test_report_facts_change_is_audited_and_the_event_stays(
    world: World, history: tuple[int, Event, Event]
) -> None:
    _customer_id, first, _wrong = history
    later = timezone.now() - dt.timedelta(days=1)
    event_report_facts_change(
        world.supervisor,
        event_id=first.pk,
        included_in_reports=False,
        counts_for_user=world.agent2,
        counts_at=later,
    )
    first.refresh_from_db()
    assert not first.included_in_reports and first.counts_for_user == world.agent2
    assert first.counts_at == later and not first.is_corrected
    entry = AuditEntry.objects.get(action="event.report_facts")
    assert (
        entry.before["included_in_reports"] is True
        and entry.after["counts_for_user"] == world.agent2.pk
    )
    with pytest.raises(NotAllowed):
        event_report_facts_change(
            world.agent,
            event_id=first.pk,
            included_in_reports=True,
            counts_for_user=world.agent,
            counts_at=later,
        )


def test_a_correction_can_be_withdrawn_before_it_is_registered(
    client,
    world: World,
    history: tuple[int, Event, Event],  # type: ignore[no-untyped-def]
) -> None:
    from django.urls import reverse

    customer_id, _first, wrong = history
    correction_send(
        world.supervisor,
        event_id=wrong.pk,
        to_user=world.agent,
        reason="Sjekk",
        allowed_outcome_ids=[world.outcome("call_back").pk],
    )
    client.force_login(world.supervisor)
    response = client.post(reverse("handling:correction_withdraw", args=[customer_id]), follow=True)
    assert "The correction is withdrawn." in response.content.decode()
    assert CorrectionRequest.objects.get().status == "cancelled"
    assert Placement.objects.get(pk=customer_id).correction is None
    assert AuditEntry.objects.filter(action="correction.cancel").exists()
    wrong.refresh_from_db()
    assert not wrong.is_corrected
