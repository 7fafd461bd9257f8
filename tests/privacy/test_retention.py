"""Retention (GDPR Art. 5(1)(e)): inactive customers are erased by the nightly job, only after
a privacy officer has seen the dry run and confirmed it; activity of any kind keeps them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kundeflyt.accounts.models import User
from kundeflyt.common.errors import Conflict, DomainError, NotFound
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import CRM, Customer
from kundeflyt.handling.models import Placement
from kundeflyt.handling.services import AfterSave, customer_select, outcome_register
from kundeflyt.privacy.models import PrivacyRequest, Right
from kundeflyt.privacy.retention import (
    months_before,
    retention_candidates,
    retention_confirm,
    retention_plans,
    retention_run,
    retention_set,
)
from tests.factories import CRMFactory, UserFactory
from tests.world import World

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
LONG_AGO = NOW - dt.timedelta(days=800)


def aged(customer: Customer) -> Customer:
    """A customer last touched more than two years ago."""
    Customer.objects.filter(pk=customer.pk).update(created_at=LONG_AGO, updated_at=LONG_AGO)
    Placement.objects.filter(pk=customer.pk).update(changed_at=LONG_AGO)
    return Customer.objects.get(pk=customer.pk)


def test_months_before_keeps_the_day_or_takes_the_months_last() -> None:
    oslo = timezone.get_default_timezone()
    assert months_before(dt.datetime(2026, 3, 31, 12, tzinfo=oslo), 1).date() == dt.date(
        2026, 2, 28
    )
    assert months_before(dt.datetime(2026, 1, 15, 12, tzinfo=oslo), 13).date() == dt.date(
        2024, 12, 15
    )


def test_only_the_inactive_are_due(world: World) -> None:
    quiet = aged(world.customer("Q"))
    called = aged(world.customer("C"))
    edited = aged(world.customer("E"))
    waiting = aged(world.customer("W"))
    fresh = world.customer("F")
    CRM.objects.filter(pk=world.crm.pk).update(retention_months=24)
    world.crm.refresh_from_db()
    selection = customer_select(world.agent, customer_id=called.pk)
    outcome_register(
        world.agent,
        customer_id=called.pk,
        token=selection.token,
        outcome_id=world.outcome("no_answer").pk,
        then=AfterSave.MY_WORK,
    )
    Placement.objects.filter(pk=called.pk).update(changed_at=LONG_AGO)  # only the event is new
    Customer.objects.filter(pk=edited.pk).update(updated_at=NOW - dt.timedelta(days=3))
    Placement.objects.filter(pk=waiting.pk).update(follow_up_at=LONG_AGO)  # an open follow-up

    due = set(retention_candidates(world.crm, NOW))

    assert due == {quiet}
    assert fresh not in due


def test_nothing_is_erased_until_an_officer_confirms_the_dry_run(
    world: World, officer: User
) -> None:
    quiet = aged(world.customer("Q"))
    retention_set(officer, crm_id=world.crm.pk, months=24)

    plan = next(p for p in retention_plans(officer, NOW) if p.crm == world.crm)
    assert (plan.due, plan.sample) == (1, [quiet])
    assert retention_run(NOW) == {}
    assert Customer.objects.get(pk=quiet.pk).anonymised_at is None

    retention_confirm(officer, crm_id=world.crm.pk)
    assert retention_run(NOW) == {world.crm.pk: 1}

    assert Customer.objects.get(pk=quiet.pk).anonymised_at is not None
    logged = PrivacyRequest.objects.get()
    assert (logged.right, logged.actor_process, logged.reason) == (
        Right.RETENTION,
        "retention",
        "No activity for 24 months.",
    )
    assert AuditEntry.objects.filter(
        action="customer.anonymise", actor_process="retention"
    ).exists()
    assert retention_run(NOW) == {}  # nothing twice


def test_a_new_period_asks_for_confirmation_again(world: World, officer: User) -> None:
    retention_set(officer, crm_id=world.crm.pk, months=24)
    retention_confirm(officer, crm_id=world.crm.pk)

    retention_set(officer, crm_id=world.crm.pk, months=12)

    assert CRM.objects.get(pk=world.crm.pk).retention_confirmed_at is None


def test_refusals_change_nothing(world: World, officer: User) -> None:
    other = CRMFactory()
    for months in ("0", "241", "12a", "9" * 40, "-3", "1\x00"):
        with pytest.raises(DomainError):
            retention_set(officer, crm_id=world.crm.pk, months=months)
    with pytest.raises(NotFound):
        retention_set(officer, crm_id=other.pk, months=12)
    with pytest.raises(DomainError, match="first"):
        retention_confirm(officer, crm_id=world.crm.pk)
    with pytest.raises(DomainError):
        retention_set(world.supervisor, crm_id=world.crm.pk, months=12)
    assert CRM.objects.get(pk=world.crm.pk).retention_months is None
    retention_set(officer, crm_id=world.crm.pk, months=12)
    retention_confirm(officer, crm_id=world.crm.pk)
    with pytest.raises(Conflict):
        retention_confirm(officer, crm_id=world.crm.pk)


def test_the_page_shows_the_dry_run_and_confirms(
    world: World, officer: User, client: Client
) -> None:
    aged(world.customer("Q"))
    client.force_login(officer)

    client.post(reverse("privacy:retention_change"), {"crm": world.crm.pk, "months": "24"})
    page = client.get(reverse("privacy:retention")).content.decode()
    assert "Not started. The first run would erase 1 customer" in page
    assert "Kunde Q" in page

    client.post(reverse("privacy:retention_change"), {"crm": world.crm.pk, "confirm": "yes"})
    assert CRM.objects.get(pk=world.crm.pk).retention_confirmed_at is not None
    refused = client.post(reverse("privacy:retention_change"), {"crm": "x", "months": "1"})
    assert refused.status_code == 302
    assert client.get(reverse("privacy:retention")).status_code == 200
    agent = UserFactory()
    client.force_login(agent)
    assert client.get(reverse("privacy:retention")).status_code == 403
