"""Calls from the customer screen (S7): click-to-call through the data owner's provider, its
progress as the provider reports it, and the call log that customer details, the
registration and the reports read.

A call is written in the agent's request and placed by a worker after the commit. It is
placed once and never again: a failure ends it, with the reason shown on the screen, for the
agent to try again if they want. Its progress moves only forward (dialling, ringing,
answered, ended), so a report that comes late or twice changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import customers_visible_to, data_owners_visible_to
from kundeflyt.campaigns.calling_hours import check_open_for_calls, opens_at
from kundeflyt.campaigns.models import Campaign
from kundeflyt.common.errors import Conflict, DomainError, NotAllowed, NotFound
from kundeflyt.crm.models import Customer, has_blocked_number
from kundeflyt.handling.models import Event
from kundeflyt.handling.selectors.work import current_selection
from kundeflyt.reports.rollup import rollup_call
from kundeflyt.telephony.backends import backend_for
from kundeflyt.telephony.backends.base import (
    CallReport,
    InboundCall,
    OutgoingCall,
    ProviderError,
)
from kundeflyt.telephony.models import Backend, Call, ProviderAccount
from kundeflyt.telephony.services import account_for, caller_of

RANK = {"queued": 0, "ringing": 1, "answered": 2, "ended": 3}
# A call with no word of its end for this long is over, whatever was lost on the way: it no
# longer keeps its agent from calling again.
ONGOING = dt.timedelta(hours=3)
# A call the worker has not placed this soon after the click is not placed at all.
PLACE_WITHIN = dt.timedelta(seconds=60)
# A registration made this long after a call is still about it (the agent may write a while).
LINK_WINDOW = dt.timedelta(hours=2)


@transaction.atomic(durable=True)
def call_start(user: User, *, customer_id: int, phone: str) -> Call:
    """Ring the agent's own phone, then connect one of the customer's numbers. Only for the
    customer on the agent's screen, in a campaign with calls on, within its calling hours,
    never to a blocked number, and from the campaign's number (never a hidden one)."""
    require(user, Perm.CUSTOMER_HANDLING)
    # One call at a time per agent: two quick clicks wait for each other here.
    User.objects.select_for_update().filter(pk=user.pk).first()
    placement = current_selection(user)
    if placement is None or placement.pk != customer_id:
        raise Conflict(_("Open the customer in the customer screen to call."), field="customer")
    campaign, customer = placement.campaign, placement.customer
    if not campaign.calls_enabled:
        raise NotAllowed(_("The campaign does not make calls."), field="customer")
    if not campaign.caller_number:
        raise DomainError(
            _("The campaign has no number to call from yet: ask its administrator."),
            field="customer",
        )
    if not user.phone:
        raise DomainError(
            _("Set your phone for calls under My account first: Call rings it."),
            field="phone",
        )
    if phone not in customer.phones:
        raise DomainError(_("Choose one of the customer's numbers."), field="phone")
    if _blocked(customer, campaign, phone):
        raise DomainError(_("The number is on the block list."), field="phone")
    now = timezone.now()
    check_open_for_calls(campaign, now)
    if ongoing(user, now).exists():
        raise Conflict(_("You are in a call already: end it first."), field="phone")
    account = account_for(campaign.crm.data_owner_id)
    call = Call.objects.create(
        data_owner_id=campaign.crm.data_owner_id,
        customer=customer,
        campaign=campaign,
        user=user,
        direction=Call.Direction.OUT,
        caller=campaign.caller_number,
        agent_phone=user.phone,
        customer_phone=phone,
        created_at=now,
        backend=account.backend,
    )
    transaction.on_commit(lambda: _enqueue(call.pk))
    return call


def _blocked(customer: Customer, campaign: Campaign, phone: str) -> bool:
    return (
        customer.objected_at is not None
        or customer.is_blocked
        or has_blocked_number(campaign.crm.data_owner_id, [phone])
    )


def ongoing(user: User, now: dt.datetime) -> QuerySet[Call]:
    """The user's call that goes on (at most one: ``call_start`` allows no second)."""
    return Call.objects.filter(user=user, created_at__gte=now - ONGOING).exclude(
        status=Call.Status.ENDED
    )


def _enqueue(call_id: int) -> None:
    from kundeflyt.telephony.tasks import call_place_task

    call_place_task.enqueue(call_id)


