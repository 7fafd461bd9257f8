"""Bulk SMS (issue 14): a template to a campaign's list. First who will get it and who not,
and why; then, confirmed, a worker sends it at a limited rate, within the calling hours,
checking each customer again just before; it can be stopped; and the pages show it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from time_machine import TimeMachineFixture

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.campaigns.calling_hours import OSLO
from kundeflyt.campaigns.models import Campaign
from kundeflyt.common.errors import Conflict, NotAllowed
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import CRM, BlockedNumber, Customer
from kundeflyt.handling.models import Placement
from kundeflyt.telephony import bulk
from kundeflyt.telephony.models import Purpose, Sms, SmsBatch, SmsTemplate
from tests.conftest import register_loaded
from tests.factories import UserFactory
from tests.world import World

OPEN = dt.datetime(2026, 12, 2, 12, 0, tzinfo=OSLO)  # a Wednesday noon


@pytest.fixture
def sender(world: World, time_machine: TimeMachineFixture) -> User:
    """The world's campaign made a consumer campaign that sends SMS, six customers on its
    list, and a supervisor with *bulk SMS*."""
    time_machine.move_to(OPEN, tick=False)
    register_loaded()
    CRM.objects.filter(pk=world.crm.pk).update(kind=CRM.Kind.B2C)
    world.campaign = Campaign.objects.select_related("crm").get(pk=world.campaign.pk)
    world.campaign.sms_enabled = True
    world.campaign.sms_sender = "Nordlys"
    world.campaign.save()
    SmsTemplate.objects.create(
        campaign=world.campaign, name="Tilbud", purpose=Purpose.MARKETING, text="Hei {navn}!"
    )
    consent = {"marketing_consent_on": dt.date(2026, 1, 5), "marketing_consent_source": "Web"}
    for n, (phone, extra) in enumerate(
        [
            ("+4791000001", consent),
            ("+4791000002", consent),
            ("+4791000003", {}),  # no consent
            ("+4791000004", {"is_reserved": True}),  # reserved, no consent
            ("+4791000005", consent),  # blocked below
            ("+4722000006", consent),  # a landline: takes no SMS
        ],
        start=1,
    ):
        customer = world.customer(n, phone1=phone)
        Customer.objects.filter(pk=customer.pk).update(**extra)
    BlockedNumber.objects.create(phone="+4791000005", data_owner=world.crm.data_owner)
    user = UserFactory(username="bulk", perms=[Perm.CUSTOMER_HANDLING, Perm.BULK_SMS])
    world.crm.data_owner.users.add(user)
    return user


def the_list(world: World) -> Any:
    return Placement.objects.filter(campaign=world.campaign)


def template(world: World) -> SmsTemplate:
    return SmsTemplate.objects.get(campaign=world.campaign)


def test_the_count_says_who_gets_it_and_why_the_others_do_not(sender: User, world: World) -> None:
    preview = bulk.bulk_sms_preview(
        sender, campaign=world.campaign, placements=the_list(world), template_id=template(world).pk
    )
    assert (preview.total, preview.will_get) == (6, 2)
    assert preview.skipped == {"no_consent": 1, "reserved": 1, "blocked": 1, "no_mobile": 1}


def test_confirmed_it_is_sent_to_those_it_may_go_to_and_recorded(
    sender: User, world: World, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.SMS_BULK_PER_MINUTE = 0
    with django_capture_on_commit_callbacks(execute=True):
        batch = bulk.bulk_sms_start(
            sender,
            campaign=world.campaign,
            placements=the_list(world),
            template_id=template(world).pk,
            expected=6,
        )
    batch.refresh_from_db()
    assert (batch.status, batch.sent, batch.skipped, batch.position) == ("done", 2, 4, 6)
    messages = Sms.objects.filter(batch=batch).order_by("to")
    assert [(m.to, m.text, m.status) for m in messages] == [
        ("+4791000001", "Hei Kunde 1!", "delivered"),
        ("+4791000002", "Hei Kunde 2!", "delivered"),
    ]
    assert AuditEntry.objects.get(action="sms.bulk").after == {
        "template": template(world).pk,
        "customers": 6,
    }


def test_a_list_that_changed_since_the_count_is_refused(sender: User, world: World) -> None:
    with pytest.raises(Conflict, match="count again"):
        bulk.bulk_sms_start(
            sender,
            campaign=world.campaign,
            placements=the_list(world),
            template_id=template(world).pk,
            expected=5,
        )
    assert not SmsBatch.objects.exists()


def test_outside_the_calling_hours_it_waits_and_the_sweep_sends_it_when_they_come(
    sender: User,
    world: World,
    django_capture_on_commit_callbacks: Any,
    time_machine: TimeMachineFixture,
    settings: Any,
) -> None:
    settings.SMS_BULK_PER_MINUTE = 0
    time_machine.move_to(dt.datetime(2026, 12, 2, 21, 30, tzinfo=OSLO), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        batch = bulk.bulk_sms_start(
            sender,
            campaign=world.campaign,
            placements=the_list(world),
            template_id=template(world).pk,
            expected=6,
        )
    batch.refresh_from_db()
    assert batch.status == "waiting"
    assert batch.not_before == dt.datetime(2026, 12, 3, 9, 0, tzinfo=OSLO)
    assert not Sms.objects.exists()

    time_machine.move_to(dt.datetime(2026, 12, 3, 9, 1, tzinfo=OSLO), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        bulk.batches_due_send()
    batch.refresh_from_db()
    assert (batch.status, batch.sent) == ("done", 2)


def test_a_customer_blocked_after_the_count_gets_nothing_and_a_stopped_batch_sends_no_more(
    sender: User, world: World, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.SMS_BULK_PER_MINUTE = 0
    with django_capture_on_commit_callbacks(execute=False):  # confirmed; not sent yet
        batch = bulk.bulk_sms_start(
            sender,
            campaign=world.campaign,
            placements=the_list(world),
            template_id=template(world).pk,
            expected=6,
        )
    BlockedNumber.objects.create(phone="+4791000001", data_owner=world.crm.data_owner)
    bulk.batch_send(batch.pk)
    batch.refresh_from_db()
    assert (batch.sent, batch.skipped_why.get("blocked")) == (1, 2)

    with django_capture_on_commit_callbacks(execute=False):
        second = bulk.bulk_sms_start(
            sender,
            campaign=world.campaign,
            placements=the_list(world),
            template_id=template(world).pk,
            expected=6,
        )
    bulk.batch_stop(sender, batch_id=second.pk)
    bulk.batch_send(second.pk)
    second.refresh_from_db()
    assert (second.status, second.sent, second.position) == ("stopped", 0, 0)


def test_only_with_the_bulk_sms_permission_and_in_a_campaign_that_sends_sms(
    sender: User, world: World
) -> None:
    with pytest.raises(NotAllowed):
        bulk.bulk_sms_preview(world.supervisor, campaign=world.campaign, placements=the_list(world))
    world.campaign.sms_enabled = False
    world.campaign.save()
    with pytest.raises(NotAllowed, match="does not send SMS"):
        bulk.bulk_sms_preview(sender, campaign=world.campaign, placements=the_list(world))


def test_the_pages_count_send_and_follow_the_batch(
    client: Client,
    sender: User,
    world: World,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.SMS_BULK_PER_MINUTE = 0
    client.force_login(sender)
    url = reverse("telephony:bulk_new")
    query = {"campaign": world.campaign.pk, "template": template(world).pk}
    page = client.get(url, query).content.decode()
    assert "Send to 2 customers" in page
    for line in ("1 without consent to marketing", "1 no mobile number", "1 on the block list"):
        assert line in page

    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(url, {**query, "expected": 6})
    batch = SmsBatch.objects.get()
    assert sent.status_code == 302 and sent["Location"] == reverse(
        "telephony:bulk_batch", args=[batch.pk]
    )
    progress = client.get(sent["Location"]).content.decode()
    assert "Done" in progress and "every 2s" not in progress

    filtered = client.get(url, {**query, "q": "Kunde 1"}).content.decode()
    assert "Send to 1 customer" in filtered
