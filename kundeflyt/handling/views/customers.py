"""A data owner's customers as a whole (issue 10): select by any field across campaigns and in
no campaign, count, save the selection, give it out to a campaign; and a customer by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import (
    campaigns_open_to,
    campaigns_visible_to,
    data_owners_visible_to,
)
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.errors import DomainError
from kundeflyt.common.refusals import htmx_redirect, refused
from kundeflyt.crm.field_filters import FIELD_OPERATORS
from kundeflyt.crm.models import CRM, Customer
from kundeflyt.handling import selectors, services
from kundeflyt.handling.forms import parse_id, parse_int
from kundeflyt.handling.models import SavedSelection
from kundeflyt.handling.selectors.customers import CUSTOMER_FILTER_PARAMS, NO_CAMPAIGN
from kundeflyt.handling.selectors.screen import standard_field_label
from kundeflyt.handling.views.common import WORKING, user_of

PAGE_SIZE = 50


def _crm(request: HttpRequest, crm_id: int) -> CRM:
    selectors.check_may_handle_all(user_of(request))
    return get_object_or_404(
        CRM.objects.filter(data_owner__in=data_owners_visible_to(user_of(request))).select_related(
            "data_owner"
        ),
        pk=crm_id,
    )


def _filter_items(data: Any) -> list[tuple[str, str]]:
    """The filter part of a request, to carry from the list to the give-out and back."""
    return [(k, v) for k in CUSTOMER_FILTER_PARAMS for v in data.getlist(k) if v]


def _filter_query(data: Any) -> str:
    return urlencode(_filter_items(data))


def _filtered(request: HttpRequest, crm: CRM, data: Any) -> tuple[Any, DomainError | None]:
    definitions = list(crm.fields.all())
    try:
        filters = selectors.CustomerFilter.from_query(data, definitions)
        error = None
    except DomainError as refusal:
        filters, error = selectors.CustomerFilter(), refusal
    return selectors.customers_filtered(user_of(request), crm, filters), error


@login_required
@require_GET
def customers_index(request: HttpRequest) -> HttpResponseBase:
    """The CRMs whose customers the user handles as a whole; straight to the one if one."""
    selectors.check_may_handle_all(user_of(request))
    crms = list(
        CRM.objects.filter(data_owner__in=data_owners_visible_to(user_of(request)))
        .select_related("data_owner")
        .order_by("data_owner__name", "name")
    )
    if len(crms) == 1:
        return htmx_redirect(request, reverse("handling:crm_customers", args=[crms[0].pk]))
    return render(request, "handling/crms.html", {"nav": "customers", "crms": crms})


@login_required
@require_GET
def crm_customers(request: HttpRequest, crm_id: int) -> HttpResponse:
    """Select a CRM's customers by any field, across campaigns and in none; count them."""
    crm = _crm(request, crm_id)
    customers, error = _filtered(request, crm, request.GET)
    customers = customers.select_related(
        "placement__campaign", "placement__segment", "placement__state"
    ).order_by("name", "pk")
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    campaigns = list(
        campaigns_visible_to(user_of(request))
        .filter(crm=crm)
        .prefetch_related("segments", "flow__states")
    )
    return render(
        request,
        "handling/crm_customers.html",
        {
            "nav": "customers",
            "crm": crm,
            "page": page,
            "count": page.paginator.count,
            "error": error,
            "raw": request.GET,
            "query": _filter_query(request.GET),
            "campaigns": campaigns,
            "no_campaign": NO_CAMPAIGN,
            "operators": FIELD_OPERATORS,
            "definitions": list(crm.fields.all()),
            "saved": SavedSelection.objects.filter(user=user_of(request), crm=crm),
            "imports": selectors.imports_into(crm),
            "may_add": bool(campaigns),
        },
    )


@login_required
@require_GET
def crm_customers_count(request: HttpRequest, crm_id: int) -> HttpResponse:
    """The live count as the filters change (htmx)."""
    crm = _crm(request, crm_id)
    customers, error = _filtered(request, crm, request.GET)
    return render(
        request,
        "handling/partials/_customer_count.html",
        {"count": customers.count(), "error": error},
    )


@login_required
@require_POST
def crm_selection_save(request: HttpRequest, crm_id: int) -> HttpResponseBase:
    crm = _crm(request, crm_id)
    query = _filter_query(request.POST)
    back = reverse("handling:crm_customers", args=[crm.pk]) + (f"?{query}" if query else "")
    try:
        saved = services.selection_save(
            user_of(request), crm=crm, name=request.POST.get("name", ""), query=query
        )
    except DomainError as error:
        return refused(request, error, back=back)
    messages.success(request, _("The selection “%(name)s” is saved.") % {"name": saved.name})
    return htmx_redirect(request, back)


def _target(request: HttpRequest, crm: CRM) -> tuple[Campaign, Segment | None]:
    campaign_id = parse_id(request.POST.get("to_campaign"), field="to_campaign")
    campaign = campaigns_visible_to(user_of(request)).filter(pk=campaign_id, crm=crm).first()
    if campaign is None:
        raise DomainError(_("Choose a campaign of this CRM."), field="to_campaign")
    segment = None
    segment_id = parse_int(request.POST.get("to_segment"), field="to_segment")
    if segment_id is not None:
        segment = campaign.segments.filter(pk=segment_id).first()
        if segment is None:
            raise DomainError(_("Choose a segment of the campaign."), field="to_segment")
    return campaign, segment


