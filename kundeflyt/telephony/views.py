"""Calls and SMS in the browser (the SMS dialog of the customer screen, the console outbox)
and the providers' callbacks."""

from __future__ import annotations

import logging
import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import campaigns_open_to
from kundeflyt.campaigns.calling_hours import follows_consumer_rules
from kundeflyt.campaigns.models import Campaign
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.common.refusals import REFUSED, is_htmx, refused
from kundeflyt.flows.models import Outcome
from kundeflyt.handling import selectors as handling_selectors
from kundeflyt.handling.forms import parse_id, parse_int
from kundeflyt.handling.models import Placement
from kundeflyt.handling.views.common import user_of
from kundeflyt.telephony import bulk, calls, selectors, services
from kundeflyt.telephony.backends import backend_for
from kundeflyt.telephony.backends.base import InboundSms, NotAuthentic
from kundeflyt.telephony.models import Backend, Call, ProviderAccount, Purpose, SmsTemplate
from kundeflyt.telephony.sms_text import measure

logger = logging.getLogger(__name__)
DIALOG = "telephony/partials/_sms_dialog.html"


def _form(request: HttpRequest) -> dict[str, str]:
    source = request.POST if request.method == "POST" else request.GET
    return {
        name: source.get(name, "")[:2000]
        for name in ("customer", "phone", "template", "text", "purpose")
    }


def _dialog(
    request: HttpRequest, form: dict[str, str], *, status: int = 200, **extra: Any
) -> HttpResponse:
    """The SMS dialog for the customer on the user's screen: the form, the message as it
    would go (with its length and parts), and the latest messages to and from the customer."""
    user = user_of(request)
    customer_id = parse_id(form["customer"], field="customer")
    context = services.sms_context(user, customer_id)
    form["purpose"] = form["purpose"] or Purpose.MARKETING
    try:
        draft = services.sms_draft(
            context, user, template_id=form["template"], text=form["text"], purpose=form["purpose"]
        )
        text, purpose = draft.text, draft.purpose
    except DomainError as error:
        text, purpose = form["text"], form["purpose"]
        extra.setdefault("error", error.message)
        extra.setdefault("error_field", error.field)
    phones = list(zip(context.customer.phones, context.customer.phones_display, strict=True))
    return render(
        request,
        DIALOG,
        {
            "customer": context.customer,
            "campaign": context.campaign,
            "templates": context.templates,
            "phones": phones,
            "form": form | {"text": text, "purpose": purpose},
            "measure": measure(text),
            "purposes": Purpose.choices,
            # Marketing to consumers needs consent (markedsføringsloven § 15).
            "consent_applies": follows_consumer_rules(context.campaign),
            "sent": selectors.customer_sms(user, customer_id),
            **extra,
        },
        status=status,
    )


def _status(error: DomainError) -> int:
    """A refusal's status for a partial htmx swaps in: 403 as it is, any other as 422."""
    return error.status if error.status == 403 else REFUSED


def _refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    """The dialog with only the reason: no form to fill in for a customer one cannot text."""
    context = {"error": error}
    return render(request, "telephony/partials/_sms_refused.html", context, status=_status(error))


@login_required
@require_GET
def sms_compose(request: HttpRequest) -> HttpResponseBase:
    """The dialog, opened from the card's SMS button, and again when a template is chosen."""
    try:
        require(user_of(request), Perm.SMS)
        return _dialog(request, _form(request))
    except DomainError as error:
        return _refused(request, error)


@login_required
@require_GET
def sms_measure(request: HttpRequest) -> HttpResponse:
    """The length and parts of the text as the agent types it."""
    require(user_of(request), Perm.SMS)
    text = request.GET.get("text", "")[:2000]
    return render(request, "telephony/partials/_sms_measure.html", {"measure": measure(text)})


@login_required
@require_POST
def sms_send(request: HttpRequest) -> HttpResponseBase:
    form = _form(request)
    user = user_of(request)
    require(user, Perm.SMS)
    try:
        customer_id = parse_id(form["customer"], field="customer")
        sms = services.sms_send(
            user,
            customer_id=customer_id,
            phone=form["phone"],
            text=form["text"],
            template_id=form["template"],
            purpose=form["purpose"] or Purpose.MARKETING,
        )
    except DomainError as error:
        try:
            return _dialog(
                request, form, status=REFUSED, error=error.message, error_field=error.field
            )
        except DomainError:
            return _refused(request, error)
    fresh = {
        "customer": form["customer"],
        "phone": sms.to,
        "template": "",
        "text": "",
        "purpose": "",
    }
    return _dialog(request, fresh, sent_now=sms)


@login_required
@require_GET
def sms_list(request: HttpRequest) -> HttpResponseBase:
    """The customer's latest messages, polled while one is on its way."""
    user = user_of(request)
    try:
        customer_id = parse_id(request.GET.get("customer"), field="customer")
        sent = selectors.customer_sms(user, customer_id)
    except DomainError as error:
        return _refused(request, error)
    return render(request, "telephony/partials/_sms_list.html", {"sent": sent})