def call_place(call_id: int) -> Call | None:
    """Ask the provider to place a call that waits, once, if it still may be made now: a
    call the worker reaches late (the agent has long moved on), outside the calling hours
    or to a number blocked meanwhile is ended instead, with why."""
    with transaction.atomic():
        call = Call.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            pk=call_id, status=Call.Status.QUEUED, provider_id=""
        )
        found = call.select_related("customer", "campaign__crm").first()
        if found is None:
            return None
        late = _too_late(found, timezone.now())
        if late:
            return _fail(call_id, late)
        account = account_for(found.data_owner_id)
        # Taken: a second worker finds it no longer waiting for a provider.
        placing = f"placing-{found.key}"
        Call.objects.filter(pk=call_id).update(backend=account.backend, provider_id=placing)
    try:
        backend = backend_for(account)
        progress = backend.callback_url("call")
        accepted = backend.start_call(
            OutgoingCall(
                key=str(found.key),
                caller=found.caller,
                agent_phone=found.agent_phone,
                customer_phone=found.customer_phone,
                progress_url=f"{progress}?call={found.key}" if progress else "",
            )
        )
    except (ProviderError, DomainError) as failed:
        # Unless the provider called back meanwhile: then the call goes on, whatever its
        # answer to the placement became on the way.
        return _fail(call_id, failed.message, provider_id=placing)
    Call.objects.filter(pk=call_id, provider_id=placing).update(provider_id=accepted.provider_id)
    owner = (found.data_owner_id, account.backend)
    if not progress and account.backend != Backend.CONSOLE:
        # No callbacks were asked for (no PUBLIC_BASE_URL): nothing will tell how it goes,
        # so the call is over for Kundeflyt once placed, and never keeps its agent waiting.
        report = CallReport(accepted.provider_id, "ended")
        Call.objects.filter(pk=call_id).update(
            error=_("Placed; its progress is not reported (PUBLIC_BASE_URL is not set).")
        )
    else:
        report = CallReport(accepted.provider_id, accepted.status)
    call_progress(owner, report, key=found.key)
    return Call.objects.get(pk=call_id)


def _too_late(call: Call, now: dt.datetime) -> str:
    """Why a waiting call may no longer be placed; empty when it may."""
    if now - call.created_at > PLACE_WITHIN:
        return _("Not placed: it waited too long for the worker. Call again.")
    campaign, customer = call.campaign, call.customer
    if campaign is None or customer is None:
        return ""
    if _blocked(customer, campaign, call.customer_phone):
        return _("Not placed: the number is on the block list.")
    if opens_at(campaign, now) is not None:
        return _("Not placed: the campaign is closed for calls now.")
    return ""


def _fail(call_id: int, why: str, **still: Any) -> Call:
    """End a call that was not placed as failed, saying why, if it is still as ``still``
    says. A call tried and failed is a call made: the rollup counts it."""
    with transaction.atomic():
        ended = Call.objects.filter(pk=call_id, **still).update(
            status=Call.Status.ENDED,
            result=Call.Result.FAILED,
            ended_at=timezone.now(),
            provider_id="",
            error=why[:300],
        )
        call = Call.objects.get(pk=call_id)
        if ended:
            rollup_call(call, 1)
    return call


def call_progress(
    owner: tuple[int, str], report: CallReport, *, key: uuid.UUID | None = None
) -> Call | None:
    """Apply what a provider (or the console) tells of a call: matched by our key in the
    callback's address (or by the provider's id), only forward, the result set once."""
    data_owner_id, backend = owner
    mine = Call.objects.select_for_update().filter(data_owner_id=data_owner_id, backend=backend)
    if key is not None:
        found = mine.filter(key=key)
    elif report.provider_id:
        found = mine.filter(provider_id=report.provider_id)
    else:
        return None
    with transaction.atomic():
        call = found.first()
        if call is None:
            return None
        placing = call.provider_id.startswith("placing-")
        if report.provider_id and not placing and call.provider_id != report.provider_id:
            return None  # another call's report with our key: refuse it
        now = timezone.now()
        changed: dict[str, Any] = {}
        if placing and report.provider_id:  # the report came before the worker stored it
            changed["provider_id"] = report.provider_id
        if report.status and RANK[report.status] > RANK[call.status]:
            changed["status"] = report.status
            if report.status == "answered":
                changed["answered_at"] = now
            if report.status == "ended":
                changed["ended_at"] = now
        ending = report.status == "ended"
        # A told result is set once, but "answered" overrides an inferred failure (reports
        # come in any order); an inferred one applies only to a call never answered.
        told = not report.fallback and (
            not call.result or (report.result == "answered" and call.result == "failed")
        )
        inferred = report.fallback and not call.result and call.answered_at is None
        if ending and report.result and (told or inferred):
            changed["result"] = report.result
            if report.result == Call.Result.ANSWERED and call.answered_at is None:
                changed.setdefault("answered_at", now)
        if ending and report.duration is not None and call.duration_seconds is None:
            changed["duration_seconds"] = report.duration
        if report.recording_url and not call.recording_url:
            changed["recording_url"] = report.recording_url[:500]
        if changed:
            rollup_call(call, -1)  # its contribution as it was, if it had ended
            Call.objects.filter(pk=call.pk).update(**changed)
            call.refresh_from_db()
            rollup_call(call, 1)
    return call