@login_required
@require_http_methods(["GET", "POST"])
def crm_give_out(request: HttpRequest, crm_id: int) -> HttpResponseBase:
    """Give the selected customers out to a campaign and segment: first a confirmation with
    the count and what will be refused, then the give-out and its summary."""
    crm = _crm(request, crm_id)
    data = request.POST if request.method == "POST" else request.GET
    query = _filter_query(data)
    back = reverse("handling:crm_customers", args=[crm.pk]) + (f"?{query}" if query else "")
    customers, error = _filtered(request, crm, data)
    if error is not None:
        return refused(request, error, back=back)
    campaigns = list(
        campaigns_visible_to(user_of(request)).filter(crm=crm).prefetch_related("segments")
    )
    context: dict[str, Any] = {
        "nav": "customers",
        "crm": crm,
        "query": query,
        "filter_items": _filter_items(data),
        "back": back,
        "count": customers.count(),
        "held": customers.filter(
            placement__holder__isnull=False, placement__lease_expires_at__gt=timezone.now()
        ).count(),
        "blocked": customers.filter(is_blocked=True).count(),
        "anonymised": customers.filter(anonymised_at__isnull=False).count(),
        "campaigns": campaigns,
    }
    if request.method == "GET" or request.POST.get("confirm") != "yes":
        return render(request, "handling/give_out.html", context)
    try:
        campaign, segment = _target(request, crm)
        result = services.customers_give_out(
            user_of(request),
            customer_ids=list(customers.values_list("pk", flat=True)),
            campaign=campaign,
            segment=segment,
        )
    except DomainError as error:
        context |= {"error": error}
        return render(request, "handling/give_out.html", context, status=400)
    refused_rows = _refused_rows(result.refused)
    return render(
        request,
        "handling/give_out_done.html",
        context
        | {"result": result, "campaign": campaign, "segment": segment, "refused": refused_rows},
    )


def _refused_rows(refused: list[tuple[int, str]]) -> list[tuple[Any, str]]:
    shown = refused[:200]
    names = Customer.objects.in_bulk([pk for pk, _reason in shown])
    return [(names.get(pk, pk), reason) for pk, reason in shown]


# --- A customer by hand -----------------------------------------------------------------------


def _new_customer_form(campaign: Campaign) -> list[dict[str, Any]]:
    """The form's fields: the standard ones, then the CRM's own, as the card shows them."""
    standard: list[dict[str, Any]] = [
        {
            "key": "customer_id",
            "label": standard_field_label("customer_id"),
            "type": "text",
            "required": True,
        },
        {"key": "name", "label": standard_field_label("name"), "type": "text"},
        {"key": "phone1", "label": standard_field_label("phone1"), "type": "phone"},
        {"key": "phone2", "label": standard_field_label("phone2"), "type": "phone"},
        {"key": "email", "label": standard_field_label("email"), "type": "email"},
    ]
    own: list[dict[str, Any]] = [
        {
            "key": d.key,
            "label": d.label,
            "type": d.type,
            "required": d.required,
            "choices": d.choices,
            "own": True,
        }
        for d in campaign.crm.fields.all()
    ]
    return standard + own


@login_required
@require_http_methods(["GET", "POST"])
def customer_new(request: HttpRequest, campaign_id: int) -> HttpResponseBase:
    """Create one customer by hand in a campaign, available there; then take it, open its
    details, or add another."""
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    campaign = get_object_or_404(
        campaigns_open_to(user).select_related("crm").prefetch_related("segments"), pk=campaign_id
    )
    fields = _new_customer_form(campaign)
    context: dict[str, Any] = {
        "nav": "my_work",
        "campaign": campaign,
        "fields": fields,
        "form": {},
        "errors": {},
    }
    if request.method == "GET":
        return render(request, "handling/customer_new.html", context)
    then = request.POST.get("then", "details")
    values: dict[str, Any] = {}
    own: dict[str, Any] = {}
    for f in fields:
        if f["type"] == "checkbox":
            raw: Any = f["key"] in request.POST
        elif f["type"] == "multichoice":
            raw = request.POST.getlist(f["key"])
        else:
            raw = request.POST.get(f["key"], "")
        (own if f.get("own") else values)[f["key"]] = raw
    try:
        segment = None
        segment_id = parse_int(request.POST.get("segment"), field="segment")
        if segment_id is not None:
            segment = campaign.segments.filter(pk=segment_id).first()
            if segment is None:
                raise DomainError(_("Choose a segment of the campaign."), field="segment")
        customer = services.customer_add(
            user,
            campaign=campaign,
            segment=segment,
            take=then == "take",
            source="manual",
            fields=own,
            **values,
        )
    except DomainError as error:
        context |= {
            "form": request.POST,
            "errors": {error.field or "": error.message},
            "error": error,
        }
        return render(request, "handling/customer_new.html", context, status=400)
    messages.success(request, _("%(customer)s is added.") % {"customer": customer})
    if then == "take":
        request.session.pop(WORKING, None)
        return htmx_redirect(request, reverse("handling:screen"))
    if then == "another":
        return htmx_redirect(request, reverse("handling:customer_new", args=[campaign.pk]))
    return htmx_redirect(request, reverse("handling:customer_details", args=[customer.pk]))
