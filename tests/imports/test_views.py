"""The import pages over HTTP: upload, map, preview, start, summary, rejected rows, undo."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kundeflyt.crm.models import Customer
from kundeflyt.handling.models import Placement
from kundeflyt.imports.models import ImportBatch
from tests.factories import CRMFactory
from tests.imports.conftest import HEADER, Place
from tests.imports.sheets import csv_bytes, xlsx_bytes
from tests.imports.test_import_run import kari

HX = {"HTTP_HX_REQUEST": "true"}


def upload(client: Client, place: Place, content: bytes, name: str = "kunder.csv") -> ImportBatch:
    file = io.BytesIO(content)
    file.name = name
    response = client.post(reverse("imports:upload", args=[place.crm.pk]), {"file": file})
    assert response.status_code == 302, response.content
    batch = ImportBatch.objects.latest("pk")
    assert response["Location"] == reverse("imports:batch", args=[batch.pk])
    return batch


def form(batch: ImportBatch, **over: str) -> dict[str, str]:
    data = {f"column_{p}": key for p, key in batch.mapping.items()}
    return data | {"target": "", "on_duplicate": "skip", "on_blocked": "create"} | over


def test_upload_map_preview_start_and_read_the_summary(client: Client, place: Place) -> None:
    client.force_login(place.setup)
    rows = [HEADER, kari(1), kari(2, phone="12"), kari(3)]
    batch = upload(client, place, csv_bytes(rows))

    setup = client.get(reverse("imports:batch", args=[batch.pk]))
    assert setup.status_code == 200
    page = setup.content.decode()
    assert 'name="column_3"' in page and "Kundenr" in page
    assert '<option value="phone1" selected>' in page  # "Mobil" matched the phone

    shown = client.post(reverse("imports:preview", args=[batch.pk]), form(batch), **HX)
    assert shown.status_code == 200
    preview = shown.content.decode()
    assert "91 23 45 67" in preview  # as the card shows the stored +4791234567
    assert "is not a valid phone number" in preview or "is not a phone number" in preview

    target = f"c{place.campaign.pk}s{place.oslo.pk}"
    started = client.post(reverse("imports:start", args=[batch.pk]), form(batch, target=target))
    assert started.status_code == 302

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert (batch.created_count, batch.rejected_count) == (2, 1)
    assert Placement.objects.filter(segment=place.oslo).count() == 2
    summary = client.get(reverse("imports:batch", args=[batch.pk])).content.decode()
    assert "Customers created" in summary and "Download the rejected rows" in summary


def test_a_file_not_wanted_after_all_is_thrown_away(client: Client, place: Place) -> None:
    client.force_login(place.setup)
    batch = upload(client, place, csv_bytes([HEADER, kari(1)]))
    assert (
        "Throw the file away"
        in client.get(reverse("imports:batch", args=[batch.pk])).content.decode()
    )

    thrown = client.post(reverse("imports:discard", args=[batch.pk]), form(batch), follow=True)

    assert "is thrown away" in thrown.content.decode()
    assert thrown.redirect_chain[-1][0] == reverse("imports:crm", args=[place.crm.pk])
    assert not ImportBatch.objects.exists() and not Customer.objects.exists()
    gone = client.post(reverse("imports:discard", args=[batch.pk]))
    assert gone.status_code == 404


def test_a_started_import_is_not_thrown_away(client: Client, place: Place) -> None:
    client.force_login(place.setup)
    batch = upload(client, place, csv_bytes([HEADER, kari(1)]))
    client.post(reverse("imports:start", args=[batch.pk]), form(batch))

    refused = client.post(reverse("imports:discard", args=[batch.pk]), follow=True)

    assert "already been started" in refused.content.decode()
    assert ImportBatch.objects.get().status == ImportBatch.Status.DONE


def test_a_refused_mapping_shows_its_reason_in_the_preview_and_on_start(
    client: Client, place: Place
) -> None:
    client.force_login(place.setup)
    batch = upload(client, place, csv_bytes([HEADER, kari(1)]))
    data = form(batch, column_0="")  # no customer id

    shown = client.post(reverse("imports:preview", args=[batch.pk]), data, **HX)
    started = client.post(reverse("imports:start", args=[batch.pk]), data)

    assert shown.status_code == 422 and "customer id" in shown.content.decode()
    assert started.status_code == 400 and "customer id" in started.content.decode()
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.DRAFT


def test_the_rejected_rows_download_in_the_original_layout_with_the_reason(
    client: Client, place: Place
) -> None:
    client.force_login(place.setup)
    rows = [HEADER, kari(1), kari(2, phone="12"), kari(3, email="kari@"), kari(4)]
    batch = upload(client, place, csv_bytes(rows))
    client.post(reverse("imports:start", args=[batch.pk]), form(batch))

    response = client.get(reverse("imports:rejected", args=[batch.pk]))

    assert response.status_code == 200
    assert "kunder-rejected.csv" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert lines[0] == [*HEADER, "Error"]
    assert [line[:7] for line in lines[1:]] == [kari(2, phone="12"), kari(3, email="kari@")]
    assert "Mobil: " in lines[1][7] and "E-post: " in lines[2][7]


def test_a_spreadsheets_rejected_rows_come_back_as_xlsx_never_as_formulas(
    client: Client, place: Place
) -> None:
    client.force_login(place.setup)
    content = xlsx_bytes({"Kunder": [["Kundenr", "Navn", "Mobil"], [1, "=HYPERLINK(1)", "12"]]})
    batch = upload(client, place, content, "kunder.xlsx")
    client.post(reverse("imports:start", args=[batch.pk]), form(batch))

    response = client.get(reverse("imports:rejected", args=[batch.pk]))

    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["Kundenr", "Navn", "Mobil", "Error"]
    assert values[1][:3] == ["1", "=HYPERLINK(1)", "12"]
    assert sheet.cell(2, 2).data_type == "s"  # text, not a formula


def test_undo_from_the_summary(client: Client, place: Place) -> None:
    client.force_login(place.setup)
    batch = upload(client, place, csv_bytes([HEADER, kari(1)]))
    client.post(reverse("imports:start", args=[batch.pk]), form(batch))

    response = client.post(reverse("imports:undo", args=[batch.pk]))

    assert response.status_code == 302
    assert not Customer.objects.exists()
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.UNDONE


def test_a_refused_upload_says_why(client: Client, place: Place) -> None:
    client.force_login(place.setup)
    file = io.BytesIO(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 50)
    file.name = "kunder.xls"

    response = client.post(
        reverse("imports:upload", args=[place.crm.pk]), {"file": file}, follow=True
    )

    assert "old Excel file" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_the_lists_of_crms_and_imports(
    client: Client, place: Place, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(place.setup)
    for n in range(3):
        place.run(place.upload(csv_bytes([HEADER, kari(n)])))

    with django_assert_max_num_queries(12):
        index = client.get(reverse("imports:index"))
    with django_assert_max_num_queries(12):
        listing = client.get(reverse("imports:crm", args=[place.crm.pk]))

    assert index.status_code == listing.status_code == 200
    assert listing.content.decode().count("kunder.csv") == 3


def test_the_imports_page_costs_the_same_queries_for_one_crm_or_four(
    client: Client, place: Place
) -> None:
    client.force_login(place.setup)
    place.run(place.upload(csv_bytes([HEADER, kari(1)])))
    client.get(reverse("imports:index"))  # the configuration, cached
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("imports:index"))
    for n in range(3):
        crm = CRMFactory(name=f"CRM {n}")
        crm.data_owner.users.add(place.setup)
        for m in range(7):
            ImportBatch.objects.create(
                crm=crm, actor_user=place.setup, file_name=f"fil-{n}-{m}.csv", file_kind="csv"
            )

    client.get(reverse("imports:index"))  # the configuration, cached
    with CaptureQueriesContext(connection) as four:
        page = client.get(reverse("imports:index")).content.decode()

    assert len(four) == len(one)
    assert page.count("fil-0-") == 5  # the latest five of each CRM
    assert "fil-0-6.csv" in page and "fil-0-1.csv" not in page


def test_the_customers_an_import_created_are_selected_from_its_summary(
    client: Client, place: Place
) -> None:
    client.force_login(place.setup)
    first = place.run(place.upload(csv_bytes([HEADER, kari(1), kari(2)])))
    second = place.run(place.upload(csv_bytes([HEADER, kari(1), kari(3), kari(4), kari(5)])))
    assert (first.created_count, second.created_count, second.duplicate_count) == (2, 3, 1)

    summary = client.get(reverse("imports:batch", args=[second.pk])).content.decode()
    link = f"{reverse('handling:crm_customers', args=[place.crm.pk])}?batch={second.pk}"
    assert f'href="{link}"' in summary
    page = client.get(link).content.decode()

    assert "<strong>3 customers</strong>" in page
    assert all(f"Nordmann {n}" in page for n in (3, 4, 5))
    assert "Nordmann 1<" not in page and "Nordmann 2<" not in page
    count = client.get(
        reverse("handling:crm_customers_count", args=[place.crm.pk]), {"batch": first.pk}
    )
    assert "<strong>2 customers</strong>" in count.content.decode()
    assert set(Customer.objects.values_list("import_batch_id", flat=True)) == {first.pk, second.pk}
    refused = client.get(link.replace(str(second.pk), "x1")).content.decode()
    assert "The filter was not used" in refused


@pytest.mark.parametrize("name", ["imports:index"])
def test_an_agent_is_refused(client: Client, place: Place, name: str) -> None:
    client.force_login(place.agent)
    assert client.get(reverse(name)).status_code == 403


def test_another_data_owners_crm_and_batch_answer_404(client: Client, place: Place) -> None:
    batch = place.upload(csv_bytes([HEADER, kari(1)]))
    other = CRMFactory()
    client.force_login(place.setup)
    assert client.get(reverse("imports:crm", args=[other.pk])).status_code == 404
    place.crm.data_owner.users.remove(place.setup)
    assert client.get(reverse("imports:batch", args=[batch.pk])).status_code == 404
    assert client.get(reverse("imports:rejected", args=[batch.pk])).status_code == 404