@login_required
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    """The console provider's phone: what it "sent", and a customer's reply written by hand."""
    shown = list(selectors.console_outbox(user_of(request))[: selectors.OUTBOX_SHOWN])
    return render(request, "telephony/outbox.html", {"nav": "outbox", "shown": shown})


@login_required
@require_POST
def outbox_reply(request: HttpRequest) -> HttpResponseBase:
    """A customer's reply to the console provider, as the demo's stand-in for a real phone."""
    user = user_of(request)
    outbox = selectors.console_outbox(user)  # the permission, before the message is read
    try:
        sms_id = parse_int(request.POST.get("sms"), field="sms")
    except DomainError:
        sms_id = None
    sent = outbox.filter(pk=sms_id).first() if sms_id else None
    if sent is None:
        messages.error(request, _("No such message."))
        return redirect("telephony:outbox")
    try:
        services.sms_receive(
            services.account_for(sent.data_owner_id),
            InboundSms(
                provider_id=f"console-in-{uuid.uuid4()}",
                sender=sent.to,
                to=sent.sender,
                text=request.POST.get("text", "")[:1000],
            ),
        )
    except DomainError as error:
        return refused(request, error, back="telephony:outbox")
    messages.success(request, _("The reply was received."))
    return redirect("telephony:outbox")


# --- Calls -----------------------------------------------------------------------------------

CALL_PANEL = "telephony/partials/_call_panel.html"


def _call_panel(request: HttpRequest, call: Call | None, *, status: int = 200) -> HttpResponse:
    """The screen's call panel: how far the call got, asked again while it goes on. When it
    ended unanswered, it names the flow's "no answer" outcome for the screen to pre-select."""
    prefill = None
    unanswered = (Call.Result.NO_ANSWER, Call.Result.BUSY)
    if call is not None and call.result in unanswered and call.campaign_id:
        prefill = (
            Outcome.objects.filter(flow__campaigns=call.campaign_id, key="no_answer")
            .values_list("pk", flat=True)
            .first()
        )
    return render(request, CALL_PANEL, {"call": call, "prefill": prefill}, status=status)


def _call_refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    """The reason, above the call that goes on, if any: it stays in view to follow or end."""
    going = selectors.my_call(user_of(request), None)
    context = {"error": error.message, "call": going}
    return render(request, CALL_PANEL, context, status=_status(error))


@login_required
@require_POST
def call_start(request: HttpRequest) -> HttpResponseBase:
    """Call from the card: the agent's phone rings, then the customer's."""
    user = user_of(request)
    try:
        customer_id = parse_id(request.POST.get("customer"), field="customer")
        call = calls.call_start(
            user, customer_id=customer_id, phone=request.POST.get("phone", "")[:20]
        )
    except DomainError as error:
        return _call_refused(request, error)
    return _call_panel(request, selectors.my_call(user, call.pk))


@login_required
@require_GET
def call_panel(request: HttpRequest) -> HttpResponseBase:
    """The call panel, asked again while the call goes on; without ``call``, the agent's
    call that goes on, if any (the screen asks for it when it opens)."""
    try:
        raw = request.GET.get("call")
        call_id = parse_id(raw, field="call") if raw else None
        return _call_panel(request, selectors.my_call(user_of(request), call_id))
    except DomainError as error:
        return _call_refused(request, error)


@login_required
@require_POST
def call_console(request: HttpRequest) -> HttpResponseBase:
    """The console provider's customer side, played by the agent (the demo, a test system);
    and, with any provider, the agent's word that the call is over (``act=end``)."""
    user = user_of(request)
    try:
        call_id = parse_id(request.POST.get("call"), field="call")
        act = request.POST.get("act", "")
        if act == "end":
            call = calls.call_end(user, call_id=call_id)
        else:
            call = calls.call_console_act(user, call_id=call_id, act=act)
    except DomainError as error:
        return _call_refused(request, error)
    return _call_panel(request, call)


@login_required
@require_GET
def calls_incoming(request: HttpRequest) -> HttpResponse:
    """Who is calling in, for the agents who have no customer open (My work asks now and
    then)."""
    offered = calls.calls_offered(user_of(request), timezone.now())
    return render(request, "telephony/partials/_incoming.html", {"offered": offered})


@login_required
@require_GET
def call_list(request: HttpRequest) -> HttpResponseBase:
    """The customer's latest calls (customer details)."""
    try:
        customer_id = parse_id(request.GET.get("customer"), field="customer")
        found = selectors.customer_calls(user_of(request), customer_id)
    except DomainError as error:
        return _refused(request, error)
    return render(request, "telephony/partials/_call_list.html", {"calls": found})


HOOKS = {"sms-status", "sms-in", "call", "call-in"}


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text[:40]) if text else None
    except ValueError:
        return None