CONSOLE_ACTS = {
    "answered": CallReport("", "answered"),
    "no_answer": CallReport("", "ended", result="no_answer", duration=0),
    "busy": CallReport("", "ended", result="busy", duration=0),
}


def call_console_act(user: User, *, call_id: int, act: str) -> Call:
    """The console provider's stand-in for the customer's phone: the agent says what
    happened (answered, no answer, busy), or hangs up."""
    call = Call.objects.filter(pk=call_id, user=user, backend=Backend.CONSOLE).first()
    if call is None:
        raise NotFound(_("No such call."), field="call")
    if act == "hang_up":
        answered = call.answered_at
        talked = int((timezone.now() - answered).total_seconds()) if answered else 0
        result = "answered" if answered else "no_answer"
        report = CallReport("", "ended", result=result, duration=talked)
    elif act in CONSOLE_ACTS:
        report = CONSOLE_ACTS[act]
    else:
        raise DomainError(_("Choose what happened."), field="act")
    found = call_progress((call.data_owner_id, call.backend), report, key=call.key)
    assert found is not None
    return found


def call_end(user: User, *, call_id: int) -> Call:
    """The agent's word that their call is over, when the provider's is lost (or will never
    come): the call ends in Kundeflyt, as answered if it was, and frees the agent."""
    call = Call.objects.filter(pk=call_id, user=user).first()
    if call is None:
        raise NotFound(_("No such call."), field="call")
    if call.is_over:
        return call
    answered = call.answered_at
    talked = int((timezone.now() - answered).total_seconds()) if answered else None
    report = CallReport("", "ended", result="answered" if answered else "", duration=talked)
    found = call_progress((call.data_owner_id, call.backend), report, key=call.key)
    assert found is not None
    if not found.error and not answered:
        Call.objects.filter(pk=call.pk).update(error=_("Ended by the agent; how is not known."))
        found.refresh_from_db()
    return found


@receiver(post_save, sender=Event)
def _link_calls(sender: Any, instance: Event, created: bool, **kwargs: Any) -> None:
    """A registration is about the calls its agent made to the customer just before: they are
    linked to it in its transaction (only in campaigns that make calls, so others pay
    nothing)."""
    if not created or instance.actor_user_id is None or not instance.campaign.calls_enabled:
        return
    Call.objects.filter(
        customer_id=instance.customer_id,
        user_id=instance.actor_user_id,
        event__isnull=True,
        created_at__gte=instance.registered_at - LINK_WINDOW,
        created_at__lte=instance.registered_at,
    ).update(event=instance)


# --- Incoming calls ---------------------------------------------------------------------------

# How long an incoming call is offered to the agents who have no customer open.
OFFERED = dt.timedelta(minutes=2)


@transaction.atomic(durable=True)
def call_receive(account: ProviderAccount, inbound: InboundCall) -> Call:
    """An incoming call to the data owner's number: kept with the customer whose number it
    comes from (in any format), and offered to the agents who have no customer open. Matched
    by the provider's id, so a callback delivered twice is recorded once."""
    if inbound.provider_id:
        known = Call.objects.filter(backend=account.backend, provider_id=inbound.provider_id)
        if (call := known.first()) is not None:
            return call
    caller = caller_of(account, inbound.caller)
    try:
        with transaction.atomic():
            return Call.objects.create(
                data_owner_id=account.data_owner_id,
                customer=caller.customer,
                campaign_id=caller.campaign_id,
                direction=Call.Direction.IN,
                caller=caller.number,
                customer_phone=caller.number,
                agent_phone=account.forward_to,
                status=Call.Status.RINGING,
                backend=account.backend,
                provider_id=inbound.provider_id[:64],
            )
    except IntegrityError:  # the same callback, at the same moment
        return Call.objects.get(backend=account.backend, provider_id=inbound.provider_id)


def calls_offered(user: User, now: dt.datetime) -> list[Call]:
    """Incoming calls of the last minutes from customers the user may see (or from unknown
    numbers, to users of the data owner who take calls)."""
    require(user, Perm.CUSTOMER_HANDLING)
    recent = Call.objects.filter(
        direction=Call.Direction.IN,
        created_at__gte=now - OFFERED,
        data_owner__in=data_owners_visible_to(user),
    ).exclude(status=Call.Status.ENDED)
    visible = customers_visible_to(user).values("pk")
    return list(
        recent.filter(Q(customer__isnull=True) | Q(customer__in=visible))
        .select_related("customer")
        .order_by("-created_at")[:5]
    )
