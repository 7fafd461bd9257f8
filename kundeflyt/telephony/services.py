"""SMS to and from customers (S7): writing one from the customer screen, sending it through
the data owner's provider, and what the provider tells back (delivery, replies, STOPP).

An SMS is written in the agent's request and sent by a worker after the commit
(``sms_attempt``), so a slow provider never holds a page or a lock. It is sent at most once:
a worker takes it with a conditional claim, and tries again only after a failure that proves
nothing went out (no connection, or the provider said it was overloaded), on a growing
delay; any other failure is final and shown to the agent, never retried blindly. The block
list and consent are checked when it is written and again just before it goes."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.campaigns.calling_hours import check_open_for_calls, follows_consumer_rules, opens_at
from kundeflyt.campaigns.models import Campaign
from kundeflyt.campaigns.senders import caller_number_clean
from kundeflyt.common.actors import Process, actor_fields
from kundeflyt.common.audit import audit
from kundeflyt.common.bounds import bounded_text
from kundeflyt.common.deferred import enqueue
from kundeflyt.common.errors import Conflict, DomainError, NotAllowed, NotFound
from kundeflyt.common.phones import phone_search_variants
from kundeflyt.crm.models import BlockedNumber, Customer, customers_with_phone, has_blocked_number
from kundeflyt.handling.models import Placement
from kundeflyt.handling.selectors.work import current_selection
from kundeflyt.privacy.models import PrivacyRequest, Right
from kundeflyt.telephony.backends import backend_for
from kundeflyt.telephony.backends.base import InboundSms, OutgoingSms, ProviderError, StatusReport
from kundeflyt.telephony.credentials import check_variable, seal
from kundeflyt.telephony.models import (
    SMS_TEXT_LENGTH,
    Backend,
    ProviderAccount,
    Purpose,
    Sms,
    SmsTemplate,
)
from kundeflyt.telephony.sms_text import STANDARD_PLACEHOLDERS, fill, measure, placeholders

logger = logging.getLogger(__name__)

# After a failure that proves nothing was sent: try again after these, then give up.
RETRY_DELAYS = tuple(dt.timedelta(seconds=s) for s in (10, 60, 5 * 60, 15 * 60, 60 * 60))
# A message a worker took and never finished (the worker died mid-send) may have gone out:
# after this it is marked failed for a person to look at, never sent again.
SENDING_GIVE_UP = dt.timedelta(minutes=10)
STOP_WORDS = frozenset({"STOPP", "STOP", "STANS", "AVMELD"})
INBOUND = Process("sms-inbound")
# Statuses only move forward: a late "sent" never undoes "delivered".
RANK = {"queued": 0, "sent": 1, "delivered": 2, "failed": 2, "received": 2}


def account_for(data_owner_id: int) -> ProviderAccount:
    """The data owner's provider; the console until an administrator sets one up."""
    account = ProviderAccount.objects.filter(data_owner_id=data_owner_id).first()
    return account or ProviderAccount(data_owner_id=data_owner_id, backend=Backend.CONSOLE)


def template_values(customer: Customer, agent: User) -> dict[str, str]:
    """What a template's placeholders stand for: the card's fields by key (Norwegian aliases
    for the standard ones), and the agent's first name."""
    values = {key: str(value) for key, value in (customer.fields or {}).items() if value}
    source = {
        "name": customer.name,
        "customer_id": customer.customer_id,
        "email": customer.email,
        "agent": agent.first_name or agent.get_username(),
    }
    standard = {name: source[what] for name, what in STANDARD_PLACEHOLDERS.items()}
    return values | {name: value for name, value in standard.items() if value}


@dataclass(frozen=True)
class SmsContext:
    """What sending an SMS to the customer on the user's screen rests on."""

    customer: Customer
    campaign: Campaign
    templates: list[SmsTemplate]


def check_sends_sms(campaign: Campaign, *, field: str) -> None:
    """Refuse a campaign that does not send SMS, or has no sender to send them from."""
    if not campaign.sms_enabled:
        raise NotAllowed(_("The campaign does not send SMS."), field=field)
    if not campaign.sms_sender:
        raise DomainError(
            _("The campaign has no SMS sender yet: ask its administrator."), field=field
        )