@csrf_exempt
@require_POST
def hook(request: HttpRequest, account_id: int, kind: str) -> HttpResponse:
    """A provider's callback: refused unless it proves where it comes from; matched by the
    provider's ids, so a callback delivered again changes nothing."""
    account = ProviderAccount.objects.filter(pk=account_id).exclude(backend=Backend.CONSOLE)
    found = account.first()
    if found is None or kind not in HOOKS:
        return HttpResponse(status=404)
    try:
        backend = backend_for(found)
        backend.check_authentic(request)
    except (NotAuthentic, DomainError) as refusal:
        logger.warning("telephony callback refused: account %s, %s: %s", account_id, kind, refusal)
        return HttpResponse(status=403)
    try:
        if kind == "call-in":
            calls.call_receive(found, backend.call_inbound(request))
            return backend.call_inbound_answer(found.forward_to)
        if kind == "call":
            report = backend.call_report(request)
            owner = (found.data_owner_id, found.backend)
            call = calls.call_progress(owner, report, key=_uuid(request.GET.get("call", "")))
            if call is None:
                return HttpResponse(status=404)
            return backend.call_answer(request, call)
        if kind == "sms-status":
            key = _uuid(request.GET.get("sms", ""))
            sms = services.sms_status_report(found, backend.sms_status(request), key=key)
            # Unknown yet (the worker has not stored the provider's id): ask again later.
            return HttpResponse(status=200 if sms is not None else 404)
        services.sms_receive(found, backend.sms_inbound(request))
        return backend.inbound_answer()
    except (ValueError, DomainError):
        return HttpResponse(status=400)


# --- Bulk SMS ---------------------------------------------------------------------------------


def _bulk_list(request: HttpRequest, data: Any) -> tuple[Campaign, QuerySet[Placement], str]:
    """The campaign list's customers as its filters choose them, and those filters to keep."""
    user = user_of(request)
    campaign_id = parse_id(data.get("campaign"), field="campaign")
    campaign = campaigns_open_to(user).select_related("crm").filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(_("No such campaign."), field="campaign")
    filters = handling_selectors.PlacementFilter.for_campaign(data, campaign)
    # The list's filters, as the list page keeps them: all it was asked with, but this
    # page's own fields.
    kept = urlencode(
        [(k, v) for k, values in data.lists() for v in values if k not in BULK_OWN], doseq=True
    )
    return campaign, handling_selectors.placements_filtered(user, filters), kept


BULK_OWN = {"template", "expected", "description", "csrfmiddlewaretoken", "page"}


@login_required
def bulk_new(request: HttpRequest) -> HttpResponseBase:
    """SMS to the campaign list as filtered: first who will get it and who not, then send."""
    user = user_of(request)
    data = request.POST if request.method == "POST" else request.GET
    back = reverse("handling:customers_index")
    try:
        campaign, placements, kept = _bulk_list(request, data)
        back = reverse("handling:campaign_customers", args=[campaign.pk])
        raw = data.get("template")
        template_id = parse_id(raw, field="template") if raw else None
        if request.method == "POST":
            batch = bulk.bulk_sms_start(
                user,
                campaign=campaign,
                placements=placements,
                template_id=parse_id(raw, field="template"),
                expected=parse_id(data.get("expected"), field="expected"),
                description=str(data.get("description") or "")[:300].replace("\x00", ""),
            )
            messages.success(request, _("The SMS is on its way to the list."))
            return redirect("telephony:bulk_batch", batch.pk)
        preview = bulk.bulk_sms_preview(
            user, campaign=campaign, placements=placements, template_id=template_id
        )
    except DomainError as error:
        return refused(request, error, back=back)
    templates = list(SmsTemplate.objects.filter(campaign=campaign))
    sample = ""
    if preview.template is not None:
        sample = preview.template.text
    return render(
        request,
        "telephony/bulk_new.html",
        {
            "nav": "customers",
            "campaign": campaign,
            "preview": preview,
            "templates": templates,
            "kept": kept,
            "back": back,
            "sample": sample,
            "measure": measure(sample),
        },
    )


@login_required
@require_GET
def bulk_batch(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A bulk SMS's progress (polled by the page while it sends)."""
    user = user_of(request)
    require(user, Perm.BULK_SMS)
    batch = bulk.batches_visible_to(user).select_related("campaign", "template").filter(pk=pk)
    found = batch.first()
    if found is None:
        raise Http404(_("No such bulk SMS."))
    skipped = bulk.skipped_words(found.skipped_why)
    template = "telephony/partials/_bulk_progress.html" if is_htmx(request) else None
    return render(
        request,
        template or "telephony/bulk_batch.html",
        {"nav": "customers", "batch": found, "skipped": skipped},
    )


@login_required
@require_POST
def bulk_stop(request: HttpRequest, pk: int) -> HttpResponseBase:
    try:
        bulk.batch_stop(user_of(request), batch_id=pk)
    except DomainError as error:
        return refused(request, error, back=reverse("telephony:bulk_batch", args=[pk]))
    messages.success(request, _("Stopped: nobody else gets the message."))
    return redirect("telephony:bulk_batch", pk)
