"""Undoing an import while its customers have no registrations."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kundeflyt.common.actors import Process
from kundeflyt.common.errors import Conflict
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import Customer
from kundeflyt.crm.services import customer_create, customer_update
from kundeflyt.flows.models import Outcome
from kundeflyt.handling.models import Placement
from kundeflyt.handling.services import customer_select, outcome_register
from kundeflyt.imports import services
from kundeflyt.imports.models import ImportBatch
from tests.imports.conftest import HEADER, Place
from tests.imports.sheets import csv_bytes
from tests.imports.test_import_run import kari

KEEPER = Process("test-keeper")


def test_undo_removes_what_it_created_and_restores_what_it_updated(place: Place) -> None:
    untouched = customer_create(KEEPER, crm=place.crm, customer_id="1", name="Kari Gammel")
    edited = customer_create(KEEPER, crm=place.crm, customer_id="2", name="Ola Gammel")
    content = csv_bytes([HEADER, kari(1), kari(2), kari(3), kari(4)])
    batch = place.run(place.upload(content), campaign=place.campaign, on_duplicate="all")
    assert (batch.created_count, batch.updated_count) == (2, 2)
    # Someone corrects customer 2's name after the import: the undo leaves that alone.
    customer_update(place.setup, customer=edited, changes={"name": "Ola Rettet"})

    batch = services.import_undo(place.setup, batch=batch)

    assert batch.status == ImportBatch.Status.UNDONE
    assert (batch.removed_count, batch.restored_count) == (2, 2)
    assert batch.undone_by == place.setup
    assert set(Customer.objects.values_list("customer_id", flat=True)) == {"1", "2"}
    assert not Placement.objects.exists()
    untouched.refresh_from_db()
    edited.refresh_from_db()
    assert (untouched.name, untouched.phone1) == ("Kari Gammel", "")
    assert (edited.name, edited.phone1) == ("Ola Rettet", "")  # its phone was restored
    # The batch keeps the record of what the import did and of the undo.
    assert AuditEntry.objects.filter(action="customer.import", object_id=str(batch.pk)).exists()
    undo = AuditEntry.objects.get(action="import.undo")
    assert len(undo.after["removed"]) == 2
    assert AuditEntry.objects.filter(action="customer.import_undo", customer=edited).exists()


@pytest.mark.usefixtures("in_calling_hours")  # takes a consumer
def test_undo_is_refused_once_a_customer_has_a_registration(place: Place) -> None:
    batch = place.run(place.upload(csv_bytes([HEADER, kari(1), kari(2)])), campaign=place.campaign)
    customer = Customer.objects.get(customer_id="1")
    selection = customer_select(place.agent, customer_id=customer.pk)
    outcome_register(
        place.agent,
        customer_id=customer.pk,
        token=selection.token,
        outcome_id=Outcome.objects.get(flow=place.campaign.flow, key="no_answer").pk,
    )

    with pytest.raises(Conflict, match="registration"):
        services.import_undo(place.setup, batch=batch)

    assert Customer.objects.count() == 2


@pytest.mark.usefixtures("in_calling_hours")  # takes a consumer
def test_undo_is_refused_while_someone_has_a_customer_open(place: Place) -> None:
    batch = place.run(place.upload(csv_bytes([HEADER, kari(1)])), campaign=place.campaign)
    customer_select(place.agent, customer_id=Customer.objects.get().pk)

    with pytest.raises(Conflict, match="open"):
        services.import_undo(place.setup, batch=batch)

    assert Customer.objects.count() == 1
    # Once the selection has lapsed, the undo goes through.
    Placement.objects.update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    services.import_undo(place.setup, batch=batch)
    assert not Customer.objects.exists()


def test_an_import_is_undone_once(place: Place) -> None:
    batch = place.run(place.upload(csv_bytes([HEADER, kari(1)])))
    services.import_undo(place.setup, batch=batch)

    with pytest.raises(Conflict, match="already"):
        services.import_undo(place.setup, batch=batch)


def test_an_agent_may_not_undo(place: Place) -> None:
    batch = place.run(place.upload(csv_bytes([HEADER, kari(1)])))

    with pytest.raises(Exception, match="permission"):
        services.import_undo(place.agent, batch=batch)
    assert Customer.objects.count() == 1
