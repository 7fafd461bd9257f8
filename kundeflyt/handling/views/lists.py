"""Lists to find and take customers from: campaign lists, search, selected customers."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, has_perm, require, users_with_perm
from kundeflyt.accounts.visibility import (
    campaigns_open_to,
    campaigns_visible_to,
    data_owners_visible_to,
)
from kundeflyt.campaigns.models import Campaign
from kundeflyt.common.bounds import SHORT_TEXT, bounded_text
from kundeflyt.common.errors import DomainError
from kundeflyt.common.refusals import htmx_redirect, refused
from kundeflyt.crm.field_filters import FIELD_OPERATORS
from kundeflyt.crm.models import Customer, DataOwner
from kundeflyt.handling import selectors, services
from kundeflyt.handling.forms import parse_id
from kundeflyt.handling.models import Placement
from kundeflyt.handling.selectors.lists import UNSEGMENTED
from kundeflyt.handling.services.bulk import BulkAction, BulkTarget, check_bulk
from kundeflyt.handling.views.common import user_of
from kundeflyt.privacy.access_log import Kind, access_record

PAGE_SIZE = 50


@login_required
@require_GET
def campaign_customers(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The customers of a campaign (or segment), filtered, to open one and take it by hand."""
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    campaign = get_object_or_404(
        campaigns_open_to(user).select_related("crm", "flow"), pk=campaign_id
    )
    definitions = list(campaign.crm.fields.all())
    error = None
    try:
        filters = selectors.PlacementFilter.from_query(request.GET, definitions)
    except DomainError as refusal:
        error = refusal
        filters = selectors.PlacementFilter()
    filters = dataclasses.replace(filters, campaign=campaign.pk)
    placements = (
        selectors.placements_filtered(user, filters)
        .select_related("customer", "segment", "state", "holder", "follow_up_user")
        .order_by("is_final", "segment__priority", "customer__name", "pk")
    )
    page = Paginator(placements, PAGE_SIZE).get_page(request.GET.get("page"))
    keep = request.GET.copy()
    keep.pop("page", None)
    segment = None
    if isinstance(filters.segment, int):
        segment = campaign.segments.filter(pk=filters.segment).first()
    return render(
        request,
        "handling/campaign_customers.html",
        {
            "nav": "my_work",
            "campaign": campaign,
            "segment": segment,
            "page": page,
            "filters": filters,
            "raw": request.GET,
            "error": error,
            "unsegmented": UNSEGMENTED,
            "operators": FIELD_OPERATORS,
            "keep": keep.urlencode(),
            "now": timezone.now(),
            "states": campaign.flow.states.all(),
            "segments": campaign.segments.all(),
            "definitions": definitions,
            "workers": selectors.campaign_workers(campaign),
            "may_reassign": has_perm(user, Perm.EXTENDED_CUSTOMER_HANDLING),
        },
    )


@login_required
@require_POST
def campaign_follow_ups_reassign(request: HttpRequest, campaign_id: int) -> HttpResponseBase:
    """Hand the personal follow-ups of archived users in the campaign to a user, or share
    them (rule 10: no one else would ever be presented them)."""
    user = user_of(request)
    campaign = get_object_or_404(campaigns_open_to(user), pk=campaign_id)
    back = (
        reverse("handling:campaign_customers", args=[campaign.pk]) + "?reach=archived_responsible"
    )
    try:
        raw = request.POST.get("to_user") or ""
        to_user = None
        if raw != "shared":
            to_user = (
                selectors.campaign_workers(campaign)
                .filter(pk=parse_id(raw, field="to_user"))
                .first()
            )
            if to_user is None:
                raise DomainError(_("Choose a user who works this campaign."), field="to_user")
        count = services.follow_ups_reassign(user, campaign=campaign, to_user=to_user)
    except DomainError as error:
        return refused(request, error, back=back)
    messages.success(
        request,
        ngettext("%(n)s follow-up is handed over.", "%(n)s follow-ups are handed over.", count)
        % {"n": count},
    )
    return htmx_redirect(request, back)


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """Find customers by phone (any format), customer id, name or e-mail, among those the
    user may see."""
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    error = None
    try:
        query = bounded_text(request.GET.get("q"), field="q", max_length=SHORT_TEXT)
    except DomainError as refusal:
        error, query = refusal, ""
    results = []
    if query:
        results = list(
            selectors.customers_matching(user, query).select_related(
                "crm__data_owner", "placement__campaign", "placement__segment", "placement__state"
            )[:100]
        )
    access_record(user, Kind.SEARCH, [c.pk for c in results])
    return render(request, "handling/search.html", {"q": query, "results": results, "error": error})


@login_required
@require_GET
def selected_customers(request: HttpRequest) -> HttpResponse:
    """Who holds which customer since when; releasing needs extended customer handling."""
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    placements: list[Placement] = list(selectors.selected_customers(user))
    return render(
        request,
        "handling/selected_customers.html",
        {"nav": "selected", "placements": placements},
    )


