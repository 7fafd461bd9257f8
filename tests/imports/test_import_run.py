"""Importing a file through the services: what is created, placed, updated, skipped,
screened and rejected, and why."""

from __future__ import annotations

import datetime as dt

import pytest

from kundeflyt.accounts.permissions import Perm
from kundeflyt.common.actors import Process
from kundeflyt.common.errors import DomainError, NotAllowed, NotFound
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import BlockedNumber, Customer, FieldDefinition
from kundeflyt.crm.services import blocked_number_add, customer_create
from kundeflyt.handling.models import Placement
from kundeflyt.imports import services
from kundeflyt.imports.models import ImportBatch, ImportMapping, ImportRowError
from tests.factories import CRMFactory, UserFactory
from tests.imports.conftest import HEADER, Place
from tests.imports.sheets import csv_bytes, ods_bytes, xlsx_bytes

KEEPER = Process("test-keeper")


def kari(n: int = 1001, phone: str = "912 34 567", **over: str) -> list[str]:
    row = {
        "id": str(n),
        "first": "Kari",
        "last": f"Nordmann {n}",
        "phone": phone,
        "email": f"kari{n}@example.no",
        "postcode": "0150",
        "born": "01.02.1980",
    } | over
    return list(row.values())


def test_a_csv_lands_in_the_campaign_available_with_every_field_cleaned(place: Place) -> None:
    batch = place.upload(csv_bytes([HEADER, kari(1001), kari(1002, "41234567")]))

    batch = place.run(batch, campaign=place.campaign, segment=place.oslo)

    assert batch.status == ImportBatch.Status.DONE
    assert (batch.rows_total, batch.rows_done, batch.created_count, batch.placed_count) == (
        2,
        2,
        2,
        2,
    )
    customer = Customer.objects.get(customer_id="1001")
    assert customer.name == "Kari Nordmann 1001"
    assert customer.phone1 == "+4791234567"
    assert customer.source == Customer.Source.IMPORT
    assert customer.fields["postcode"] == "0150"
    assert customer.fields["birth_date"] == "1980-02-01"
    assert customer.fields["city"] is None  # the CRM's unmapped fields, empty as on the card
    placement = Placement.objects.get(customer=customer)
    assert placement.campaign == place.campaign
    assert placement.segment == place.oslo
    assert placement.state.kind == "available"
    assert placement.set_by_user == place.setup
    # One audit row for the piece, listing its customers; one for the placements.
    entry = AuditEntry.objects.get(action="customer.import")
    assert sorted(entry.after["created"]) == sorted(Customer.objects.values_list("pk", flat=True))
    assert entry.actor_user == place.setup
    assert AuditEntry.objects.filter(action="placement.create_batch").count() == 1


def test_the_crm_only_creates_without_placing(place: Place) -> None:
    batch = place.run(place.upload(csv_bytes([HEADER, kari(1001)])))

    assert (batch.created_count, batch.placed_count) == (1, 0)
    assert not Placement.objects.exists()


def test_every_rejected_row_names_its_reason_and_nothing_of_it_is_stored(place: Place) -> None:
    rows = [
        HEADER,
        kari(1),
        kari(2, phone="12"),  # not a phone number
        kari(3, email="kari@"),
        kari(4, postcode="O150"),  # a letter O
        kari(5, born="31.02.1980"),
        kari(6, id=""),  # no customer id, and no prefix to make one
        kari(7, first="x" * 300),
        kari(8, phone="12", email="nope"),  # two reasons
    ]

    batch = place.run(place.upload(csv_bytes(rows)))

    assert (batch.created_count, batch.rejected_count) == (1, 7)
    errors = list(ImportRowError.objects.filter(batch=batch).values_list("row", "column", "reason"))
    assert {row for row, _c, _r in errors} == {3, 4, 5, 6, 7, 8, 9}
    assert all(reason for _row, _c, reason in errors)
    assert ("Mobil" in {c for r, c, _ in errors if r == 3}) and len(
        [e for e in errors if e[0] == 9]
    ) == 2
    assert any("required" in reason for row, _c, reason in errors if row == 7)
    assert list(Customer.objects.values_list("customer_id", flat=True)) == ["1"]


