"""A delivery report that comes before the worker stored the provider's id (the provider may
call back the moment it answers) still finds its message, by our key in its address."""

from __future__ import annotations

from typing import Any

from kundeflyt.telephony.backends.base import StatusReport
from kundeflyt.telephony.models import ProviderAccount, Sms
from kundeflyt.telephony.services import _finish, sms_send, sms_status_report
from tests.telephony.conftest import PHONE, Texting


def test_an_early_report_is_kept_and_the_worker_does_not_undo_it(
    texting: Texting, django_capture_on_commit_callbacks: Any
) -> None:
    account = ProviderAccount.objects.create(
        data_owner=texting.world.crm.data_owner, backend="46elks", username="u"
    )
    with django_capture_on_commit_callbacks(execute=False):  # the worker has not answered yet
        sms = sms_send(texting.agent, customer_id=texting.customer.pk, phone=PHONE, text="Hei")
    Sms.objects.filter(pk=sms.pk).update(backend="46elks")

    found = sms_status_report(account, StatusReport("s1", "delivered"), key=sms.key)
    _finish(sms, sms.created_at, status="queued", error="", provider_id="s1")

    assert found is not None and found.pk == sms.pk
    sms.refresh_from_db()
    assert (sms.status, sms.provider_id) == ("delivered", "s1")


def test_a_report_with_another_message_s_key_changes_nothing(
    texting: Texting, django_capture_on_commit_callbacks: Any
) -> None:
    account = ProviderAccount.objects.create(
        data_owner=texting.world.crm.data_owner, backend="46elks", username="u"
    )
    with django_capture_on_commit_callbacks(execute=False):
        sms = sms_send(texting.agent, customer_id=texting.customer.pk, phone=PHONE, text="Hei")
    Sms.objects.filter(pk=sms.pk).update(backend="46elks", provider_id="s1")

    assert sms_status_report(account, StatusReport("s2", "failed"), key=sms.key) is None
    sms.refresh_from_db()
    assert (sms.status, sms.provider_id) == ("queued", "s1")