@login_required
@require_POST
def selection_release(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    back = reverse("handling:selected_customers")
    try:
        services.customer_release(user_of(request), customer_id=customer_id)
    except DomainError as error:
        return refused(request, error, back=back)
    messages.success(request, _("The customer is released."))
    return htmx_redirect(request, back)


# --- Bulk actions -------------------------------------------------------------------------------


def _workers(request: HttpRequest, campaign: Campaign | None) -> QuerySet[User]:
    """Who may be given follow-ups: the campaign's workers, or, across campaigns (search),
    the users of the data owners the user sees (each customer's service checks its own)."""
    if campaign is not None:
        return selectors.campaign_workers(campaign)
    owners = data_owners_visible_to(user_of(request))
    granted = Q(
        pk__in=DataOwner.users.through.objects.filter(dataowner__in=owners).values("user_id")
    ) | Q(team__in=DataOwner.teams.through.objects.filter(dataowner__in=owners).values("team_id"))
    return users_with_perm(Perm.CUSTOMER_HANDLING).filter(granted).order_by("first_name", "pk")


def _bulk_target(request: HttpRequest, action: BulkAction, campaign: Campaign | None) -> BulkTarget:
    user = user_of(request)
    if action == BulkAction.MOVE:
        target_campaign = None
        if request.POST.get("to_campaign"):
            target_campaign = (
                campaigns_open_to(user)
                .filter(pk=parse_id(request.POST["to_campaign"], field="to_campaign"))
                .first()
            )
            if target_campaign is None:
                raise DomainError(_("Choose a campaign from the list."), field="to_campaign")
        segment = None
        owner = target_campaign or campaign
        if request.POST.get("to_segment") and owner is not None:
            segment = owner.segments.filter(
                pk=parse_id(request.POST["to_segment"], field="to_segment")
            ).first()
            if segment is None:
                raise DomainError(_("Choose a segment of the campaign."), field="to_segment")
        if target_campaign is None and segment is None:
            raise DomainError(_("Choose a campaign or a segment to move to."), field="to_campaign")
        return BulkTarget(campaign=target_campaign, segment=segment)
    if action == BulkAction.RESPONSIBLE:
        raw = request.POST.get("to_user") or ""
        if raw == "shared":
            return BulkTarget()
        responsible = _workers(request, campaign).filter(pk=parse_id(raw, field="to_user")).first()
        if responsible is None:
            raise DomainError(_("Choose a user who works this campaign."), field="to_user")
        return BulkTarget(responsible=responsible)
    return BulkTarget()


def _bulk(
    request: HttpRequest,
    placements: QuerySet[Placement],
    *,
    campaign: Campaign | None,
    back: str,
) -> HttpResponseBase:
    """The bulk flow on ``placements`` (already among what the user sees): the rows ticked or
    all of them; first a confirmation with the count and what will be refused, then the
    action through its service for each customer, and a summary."""
    user = user_of(request)
    try:
        action = BulkAction(request.POST.get("action") or "")
    except ValueError:
        return refused(request, DomainError(_("Choose what to do."), field="action"), back=back)
    try:
        if request.POST.get("all") != "1":
            ticked = [parse_id(v, field="customer") for v in request.POST.getlist("customer")]
            placements = placements.filter(pk__in=ticked)
        ids = list(placements.order_by("pk").values_list("pk", flat=True))
        if not ids:
            raise DomainError(_("Tick the customers first."), field="customer")
        check_bulk(user, action, len(ids))
    except DomainError as error:
        return refused(request, error, back=back)
    campaigns = campaigns_open_to(user).prefetch_related("segments")
    if campaign is not None:
        campaigns = campaigns.filter(crm=campaign.crm_id)
    context: dict[str, Any] = {
        "nav": "my_work",
        "campaign": campaign,
        "action": action,
        "count": len(ids),
        "held": placements.filter(holder__isnull=False, lease_expires_at__gt=timezone.now())
        .exclude(holder=user)
        .count(),
        "posted": [
            (k, v)
            for k, values in request.POST.lists()
            for v in values
            if k not in ("csrfmiddlewaretoken", "confirm", "to_campaign", "to_segment", "to_user")
        ],
        "campaigns": campaigns,
        "workers": _workers(request, campaign),
        "back": back,
    }
    if request.POST.get("confirm") != "yes":
        return render(request, "handling/bulk_confirm.html", context)
    try:
        target = _bulk_target(request, action, campaign)
        result = services.customers_bulk(user, action=action, customer_ids=ids, target=target)
    except DomainError as error:
        return render(request, "handling/bulk_confirm.html", context | {"error": error}, status=400)
    names = Customer.objects.in_bulk([pk for pk, _reason in result.refused[:200]])
    return render(
        request,
        "handling/bulk_done.html",
        context
        | {
            "result": result,
            "refused": [(names.get(pk, pk), reason) for pk, reason in result.refused[:200]],
        },
    )


@login_required
@require_POST
def campaign_bulk(request: HttpRequest, campaign_id: int) -> HttpResponseBase:
    """A bulk action on the campaign list: the rows ticked, or all matching its filter."""
    user = user_of(request)
    campaign = get_object_or_404(campaigns_open_to(user).select_related("crm"), pk=campaign_id)
    back = reverse("handling:campaign_customers", args=[campaign.pk])
    try:
        filters = selectors.PlacementFilter.for_campaign(request.POST, campaign)
    except DomainError as error:
        return refused(request, error, back=back)
    return _bulk(
        request, selectors.placements_filtered(user, filters), campaign=campaign, back=back
    )


@login_required
@require_POST
def search_bulk(request: HttpRequest) -> HttpResponseBase:
    """A bulk action on search results: the rows ticked, or all customers the search finds
    (those in a campaign: the actions act on placements)."""
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    try:
        query = bounded_text(request.POST.get("q"), field="q", max_length=SHORT_TEXT)
    except DomainError as error:
        return refused(request, error, back=reverse("handling:search"))
    back = reverse("handling:search") + "?" + urlencode({"q": query})
    if not query:
        return refused(request, DomainError(_("Search first."), field="q"), back=back)
    placements = Placement.objects.filter(
        pk__in=selectors.customers_matching(user, query).values("pk"),
        campaign__in=campaigns_visible_to(user),
    )
    return _bulk(request, placements, campaign=None, back=back)