def test_duplicate_ids_in_the_file_keep_the_first_row(place: Place) -> None:
    rows = [HEADER, kari(1, first="Første"), kari(2), kari(1, first="Andre")]

    batch = place.run(place.upload(csv_bytes(rows)), campaign=place.campaign)

    assert (batch.created_count, batch.duplicate_count) == (2, 1)
    assert Customer.objects.get(customer_id="1").name.startswith("Første")


def test_a_duplicate_in_a_later_piece_of_the_file_is_found_too(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kundeflyt.imports.services.running.CHUNK_ROWS", 2)
    rows = [HEADER, kari(1), kari(2), kari(3), kari(1), kari(2)]

    batch = place.run(place.upload(csv_bytes(rows)), on_duplicate="all")

    assert (batch.created_count, batch.duplicate_count, batch.updated_count) == (3, 2, 0)


def test_importing_the_same_file_again_creates_nothing(place: Place) -> None:
    content = csv_bytes([HEADER, *[kari(n) for n in range(1, 51)]])
    place.run(place.upload(content), campaign=place.campaign)

    again = place.run(place.upload(content), campaign=place.campaign)

    assert (again.created_count, again.placed_count, again.duplicate_count) == (0, 0, 50)
    assert Customer.objects.count() == Placement.objects.count() == 50


def test_rows_without_ids_get_ids_from_the_prefix_and_their_content(place: Place) -> None:
    header = HEADER[1:]
    rows = [header, kari(1)[1:], kari(2)[1:], kari(1)[1:]]  # the third repeats the first
    content = csv_bytes(rows)

    first = place.run(place.upload(content), id_prefix="KUNDE-AS-")
    again = place.run(place.upload(content), id_prefix="KUNDE-AS-")

    assert (first.created_count, first.duplicate_count) == (2, 1)
    assert (again.created_count, again.duplicate_count) == (0, 3)
    ids = list(Customer.objects.values_list("customer_id", flat=True))
    assert all(i.startswith("KUNDE-AS-") and len(i) == len("KUNDE-AS-") + 16 for i in ids)


def test_without_an_id_column_or_prefix_the_start_is_refused(place: Place) -> None:
    batch = place.upload(csv_bytes([HEADER[1:], kari(1)[1:]]))

    with pytest.raises(DomainError, match="customer id") as refused:
        place.run(batch)

    assert refused.value.field == "mapping"
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.DRAFT


def test_a_missing_required_column_is_refused_before_anything_runs(place: Place) -> None:
    FieldDefinition.objects.create(
        crm=place.crm, key="meter", label="Målepunkt", type="digits", required=True
    )
    batch = place.upload(csv_bytes([HEADER, kari(1)]))

    with pytest.raises(DomainError, match="Målepunkt is required"):
        place.run(batch)
    assert not Customer.objects.exists()


def test_an_update_fills_only_empty_fields_and_is_audited(place: Place) -> None:
    existing = customer_create(
        KEEPER, crm=place.crm, customer_id="1", name="Kari Gammel", fields={"postcode": ""}
    )
    batch = place.run(place.upload(csv_bytes([HEADER, kari(1)])), on_duplicate="empty")

    existing.refresh_from_db()
    assert (batch.created_count, batch.updated_count) == (0, 1)
    assert existing.name == "Kari Gammel"  # not empty: kept
    assert existing.phone1 == "+4791234567"  # empty: filled
    assert existing.fields["postcode"] == "0150"
    entry = AuditEntry.objects.get(action="customer.import_update", customer=existing)
    assert entry.before == {
        "phone1": "",
        "email": "",
        "fields": {"postcode": None, "birth_date": None},
    }
    assert entry.after["phone1"] == "+4791234567"
    assert entry.object_id == str(batch.pk)


def test_an_update_of_all_mapped_fields_overwrites_but_never_erases(place: Place) -> None:
    existing = customer_create(
        KEEPER, crm=place.crm, customer_id="1", name="Kari Gammel", email="gammel@example.no"
    )
    created_at = existing.updated_at
    row = kari(1, email="")  # an empty cell

    batch = place.run(place.upload(csv_bytes([HEADER, row])), on_duplicate="all")

    existing.refresh_from_db()
    assert batch.updated_count == 1
    assert existing.name == "Kari Nordmann 1"
    assert existing.email == "gammel@example.no"
    assert existing.updated_at > created_at  # a sync's changed_since sees it


def test_a_shared_phone_number_makes_a_duplicate_when_chosen(place: Place) -> None:
    customer_create(KEEPER, crm=place.crm, customer_id="X-9", phone2="91234567")
    content = csv_bytes([HEADER, kari(1, phone="912 34 567"), kari(2, phone="41234567")])

    batch = place.run(place.upload(content), match_phone=True)

    assert (batch.created_count, batch.duplicate_count) == (1, 1)
    assert set(Customer.objects.values_list("customer_id", flat=True)) == {"X-9", "2"}


def test_blocked_numbers_are_created_but_never_placed(place: Place) -> None:
    blocked_number_add(KEEPER, phone="91234567")
    content = csv_bytes([HEADER, kari(1, phone="91234567"), kari(2, phone="41234567")])

    batch = place.run(place.upload(content), campaign=place.campaign)

    assert (batch.created_count, batch.placed_count, batch.blocked_count) == (2, 1, 1)
    blocked = Customer.objects.get(customer_id="1")
    assert blocked.is_blocked
    assert not Placement.objects.filter(customer=blocked).exists()


def test_blocked_numbers_can_be_left_out_altogether(place: Place) -> None:
    blocked_number_add(KEEPER, phone="91234567")
    content = csv_bytes([HEADER, kari(1, phone="91234567"), kari(2, phone="41234567")])

    batch = place.run(place.upload(content), campaign=place.campaign, on_blocked="skip")

    assert (batch.created_count, batch.blocked_count) == (1, 1)
    assert not Customer.objects.filter(customer_id="1").exists()
    assert BlockedNumber.objects.count() == 1


def test_windows_1252_with_aeoeaa_and_quoted_separators(place: Place) -> None:
    rows = [["Kundenr", "Navn", "Notater"], ["1", "Åse Ødegård", "Ring etter kl. 17; ikke før"]]
    batch = place.upload(csv_bytes(rows, encoding="cp1252"))
    batch = place.run(batch, mapping={0: "customer_id", 1: "name", 2: "notes"})

    customer = Customer.objects.get()
    assert batch.encoding == "cp1252"
    assert customer.name == "Åse Ødegård"
    assert customer.fields["notes"] == "Ring etter kl. 17; ikke før"


def test_xlsx_with_excel_dates_numbers_and_a_chosen_sheet(place: Place) -> None:
    content = xlsx_bytes(
        {
            "Info": [["Levert av Kunde AS"]],
            "Kunder": [
                ["Kundenr", "Navn", "Mobil", "Fødselsdato", "Postnummer", "Forbruk kWh"],
                [1001, "Kari", 91234567, dt.datetime(1980, 2, 1), "0150", 20000],
                [1002, "Ola", "41234567", 29252, "0151", "12,5"],
            ],
        }
    )
    batch = place.upload(content, "kunder.xlsx")
    assert batch.sheet == "Info"  # the first sheet with rows…
    batch = services.import_sheet_choose(place.setup, batch=batch, sheet="Kunder")  # …or another

    batch = place.run(batch)

    assert (batch.rows_total, batch.created_count, batch.rejected_count) == (2, 2, 0)
    kari_ = Customer.objects.get(customer_id="1001")
    ola = Customer.objects.get(customer_id="1002")
    assert (kari_.phone1, kari_.fields["birth_date"], kari_.fields["consumption"]) == (
        "+4791234567",
        "1980-02-01",
        20000,
    )
    assert (ola.fields["birth_date"], ola.fields["consumption"]) == ("1980-02-01", "12.5")


def test_ods_imports_like_xlsx(place: Place) -> None:
    content = ods_bytes(
        {"Kunder": [["Kundenr", "Navn", "Fødselsdato"], [1001, "Åse", dt.date(1980, 2, 1)]]}
    )

    batch = place.run(place.upload(content, "kunder.ods"))

    assert batch.file_kind == "ods"
    assert Customer.objects.get().fields["birth_date"] == "1980-02-01"


def test_ten_thousand_rows(place: Place) -> None:
    rows = [HEADER] + [kari(n, phone=f"4{n:07d}") for n in range(1, 10_001)]

    batch = place.run(place.upload(csv_bytes(rows)), campaign=place.campaign)

    assert batch.rows_total == batch.rows_done == 10_000
    assert batch.created_count + batch.rejected_count == 10_000
    assert Placement.objects.count() == batch.placed_count == batch.created_count
    # Rows whose made-up number is not a valid Norwegian number are rejected, with reasons.
    assert ImportRowError.objects.filter(batch=batch).count() == batch.rejected_count
    assert AuditEntry.objects.filter(action="customer.import").count() == 10


def test_the_mapping_is_remembered_for_the_next_file(place: Place) -> None:
    batch = place.upload(csv_bytes([["Nr", "Info"], ["1", "x"]]))
    assert batch.mapping == {}
    place.run(batch, mapping={0: "customer_id", 1: "notes"})

    second = place.upload(csv_bytes([["Info", "Nr"], ["y", "2"]]))

    assert ImportMapping.objects.get(crm=place.crm).by_header == {
        "nr": "customer_id",
        "info": "notes",
    }
    assert second.mapping == {"0": "notes", "1": "customer_id"}


def test_cancelling_keeps_what_was_committed_and_says_so(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kundeflyt.imports.services.running.CHUNK_ROWS", 3)
    original = services.running.Run.piece

    def piece_then_cancel(self, rows):  # type: ignore[no-untyped-def]
        original(self, rows)
        services.import_cancel(place.setup, batch=self.batch)  # as the page's button does

    monkeypatch.setattr(services.running.Run, "piece", piece_then_cancel)

    batch = place.run(place.upload(csv_bytes([HEADER, *[kari(n) for n in range(1, 11)]])))

    assert batch.status == ImportBatch.Status.CANCELLED
    assert (batch.rows_done, batch.created_count) == (3, 3)
    assert Customer.objects.count() == 3
    assert batch.finished_at is not None


def test_a_waiting_import_that_is_cancelled_never_runs(place: Place) -> None:
    batch = place.upload(csv_bytes([HEADER, kari(1)]))
    batch = services.import_start(
        place.setup, batch=batch, mapping=services.mapping_of(batch), enqueue=False
    )
    services.import_cancel(place.setup, batch=batch)

    assert services.run_import(batch.pk) == ImportBatch.Status.CANCELLED
    assert not Customer.objects.exists()


def test_a_batch_runs_once_however_often_it_is_run(place: Place) -> None:
    batch = place.run(place.upload(csv_bytes([HEADER, kari(1)])))

    assert services.run_import(batch.pk) == ImportBatch.Status.DONE
    assert Customer.objects.count() == 1


def test_an_agent_may_not_import(place: Place) -> None:
    with pytest.raises(NotAllowed):
        place.upload(csv_bytes([HEADER, kari(1)]), actor=place.agent)


def test_another_data_owners_crm_is_as_if_it_did_not_exist(place: Place) -> None:
    other = CRMFactory()
    with pytest.raises(NotFound):
        services.import_upload(
            place.setup, crm=other, file_name="x.csv", content=csv_bytes([HEADER, kari(1)])
        )
    batch = place.upload(csv_bytes([HEADER, kari(1)]))
    stranger = UserFactory(perms=[Perm.CAMPAIGN_SETUP])
    other.data_owner.users.add(stranger)
    with pytest.raises(NotFound):
        place.run(batch, actor=stranger)


def test_a_campaign_of_another_crm_is_refused(place: Place) -> None:
    from tests.factories import CampaignFactory

    elsewhere = CampaignFactory()
    batch = place.upload(csv_bytes([HEADER, kari(1)]))

    with pytest.raises(DomainError) as refused:
        place.run(batch, campaign=elsewhere)
    assert refused.value.field == "campaign"


def test_helper_processes_clean_a_large_file_as_the_import_itself_would(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kundeflyt.imports.services.running.PARALLEL_FROM", 10)
    monkeypatch.setattr("kundeflyt.imports.services.running.CHUNK_ROWS", 7)
    monkeypatch.setattr("kundeflyt.imports.services.running.cleaners", lambda: 1)
    rows = [HEADER] + [kari(n, phone="12" if n % 10 == 0 else f"4{n:07d}") for n in range(1, 101)]
    rows.append(kari(5, phone="40000005"))  # the same as row 6

    batch = place.run(place.upload(csv_bytes(rows)), campaign=place.campaign)

    assert batch.status == ImportBatch.Status.DONE
    assert (batch.rows_done, batch.created_count, batch.placed_count) == (101, 90, 90)
    assert (batch.rejected_count, batch.duplicate_count) == (10, 1)
    rejected = ImportRowError.objects.filter(batch=batch).order_by("row")
    assert [e.row for e in rejected] == list(range(11, 102, 10))
    assert all(e.reason == "“12” is not a valid phone number." for e in rejected)
