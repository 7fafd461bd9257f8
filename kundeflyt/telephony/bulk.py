"""Bulk SMS (issue 14): one campaign template to a list of customers, e.g. everyone in
"Tilbud sendt". First a count of who will get it and who not (and why); then, once
confirmed, a worker sends it at a limited rate, within the campaign's calling hours, checking
each customer again just before, with the progress on a page.

The list is fixed when confirmed. Each message is written with the batch's progress in one
transaction and sent after it (``services.sms_attempt``), so a worker that dies resumes
where it was and sends nothing twice."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.campaigns.calling_hours import opens_at
from kundeflyt.campaigns.models import Campaign
from kundeflyt.common.audit import audit
from kundeflyt.common.deferred import can_defer, enqueue
from kundeflyt.common.errors import Conflict, DomainError, NotFound
from kundeflyt.crm.models import Customer, blocked_numbers_of
from kundeflyt.handling.models import Placement
from kundeflyt.telephony.models import SMS_TEXT_LENGTH, Purpose, Sms, SmsBatch, SmsTemplate
from kundeflyt.telephony.services import (
    account_for,
    check_sends_sms,
    skip_reason,
    sms_attempt,
    template_values,
)
from kundeflyt.telephony.sms_text import fill, measure, placeholders

BULK_MAX = 20_000
# How long one run of the task sends before it gives the worker to other work and asks to
# be run again (where the task backend can wait; an immediate backend sends all at once).
RUN_SECONDS = 50
# A batch whose worker said nothing for this long was lost: the sweep takes it up again.
LOST_AFTER = dt.timedelta(minutes=5)
# Why customers on a list get nothing, as the count and the progress list them.
SKIPPED = {
    "anonymised": _lazy("anonymised"),
    "blocked": _lazy("on the block list"),
    "reserved": _lazy("in the Reservasjonsregisteret, without consent"),
    "no_consent": _lazy("without consent to marketing"),
    "no_mobile": _lazy("no mobile number"),
    "no_value": _lazy("no value for a placeholder of the template"),
    "too_long": _lazy("the message, filled in, is too long"),
}
MOBILE = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def mobile_of(customer: Customer) -> str:
    """The customer's first number that takes SMS; empty if none does."""
    for phone in customer.phones:
        try:
            if phonenumbers.number_type(phonenumbers.parse(phone, None)) in MOBILE:
                return phone
        except phonenumbers.NumberParseException:
            continue
    return ""


@dataclass(frozen=True)
class BulkPreview:
    campaign: Campaign
    template: SmsTemplate | None
    customer_ids: list[int]  # the whole list, in the order it will go
    will_get: int
    skipped: dict[str, int]  # reason key: how many

    @property
    def total(self) -> int:
        return len(self.customer_ids)

    def skipped_words(self) -> list[tuple[str, int]]:
        return skipped_words(self.skipped)


def skipped_words(counts: dict[str, int]) -> list[tuple[str, int]]:
    """The reasons customers were (or would be) skipped, in words, most first."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(str(SKIPPED.get(key, key)), n) for key, n in ordered]


def _check(user: User, campaign: Campaign) -> None:
    require(user, Perm.BULK_SMS)
    check_sends_sms(campaign, field="campaign")


def _template(campaign: Campaign, template_id: int | None) -> SmsTemplate | None:
    if template_id is None:
        return None
    template = SmsTemplate.objects.filter(campaign=campaign, pk=template_id).first()
    if template is None:
        raise NotFound(_("No such SMS template in this campaign."), field="template")
    return template


def _message(
    customer: Customer,
    campaign: Campaign,
    template: SmsTemplate | None,
    agent: User,
    *,
    blocked: set[str] | None = None,
) -> tuple[str, str, str]:
    """What the customer would get: ("", number, text), or (why not, …). The count before
    sending and the sending itself ask the same. ``blocked``: the block list's numbers among
    the list's, when the caller read them at once."""
    phone = mobile_of(customer)
    if not phone:
        return "no_mobile", "", ""
    purpose = template.purpose if template else Purpose.MARKETING
    on_list = None if blocked is None else phone in blocked
    reason = skip_reason(customer, campaign, phone, purpose, blocked=on_list)
    if reason or template is None:
        return reason, phone, ""
    text = fill(template.text, template_values(customer, agent))
    if any(f"{{{p}}}" in text for p in placeholders(template.text)):
        return "no_value", phone, text  # a placeholder this customer has no value for
    if len(text) > SMS_TEXT_LENGTH:
        return "too_long", phone, text
    return "", phone, text


