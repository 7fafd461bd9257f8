"""Erasure by anonymisation (GDPR Art. 17): what it clears, what it keeps, and that an erased
person is never brought back or presented again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.campaigns.models import ExtraField
from kundeflyt.common.errors import Conflict, DomainError, NotAllowed, NotFound
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import Customer
from kundeflyt.crm.services import customer_update
from kundeflyt.exports.models import Export
from kundeflyt.handling.models import Event, Meeting, Placement
from kundeflyt.handling.services import (
    AfterSave,
    MeetingInput,
    customer_present_next,
    customer_select,
    outcome_register,
)
from kundeflyt.imports.models import ImportBatch, ImportFileChunk
from kundeflyt.privacy.models import AccessLogEntry, ErasedKey, PrivacyRequest, Right
from kundeflyt.privacy.services import customer_anonymise
from kundeflyt.webhooks.models import Delivery, EventType, Subscription
from tests.factories import UserFactory
from tests.world import SETUP, World

pytestmark = pytest.mark.django_db


def register(world: World, customer: Customer, key: str, **kwargs: object) -> Event:
    selection = customer_select(world.agent, customer_id=customer.pk)
    return outcome_register(
        world.agent,
        customer_id=customer.pk,
        token=selection.token,
        outcome_id=world.outcome(key).pk,
        then=AfterSave.MY_WORK,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def kari(world: World) -> Customer:
    """A customer with a history that holds personal data everywhere it can."""
    ExtraField.objects.create(
        campaign=world.campaign, applies_to="outcome", key="note", label="Notat", type="text"
    )
    ExtraField.objects.create(
        campaign=world.campaign, applies_to="outcome", key="size", label="Størrelse", type="number"
    )
    customer = world.customer(
        "K-1", phone1="912 34 567", phone2="+47 22 33 44 55", email="kari@example.no"
    )
    customer_update(SETUP, customer=customer, changes={"name": "Kari Nordmann", "employees": 12})
    Subscription.objects.create(
        data_owner=world.crm.data_owner,
        url="https://crm.example/hook",
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        events=[e.value for e in EventType],
    )
    register(world, customer, "no_answer", comment="Kari sier hun har hund som heter Fido")
    event = register(world, customer, "no_answer", comment="Ring etter kl 18")
    Event.objects.filter(pk=event.pk).update(extra_values={"note": "Bor i Storgata 1", "size": 3})
    return Customer.objects.get(pk=customer.pk)


def test_erasure_clears_the_person_and_keeps_the_events(
    world: World, officer: User, kari: Customer
) -> None:
    events_before = list(
        Event.objects.filter(customer=kari).values_list("pk", "outcome", "counts_at")
    )

    AccessLogEntry.objects.create(user=world.agent, kind="details", customer=kari)
    request = customer_anonymise(officer, customer_id=kari.pk, reason="E-post 3. mars")

    kari.refresh_from_db()
    assert (kari.name, kari.phone1, kari.phone2, kari.email, kari.fields) == ("", "", "", "", {})
    assert kari.customer_id == f"erased-{kari.pk}"
    assert kari.anonymised_at is not None
    # The events stay as they counted; only what they said about the person is gone.
    assert list(Event.objects.filter(customer=kari).values_list("pk", "outcome", "counts_at")) == (
        events_before
    )
    assert set(Event.objects.filter(customer=kari).values_list("comment", flat=True)) == {""}
    assert Event.objects.filter(customer=kari, extra_values__has_key="note").get().extra_values == {
        "note": "",
        "size": 3,
    }
    # The recorded changes no longer say who the person was.
    written = str(list(AuditEntry.objects.filter(customer_id=kari.pk).values("before", "after")))
    for secret in ("Kari", "91234567", "22334455", "kari@example.no", "K-1", "Fido"):
        assert secret not in written
    # Nor do the logged webhook messages, except the one telling the client which to erase.
    for delivery in Delivery.objects.exclude(event_type=EventType.CUSTOMER_ANONYMISED):
        assert "K-1" not in str(delivery.payload)
    told = Delivery.objects.get(event_type=EventType.CUSTOMER_ANONYMISED)
    assert told.payload["data"] == {"customer": kari.pk, "customer_id": "K-1"}
    # Recognisable only by keyed hashes.
    assert ErasedKey.objects.filter(crm=world.crm).count() == 3
    assert "91234567" not in str(list(ErasedKey.objects.values()))
    assert not AccessLogEntry.objects.filter(customer=kari).exists()
    assert request.right == Right.ERASURE
    assert request.reason == "E-post 3. mars"
    assert PrivacyRequest.objects.get() == request
    assert AuditEntry.objects.filter(action="customer.anonymise", actor_user=officer).exists()


def test_an_erased_person_is_never_presented_or_taken_again(
    world: World, officer: User, kari: Customer
) -> None:
    Placement.objects.filter(pk=kari.pk).update(
        follow_up_at=timezone.now(), follow_up_user=world.agent
    )

    customer_anonymise(officer, customer_id=kari.pk, reason="Ba om sletting")

    placement = Placement.objects.get(pk=kari.pk)
    assert (placement.holder, placement.follow_up_at, placement.follow_up_user) == (
        None,
        None,
        None,
    )
    assert customer_present_next(world.agent, campaign=world.campaign) is None
    with pytest.raises(DomainError, match="anonymised"):
        customer_select(world.agent, customer_id=kari.pk)


def test_the_holders_late_registration_is_refused_after_erasure(
    world: World, officer: User, kari: Customer
) -> None:
    selection = customer_select(world.agent, customer_id=kari.pk)

    customer_anonymise(officer, customer_id=kari.pk, reason="Ba om sletting")

    with pytest.raises(Conflict):
        outcome_register(
            world.agent,
            customer_id=kari.pk,
            token=selection.token,
            outcome_id=world.outcome("no_answer").pk,
            comment="Kari Nordmann sa …",
        )
    assert not Event.objects.filter(comment__contains="Kari").exists()


def test_meetings_lose_their_place_and_names(world: World, officer: User, kari: Customer) -> None:
    world.campaign.flow.outcomes.filter(key="call_back").update(books_meeting=True)
    register(
        world,
        kari,
        "call_back",
        follow_up_at=timezone.now() + dt.timedelta(days=1),
        meeting=MeetingInput(
            starts_at=timezone.now() + dt.timedelta(days=2), place="Storgata 1", with_whom="Kari"
        ),
    )

    customer_anonymise(officer, customer_id=kari.pk, reason="Ba om sletting")

    assert list(Meeting.objects.values_list("place", "with_whom")) == [("", "")]


def test_import_and_export_files_that_may_hold_the_person_are_deleted(
    world: World,
    officer: User,
    kari: Customer,
    tmp_path: Path,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.DATA_DIR = tmp_path
    settings_data_dir = tmp_path
    batch = ImportBatch.objects.create(
        crm=world.crm,
        actor_process="test",
        file_name="kunder.csv",
        file_sha256="0" * 64,
        file_kind="csv",
        status=ImportBatch.Status.DONE,
    )
    ImportFileChunk.objects.create(batch=batch, position=0, data=b"K-1;Kari Nordmann")
    Customer.objects.filter(pk=kari.pk).update(import_batch=batch)
    (settings_data_dir / "exports").mkdir(parents=True)
    (settings_data_dir / "exports" / "x.csv").write_text("K-1;Kari Nordmann")
    viewer = UserFactory()
    world.crm.data_owner.users.add(viewer)
    export = Export.objects.create(
        user=viewer,
        kind="customers",
        format="csv",
        language="nb",
        status=Export.Status.DONE,
        created_at=timezone.now(),
        expires_at=timezone.now() + dt.timedelta(days=1),
        file_name="x.csv",
    )
    outsider = Export.objects.create(
        user=UserFactory(),
        kind="customers",
        format="csv",
        language="nb",
        status=Export.Status.DONE,
        created_at=timezone.now(),
        expires_at=timezone.now() + dt.timedelta(days=1),
        file_name="y.csv",
    )

    with django_capture_on_commit_callbacks(execute=True):
        customer_anonymise(officer, customer_id=kari.pk, reason="Ba om sletting")

    assert not ImportFileChunk.objects.filter(batch=batch).exists()
    export.refresh_from_db()
    assert export.status == Export.Status.EXPIRED
    assert not (settings_data_dir / "exports" / "x.csv").exists()
    outsider.refresh_from_db()
    assert outsider.status == Export.Status.DONE


def test_refusals_change_nothing(world: World, officer: User, kari: Customer) -> None:
    with pytest.raises(NotAllowed):
        customer_anonymise(world.supervisor, customer_id=kari.pk, reason="x")
    stranger = UserFactory(perms=[Perm.PRIVACY_OFFICER])  # of no data owner
    with pytest.raises(NotFound):
        customer_anonymise(stranger, customer_id=kari.pk, reason="x")
    with pytest.raises(DomainError) as missing:
        customer_anonymise(officer, customer_id=kari.pk, reason="  ")
    assert missing.value.field == "reason"
    with pytest.raises(DomainError):
        customer_anonymise(officer, customer_id=kari.pk, reason="x\x00y")
    assert Customer.objects.get(pk=kari.pk).name == "Kari Nordmann"
    assert not PrivacyRequest.objects.exists()
    assert not ErasedKey.objects.exists()

    customer_anonymise(officer, customer_id=kari.pk, reason="Ba om sletting")
    with pytest.raises(Conflict, match="already"):
        customer_anonymise(officer, customer_id=kari.pk, reason="Igjen")
    assert PrivacyRequest.objects.count() == 1


def test_an_erased_person_is_not_registered_again(
    world: World, officer: User, kari: Customer
) -> None:
    customer_anonymise(officer, customer_id=kari.pk, reason="Ba om sletting")

    for again in ({"n": "K-1"}, {"n": "K-2", "phone1": "91234567"}):
        with pytest.raises(Conflict, match="erased") as refused:
            world.customer(again.pop("n"), **again)
        assert refused.value.code == "erased"
    world.customer("K-3", phone1="91234568")  # someone else is welcome


def test_a_file_does_not_bring_an_erased_person_back(db: None) -> None:
    from tests.imports.conftest import HEADER, build_place
    from tests.imports.sheets import csv_bytes

    place = build_place()
    officer = UserFactory(perms=[Perm.PRIVACY_OFFICER])
    place.crm.data_owner.users.add(officer)

    def row(n: int, phone: str) -> list[str]:
        return [str(n), "Kari", "Nordmann", phone, "", "0150", "01.02.1980"]

    first = place.run(place.upload(csv_bytes([HEADER, row(1001, "912 34 567")])))
    assert first.created_count == 1
    customer_anonymise(officer, customer_id=Customer.objects.get().pk, reason="Ba om sletting")

    again = place.run(
        place.upload(
            csv_bytes(
                [HEADER, row(1001, "41234567"), row(1002, "+47 912 34 567"), row(1003, "41234568")]
            )
        )
    )

    assert (again.created_count, again.rejected_count) == (1, 2)
    assert {e.row: e.reason for e in again.errors.all()} == {
        2: "The person was erased at their own request and is not imported again.",
        3: "The person was erased at their own request and is not imported again.",
    }
    assert set(Customer.objects.values_list("customer_id", flat=True)) == {
        f"erased-{Customer.objects.get(anonymised_at__isnull=False).pk}",
        "1003",
    }
