"""Consent to marketing in a customer file (issue 14: markedsføringsloven § 15): a column of
dates, and one of how it was given (or the file's name), found by their headers, checked,
and, for customers already there, filled in as the duplicate rule says."""

from __future__ import annotations

import datetime as dt

from kundeflyt.common.actors import Process
from kundeflyt.crm.models import Customer
from kundeflyt.crm.services import customer_create
from kundeflyt.imports.models import ImportBatch
from tests.imports.conftest import HEADER, Place
from tests.imports.sheets import csv_bytes
from tests.imports.test_import_run import kari

KEEPER = Process("test-keeper")
WITH_CONSENT = [*HEADER, "Samtykke", "Samtykkekilde"]


def test_consent_columns_are_mapped_and_stored_with_where_it_came_from(place: Place) -> None:
    rows = [
        WITH_CONSENT,
        [*kari(1001), "05.01.2026", "Nettskjema"],
        [*kari(1002), "2026-02-01", ""],  # no source: the file is named
        [*kari(1003), "", ""],
    ]
    batch = place.run(place.upload(csv_bytes(rows), name="vinter.csv"))

    assert batch.status == ImportBatch.Status.DONE and batch.created_count == 3
    consent = dict(Customer.objects.values_list("customer_id", "marketing_consent_on"))
    assert consent == {"1001": dt.date(2026, 1, 5), "1002": dt.date(2026, 2, 1), "1003": None}
    sources = dict(Customer.objects.values_list("customer_id", "marketing_consent_source"))
    assert sources == {"1001": "Nettskjema", "1002": "Import of vinter.csv", "1003": ""}


def test_a_consent_date_that_is_no_date_or_in_the_future_rejects_the_row(place: Place) -> None:
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).strftime("%d.%m.%Y")
    rows = [WITH_CONSENT, [*kari(1001), "i fjor", ""], [*kari(1002), tomorrow, ""]]
    batch = place.run(place.upload(csv_bytes(rows)))

    assert (batch.created_count, batch.rejected_count) == (0, 2)
    assert not Customer.objects.exists()


def test_an_update_fills_a_missing_consent_and_keeps_one_that_is_there(place: Place) -> None:
    customer_create(KEEPER, crm=place.crm, customer_id="1", name="Kari")
    kept = customer_create(KEEPER, crm=place.crm, customer_id="2", name="Ola")
    Customer.objects.filter(pk=kept.pk).update(
        marketing_consent_on=dt.date(2025, 6, 1), marketing_consent_source="Samtale"
    )
    rows = [WITH_CONSENT, [*kari(1), "05.01.2026", "Nettskjema"], [*kari(2), "05.01.2026", "X"]]

    place.run(place.upload(csv_bytes(rows)), on_duplicate="empty")

    found = {
        c.customer_id: (c.marketing_consent_on, c.marketing_consent_source)
        for c in Customer.objects.all()
    }
    assert found == {
        "1": (dt.date(2026, 1, 5), "Nettskjema"),
        "2": (dt.date(2025, 6, 1), "Samtale"),
    }


def test_undoing_the_import_takes_back_the_consent_it_recorded(place: Place) -> None:
    from kundeflyt.imports.services import import_undo

    customer_create(KEEPER, crm=place.crm, customer_id="1", name="Kari")
    rows = [WITH_CONSENT, [*kari(1), "05.01.2026", "Nettskjema"]]
    batch = place.run(place.upload(csv_bytes(rows)), on_duplicate="empty")
    assert Customer.objects.get().marketing_consent_on == dt.date(2026, 1, 5)

    import_undo(place.setup, batch=batch)

    customer = Customer.objects.get()
    assert (customer.marketing_consent_on, customer.marketing_consent_source) == (None, "")