def sms_context(user: User, customer_id: int) -> SmsContext:
    """The customer the user has open in the customer screen, if its campaign sends SMS:
    an SMS goes from the screen, where the campaign (and with it the sender and the
    templates) is known."""
    require(user, Perm.CUSTOMER_HANDLING)
    require(user, Perm.SMS)
    placement = current_selection(user)
    if placement is None or placement.pk != customer_id:
        raise Conflict(
            _("Open the customer in the customer screen to send an SMS."), field="customer"
        )
    campaign = placement.campaign
    check_sends_sms(campaign, field="customer")
    templates = list(SmsTemplate.objects.filter(campaign=campaign))
    return SmsContext(placement.customer, campaign, templates)


# Why a message may not go to a customer, by key (the bulk summary counts them so).
REASONS = {
    "anonymised": _lazy("The customer has been anonymised."),
    "blocked": _lazy("The number is on the block list."),
    "reserved": _lazy(
        "The customer is in the Reservasjonsregisteret and has not consented to marketing."
    ),
    "no_consent": _lazy(
        "Marketing by SMS needs the customer's prior consent (markedsføringsloven § 15). "
        "Record it on the card, or send a service message."
    ),
}


def skip_reason(
    customer: Customer, campaign: Campaign, phone: str, purpose: str, *, blocked: bool | None = None
) -> str:
    """The key of why the message may not go to ``phone`` now; empty when it may.
    ``blocked``: whether the number is on the block list, when the caller knows already."""
    if customer.anonymised_at is not None:
        return "anonymised"
    if blocked is None:
        blocked = has_blocked_number(campaign.crm.data_owner_id, [phone])
    if customer.objected_at is not None or customer.is_blocked or blocked:
        return "blocked"
    if purpose == Purpose.MARKETING and follows_consumer_rules(campaign):
        if customer.marketing_consent_on is not None:
            return ""
        if customer.is_reserved and not customer.contact_basis:
            return "reserved"
        return "no_consent"
    return ""


def refusal(customer: Customer, campaign: Campaign, phone: str, purpose: str) -> str:
    """Why the message may not go to ``phone`` now, in words; empty when it may."""
    key = skip_reason(customer, campaign, phone, purpose)
    return str(REASONS[key]) if key else ""


@dataclass(frozen=True)
class Draft:
    text: str
    purpose: str
    template: SmsTemplate | None
    unfilled: list[str]  # placeholders with no value for this customer


def sms_draft(
    context: SmsContext, agent: User, *, template_id: str | int | None, text: str, purpose: str
) -> Draft:
    """The message as it would go: a template filled in for the customer, or the agent's
    own text. A template decides the purpose; the agent decides it for their own text."""
    template = None
    if template_id not in (None, ""):
        template = next((t for t in context.templates if str(t.pk) == str(template_id)), None)
        if template is None:
            raise NotFound(_("No such SMS template in this campaign."), field="template")
        text, purpose = (
            fill(template.text, template_values(context.customer, agent)),
            template.purpose,
        )
    text = bounded_text(text, field="text", max_length=SMS_TEXT_LENGTH, label=_("The message"))
    if purpose not in Purpose.values:
        raise DomainError(_("Choose what the message is for."), field="purpose")
    # What the filling left as written: placeholders this customer has no value for.
    left = placeholders(text) if template is not None else []
    return Draft(text, purpose, template, left)