def _reasons(
    campaign: Campaign, customers: Sequence[Customer], template: SmsTemplate | None, user: User
) -> dict[int, str]:
    """Why each customer would be skipped ("" for none), with the block list read once."""
    phones = {p for c in customers for p in c.phones}
    blocked = set(
        blocked_numbers_of(campaign.crm.data_owner_id)
        .filter(phone__in=phones)
        .values_list("phone", flat=True)
    )
    return {c.pk: _message(c, campaign, template, user, blocked=blocked)[0] for c in customers}


def bulk_sms_preview(
    user: User,
    *,
    campaign: Campaign,
    placements: QuerySet[Placement],
    template_id: int | None = None,
) -> BulkPreview:
    """Who on the list would get the message, and who not and why: asked before anything is
    sent. ``placements`` are the list's (among what the user may see)."""
    _check(user, campaign)
    template = _template(campaign, template_id)
    ids = list(placements.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True))
    if len(ids) > BULK_MAX:
        raise DomainError(
            _("Choose at most %(n)s customers at a time.") % {"n": BULK_MAX}, field="customers"
        )
    customers = list(Customer.objects.filter(pk__in=ids))
    reasons = _reasons(campaign, customers, template, user)
    skipped = Counter(r for r in reasons.values() if r)
    return BulkPreview(campaign, template, ids, len(ids) - sum(skipped.values()), dict(skipped))


@transaction.atomic(durable=True)
def bulk_sms_start(
    user: User,
    *,
    campaign: Campaign,
    placements: QuerySet[Placement],
    template_id: int,
    expected: int,
    description: str = "",
) -> SmsBatch:
    """Send the template to the list, as counted: refused if the list's size changed since
    the count (``expected``), so that what is sent is what was confirmed."""
    preview = bulk_sms_preview(
        user, campaign=campaign, placements=placements, template_id=template_id
    )
    assert preview.template is not None
    if preview.total != expected:
        raise Conflict(
            _("The list changed since it was counted: count again before sending."),
            field="customers",
        )
    if not preview.will_get:
        raise DomainError(_("Nobody on the list can get the message."), field="customers")
    batch = SmsBatch.objects.create(
        data_owner_id=campaign.crm.data_owner_id,
        campaign=campaign,
        template=preview.template,
        created_by=user,
        description=description[:300],
        customer_ids=preview.customer_ids,
    )
    audit(
        user,
        "sms.bulk",
        batch,
        after={"template": preview.template.pk, "customers": preview.total},
    )
    transaction.on_commit(lambda: _enqueue(batch.pk))
    return batch


def _enqueue(batch_id: int, at: dt.datetime | None = None) -> None:
    """Send on now, or at ``at`` (where the backend cannot wait, ``batches_due_send``)."""
    from kundeflyt.telephony.tasks import sms_batch_task

    enqueue(sms_batch_task, batch_id, at=at)


def _pace() -> float:
    per_minute = settings.SMS_BULK_PER_MINUTE
    return 60 / per_minute if per_minute > 0 else 0


def batch_send(batch_id: int, *, budget: float = RUN_SECONDS) -> SmsBatch | None:
    """Send the batch's next messages: one customer at a time, checked again, at the
    configured pace, until it is done, stopped, outside the calling hours, or this run's
    time is up (then it asks to be run again)."""
    from kundeflyt.telephony.tasks import sms_batch_task

    started = time.monotonic()
    deferring = can_defer(sms_batch_task)
    while True:
        step = _next(batch_id)
        if step is None:
            return SmsBatch.objects.filter(pk=batch_id).first()
        batch, sms_id = step
        if sms_id is not None:
            sms_attempt(sms_id)
            time.sleep(_pace())
        if batch.status != SmsBatch.Status.SENDING:
            return batch
        if deferring and time.monotonic() - started > budget:
            _enqueue(batch_id, at=timezone.now())
            return batch


