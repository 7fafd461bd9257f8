"""A person's SMS and calls under privacy law (issue 14): handed out with everything else
held about them (GDPR Art. 15), cleared when they are erased (Art. 17) while the calls report
counts the same; and an import can no longer be undone once its customers were contacted."""

from __future__ import annotations

import io
from typing import Any

import pytest

from kundeflyt.accounts.permissions import Perm
from kundeflyt.common.errors import Conflict
from kundeflyt.imports import services as imports
from kundeflyt.privacy.selectors import person_access
from kundeflyt.privacy.services import customer_anonymise, privacy_customer
from kundeflyt.reports.models import CallDay
from kundeflyt.reports.rollup import rollup_verify
from kundeflyt.telephony.backends.base import CallReport, InboundSms
from kundeflyt.telephony.calls import call_progress, call_start
from kundeflyt.telephony.models import Call, Sms
from kundeflyt.telephony.services import account_for, sms_receive
from tests.factories import UserFactory
from tests.imports.sheets import csv_bytes
from tests.telephony.conftest import PHONE, Send, Texting
from tests.telephony.test_calls import calling  # noqa: F401 (a fixture)


def test_the_access_report_holds_them_and_erasure_clears_them(
    calling: Texting,  # noqa: F811
    send: Send,
    django_capture_on_commit_callbacks: Any,
) -> None:
    send(text="Hei Kari, avtalen til Storgata 1 er klar.", purpose="service")
    with django_capture_on_commit_callbacks(execute=True):
        call = call_start(calling.agent, customer_id=calling.customer.pk, phone=PHONE)
    owner = (call.data_owner_id, call.backend)
    call_progress(owner, CallReport("", "ended", result="answered", duration=30), key=call.key)
    call_progress(owner, CallReport("", "", recording_url="https://rec.example/1"), key=call.key)
    officer = UserFactory(perms=[Perm.PRIVACY_OFFICER])
    calling.world.crm.data_owner.users.add(officer)

    held = person_access(officer, privacy_customer(officer, calling.customer.pk))
    assert [m["text"] for m in held["sms"]] == ["Hei Kari, avtalen til Storgata 1 er klar."]
    assert [(c["number"], c["seconds"]) for c in held["calls"]] == [("91 23 45 67", 30)]

    customer_anonymise(officer, customer_id=calling.customer.pk, reason="Ba om sletting")

    sms, call = Sms.objects.get(), Call.objects.get()
    assert (sms.text, sms.to) == ("", "")
    assert (call.customer_phone, call.recording_url, call.duration_seconds) == ("", "", 30)
    assert CallDay.objects.get().talk_seconds == 30 and rollup_verify() == []


def test_an_import_whose_customer_texted_in_can_no_longer_be_undone(
    calling: Texting,  # noqa: F811
) -> None:
    setup = UserFactory(perms=[Perm.CAMPAIGN_SETUP])
    calling.world.crm.data_owner.users.add(setup)
    rows = [["Kundenr", "Navn", "Mobil"], ["77", "Per Import", "98765432"]]
    batch = imports.import_upload(
        setup, crm=calling.world.crm, file_name="f.csv", content=io.BytesIO(csv_bytes(rows))
    )
    imports.import_start(setup, batch=batch, mapping=imports.mapping_of(batch))
    sms_receive(
        account_for(calling.world.crm.data_owner_id),
        InboundSms(provider_id="in-1", sender="98765432", to="+4721000000", text="Hei"),
    )
    assert Sms.objects.get().customer is not None

    with pytest.raises(Conflict, match="called or texted"):
        imports.import_undo(setup, batch=batch)