@transaction.atomic(durable=True)
def sms_send(
    user: User,
    *,
    customer_id: int,
    phone: str,
    text: str = "",
    template_id: str | int | None = None,
    purpose: str = Purpose.MARKETING,
) -> Sms:
    """Write an SMS to one of the customer's numbers, to be sent after the commit. Refused
    for a number on the block list, and for marketing to a consumer without consent."""
    context = sms_context(user, customer_id)
    draft = sms_draft(context, user, template_id=template_id, text=text, purpose=purpose)
    if not draft.text:
        raise DomainError(_("Write the message."), field="text")
    if draft.unfilled:
        raise DomainError(
            _("The customer has no value for {%(name)s}: fill it in on the card first.")
            % {"name": draft.unfilled[0]},
            field="text",
        )
    customer, campaign = context.customer, context.campaign
    if phone not in customer.phones:
        raise DomainError(_("Choose one of the customer's numbers."), field="phone")
    reason = skip_reason(customer, campaign, phone, draft.purpose)
    if reason:
        field = {"blocked": "phone", "anonymised": "customer"}.get(reason, "purpose")
        raise DomainError(REASONS[reason], field=field)
    if draft.purpose == Purpose.MARKETING:
        check_open_for_calls(campaign, timezone.now())  # rule 11: marketing in its hours
    account = account_for(campaign.crm.data_owner_id)
    now = timezone.now()
    sms = Sms.objects.create(
        data_owner_id=campaign.crm.data_owner_id,
        customer=customer,
        campaign=campaign,
        user=user,
        direction=Sms.Direction.OUT,
        sender=campaign.sms_sender,
        to=phone,
        text=draft.text,
        purpose=draft.purpose,
        template=draft.template,
        segments=max(1, measure(draft.text).segments),
        created_at=now,
        backend=account.backend,
        status=Sms.Status.QUEUED,
        status_at=now,
        next_attempt_at=now,
    )
    transaction.on_commit(lambda: _enqueue(sms.pk))
    return sms


def _enqueue(sms_id: int, at: dt.datetime | None = None) -> None:
    """Send it now, or at ``at`` (where the backend cannot wait, ``sms_due_send``)."""
    from kundeflyt.telephony.tasks import sms_send_task

    enqueue(sms_send_task, sms_id, at=at)


def sms_attempt(sms_id: int, *, now: dt.datetime | None = None) -> Sms | None:
    """Send a message that is due, once: claimed under a lock so that no two workers send it,
    and checked again against the block list and consent as they are now."""
    now = now or timezone.now()
    with transaction.atomic():
        sms = (
            Sms.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("customer", "campaign__crm")
            .filter(pk=sms_id, status=Sms.Status.QUEUED, next_attempt_at__lte=now)
            .first()
        )
        if sms is None:
            return None
        assert sms.customer is not None and sms.campaign is not None
        refused = refusal(sms.customer, sms.campaign, sms.to, sms.purpose)
        if refused:
            return _finish(sms, now, status=Sms.Status.FAILED, error=refused)
        opens = opens_at(sms.campaign, now) if sms.purpose == Purpose.MARKETING else None
        if opens is not None:  # rule 11: a retry or a late worker waits for the hours
            Sms.objects.filter(pk=sms.pk).update(next_attempt_at=opens)
            transaction.on_commit(lambda: _enqueue(sms_id, at=opens))
            sms.next_attempt_at = opens
            return sms
        account = account_for(sms.data_owner_id)
        sms.attempts += 1
        sms.next_attempt_at = None  # taken: not due for anyone else, whatever happens next
        sms.status_at = now
        sms.backend = account.backend  # the provider it goes through, as set up now
        sms.save(update_fields=["attempts", "next_attempt_at", "status_at", "backend"])
    try:
        backend = backend_for(account)
        accepted = backend.send_sms(
            OutgoingSms(
                key=str(sms.key),
                sender=sms.sender,
                to=sms.to,
                text=sms.text,
                status_url=_with_key(backend.callback_url("sms-status"), sms),
            )
        )
    except DomainError as unreadable:  # the stored secret
        return _finish(sms, timezone.now(), status=Sms.Status.FAILED, error=unreadable.message)
    except ProviderError as failed:
        if failed.retry and sms.attempts <= len(RETRY_DELAYS):
            retry_at = timezone.now() + RETRY_DELAYS[sms.attempts - 1]
            Sms.objects.filter(pk=sms.pk).update(next_attempt_at=retry_at, error=failed.message)
            _enqueue(sms.pk, at=retry_at)
            sms.next_attempt_at, sms.error = retry_at, failed.message
            return sms
        return _finish(sms, timezone.now(), status=Sms.Status.FAILED, error=failed.message)
    # Without a report address, "taken" is all the provider will ever tell: that is sent.
    status = accepted.status
    if status == Sms.Status.QUEUED and not backend.callback_url("sms-status"):
        status = Sms.Status.SENT
    return _finish(sms, timezone.now(), status=status, provider_id=accepted.provider_id, error="")