def _next(batch_id: int) -> tuple[SmsBatch, int | None] | None:
    """Take the next customer of the batch, in one transaction with the batch's progress:
    write the message (sent after the commit) or count the skip. None when there is
    nothing to do now."""
    now = timezone.now()
    with transaction.atomic():
        batch = (
            SmsBatch.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("campaign__crm", "template", "created_by")
            .filter(pk=batch_id, status__in=(SmsBatch.Status.SENDING, SmsBatch.Status.WAITING))
            .first()
        )
        if batch is None:
            return None
        campaign = batch.campaign
        opens = opens_at(campaign, now)
        if opens is not None:  # rule 11: not outside the calling hours
            batch.status, batch.not_before, batch.touched_at = SmsBatch.Status.WAITING, opens, now
            batch.save(update_fields=["status", "not_before", "touched_at"])
            transaction.on_commit(lambda: _enqueue(batch_id, at=opens))
            return batch, None
        if batch.position >= batch.total:
            batch.status, batch.finished_at, batch.touched_at = SmsBatch.Status.DONE, now, now
            batch.save(update_fields=["status", "finished_at", "touched_at"])
            return None
        batch.status = SmsBatch.Status.SENDING
        customer = Customer.objects.filter(pk=batch.customer_ids[batch.position]).first()
        written = _write(batch, customer, now)
        if isinstance(written, str):
            batch.skipped += 1
            why = batch.skipped_why
            batch.skipped_why = {**why, written: why.get(written, 0) + 1}
        else:
            batch.sent += 1
        batch.position += 1
        batch.touched_at = now
        batch.save(
            update_fields=["status", "position", "sent", "skipped", "skipped_why", "touched_at"]
        )
        return batch, None if isinstance(written, str) else written.pk


def _write(batch: SmsBatch, customer: Customer | None, now: dt.datetime) -> Sms | str:
    """The customer's message, if they may get it now; otherwise why not (a reason key)."""
    if customer is None:
        return "anonymised"  # gone: erased since the list was made
    reason, phone, text = _message(customer, batch.campaign, batch.template, batch.created_by)
    if reason:
        return reason
    return Sms.objects.create(
        data_owner_id=batch.data_owner_id,
        customer=customer,
        campaign=batch.campaign,
        user=batch.created_by,
        batch=batch,
        direction=Sms.Direction.OUT,
        sender=batch.campaign.sms_sender,
        to=phone,
        text=text,
        purpose=batch.template.purpose,
        template=batch.template,
        segments=max(1, measure(text).segments),
        created_at=now,
        backend=account_for(batch.data_owner_id).backend,
        status=Sms.Status.QUEUED,
        status_at=now,
        next_attempt_at=now,
    )


@transaction.atomic(durable=True)
def batch_stop(user: User, *, batch_id: int) -> SmsBatch:
    """Stop a batch: what was sent stays sent, nobody else gets it."""
    require(user, Perm.BULK_SMS)
    batch = batches_visible_to(user).select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("No such bulk SMS."), field="batch")
    if batch.status in (SmsBatch.Status.SENDING, SmsBatch.Status.WAITING):
        batch.status, batch.finished_at = SmsBatch.Status.STOPPED, timezone.now()
        batch.save(update_fields=["status", "finished_at"])
        audit(user, "sms.bulk_stop", batch, after={"sent": batch.sent})
    return batch


def batches_visible_to(user: User) -> QuerySet[SmsBatch]:
    from kundeflyt.accounts.visibility import campaigns_visible_to

    return SmsBatch.objects.filter(campaign__in=campaigns_visible_to(user))


def batches_due_send(now: dt.datetime | None = None) -> int:
    """The sweep: batches whose calling hours have come, and batches a lost worker left."""
    now = now or timezone.now()
    due = list(
        SmsBatch.objects.filter(
            Q(status=SmsBatch.Status.WAITING, not_before__lte=now)
            | Q(status=SmsBatch.Status.SENDING, touched_at__lt=now - LOST_AFTER)
        ).values_list("pk", flat=True)
    )
    for pk in due:
        _enqueue(pk)
    return len(due)