def _with_key(url: str, sms: Sms) -> str:
    """The status address with our key in it: a report that comes before the provider's id
    is stored (it may, right after the provider answers) still finds its message."""
    return f"{url}?sms={sms.key}" if url else ""


def _finish(
    sms: Sms, now: dt.datetime, *, status: str, error: str, provider_id: str | None = None
) -> Sms:
    """Record what became of a sending, unless a callback already told more."""
    Sms.objects.filter(pk=sms.pk).update(status_at=now, error=error[:300], next_attempt_at=None)
    if provider_id is not None:  # unless an early report stored it already
        Sms.objects.filter(pk=sms.pk, provider_id="").update(provider_id=provider_id)
    Sms.objects.filter(pk=sms.pk, status=Sms.Status.QUEUED).update(status=status)
    sms.refresh_from_db()
    return sms


def sms_due_send(now: dt.datetime | None = None, limit: int = 1000) -> int:
    """The sweep: send messages whose retry is due (where the task backend cannot wait), and
    mark failed those a worker took and never finished, for a person to look at."""
    now = now or timezone.now()
    Sms.objects.filter(
        status=Sms.Status.QUEUED,
        provider_id="",  # the provider never said it took it
        next_attempt_at__isnull=True,
        attempts__gt=0,
        status_at__lt=now - SENDING_GIVE_UP,
    ).update(
        status=Sms.Status.FAILED,
        status_at=now,
        error=_("The sending stopped half-way: it may have gone out. Check before sending again."),
    )
    due = list(
        Sms.objects.filter(status=Sms.Status.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        sms_attempt(pk, now=now)
    return len(due)


def sms_status_report(
    account: ProviderAccount, report: StatusReport, *, key: uuid.UUID | None = None
) -> Sms | None:
    """A provider's delivery report. Matched by our key in its address (or by the provider's
    id), and applied only if it moves the status forward, so a report delivered twice or
    late changes nothing."""
    if not report.provider_id:
        return None
    mine = Sms.objects.select_for_update().filter(
        data_owner_id=account.data_owner_id, backend=account.backend
    )
    by_key = Q(key=key, provider_id__in=("", report.provider_id)) if key else Q(pk__in=[])
    with transaction.atomic():
        sms = mine.filter(by_key | Q(provider_id=report.provider_id)).first()
        if sms is None:
            return None
        changed = []
        if not sms.provider_id:
            sms.provider_id = report.provider_id
            changed.append("provider_id")
        if RANK[report.status] > RANK[sms.status]:
            sms.status, sms.status_at = report.status, timezone.now()
            sms.error = report.error[:300] if report.status == Sms.Status.FAILED else sms.error
            changed += ["status", "status_at", "error"]
        if changed:
            sms.save(update_fields=changed)
    return sms


@dataclass(frozen=True)
class Caller:
    """Who an incoming SMS or call comes from."""

    number: str  # E.164 when it reads as a number, else as given
    customers: list[Customer]  # the data owner's customers with that number, latest first
    campaign_id: int | None  # where the first of them is worked

    @property
    def customer(self) -> Customer | None:
        return self.customers[0] if self.customers else None


def caller_of(account: ProviderAccount, raw: str) -> Caller:
    """The caller of an incoming SMS or call, found by their number in any format."""
    number = phone_search_variants(raw) or raw[:20]
    if not number.startswith("+"):
        return Caller(number, [], None)
    customers = list(
        Customer.objects.filter(
            customers_with_phone(number),
            crm__data_owner=account.data_owner_id,
            anonymised_at__isnull=True,
        ).order_by("-updated_at", "pk")[:50]
    )
    placement = Placement.objects.filter(pk=customers[0].pk).first() if customers else None
    return Caller(number, customers, placement.campaign_id if placement else None)


@transaction.atomic(durable=True)
def sms_receive(account: ProviderAccount, inbound: InboundSms) -> Sms:
    """A customer's SMS to the data owner's number, kept on the history of the customer with
    that number. STOPP (or STOP) puts the number on the data owner's block list. Matched by
    the provider's id, so a callback delivered twice is recorded once."""
    if inbound.provider_id:
        known = Sms.objects.filter(backend=account.backend, provider_id=inbound.provider_id)
        if (sms := known.first()) is not None:
            return sms
    caller = caller_of(account, inbound.sender)
    text = inbound.text.replace("\x00", "")[:SMS_TEXT_LENGTH]
    try:
        with transaction.atomic():
            sms = Sms.objects.create(
                data_owner_id=account.data_owner_id,
                customer=caller.customer,
                campaign_id=caller.campaign_id,
                direction=Sms.Direction.IN,
                sender=caller.number,
                to=(phone_search_variants(inbound.to) or inbound.to)[:20],
                text=text,
                purpose=Purpose.SERVICE,
                segments=max(1, measure(text).segments),
                backend=account.backend,
                provider_id=inbound.provider_id,
                status=Sms.Status.RECEIVED,
            )
    except IntegrityError:  # the same callback, at the same moment
        return Sms.objects.get(backend=account.backend, provider_id=inbound.provider_id)
    if text.strip().strip(".!").upper() in STOP_WORDS and caller.number.startswith("+"):
        _opt_out(account, caller.number, caller.customers, sms)
    return sms


def _opt_out(account: ProviderAccount, phone: str, found: list[Customer], sms: Sms) -> None:
    """STOPP: the number goes on the data owner's block list, its customers are blocked, and
    the privacy log records the objection (GDPR Art. 21, markedsføringsloven § 15)."""
    owner_id = account.data_owner_id
    entry, created = BlockedNumber.objects.get_or_create(
        phone=phone,
        data_owner_id=owner_id,
        defaults={"reason": _("Replied STOPP by SMS"), **actor_fields(INBOUND)},
    )
    if created:
        audit(INBOUND, "blocklist.add", entry, after={"phone": phone, "data_owner": owner_id})
    Customer.objects.filter(Q(pk__in=[c.pk for c in found]), is_blocked=False).update(
        is_blocked=True, updated_at=timezone.now()
    )
    for customer in found:
        audit(
            INBOUND,
            "customer.sms_stop",
            customer,
            after={"phone": phone, "sms": sms.pk},
            customer_id=customer.pk,
        )
    PrivacyRequest.objects.create(
        **actor_fields(INBOUND),
        data_owner_id=owner_id,
        customer=found[0] if found else None,
        right=Right.OBJECTION,
        reason=_("Replied STOPP by SMS"),
        done=_("The number was put on the data owner's block list."),
    )
    logger.info("sms stop: number blocked for data owner %s", owner_id)


@transaction.atomic(durable=True)
def provider_account_save(
    actor: User,
    *,
    account: ProviderAccount,
    secret: str = "",
    secret_variable: str = "",
) -> ProviderAccount:
    """Set up a data owner's provider. A new secret is sealed before it is stored; an empty
    one keeps the stored secret. The audit row names what changed, never the secret."""
    require(actor, Perm.ADMINISTRATOR)
    account.secret_variable = check_variable(secret_variable)
    secret = bounded_text(secret, field="secret", max_length=200)
    if secret:
        account.sealed_secret = seal(secret)
    if account.secret_variable:
        account.sealed_secret = ""
    account.username = bounded_text(account.username, field="username", max_length=100)
    account.forward_to = caller_number_clean(account.forward_to, field="forward_to")
    if account.backend != Backend.CONSOLE and not (
        account.sealed_secret or account.secret_variable
    ):
        raise DomainError(
            _("Give the provider's secret, or the variable that holds it."), field="secret"
        )
    created = account.pk is None
    account.save()
    audit(
        actor,
        "provider.set_up" if created else "provider.change",
        account,
        after={
            "data_owner": account.data_owner_id,
            "backend": account.backend,
            "username": account.username,
            "secret_variable": account.secret_variable,
            "secret_changed": bool(secret),
        },
    )
    return account
