"""The export pages: choose what and in which format, download at once or follow a large
export's progress to its download. Views parse, call a selector or service, and render."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, has_perm, require
from kundeflyt.accounts.visibility import campaigns_visible_to
from kundeflyt.common.errors import DomainError
from kundeflyt.common.refusals import is_htmx, refused
from kundeflyt.exports import files, services
from kundeflyt.exports.forms import (
    LONGEST_PARAM,
    RegistrationExportForm,
    customer_filter,
    export_listing,
    export_query,
)
from kundeflyt.exports.models import Export
from kundeflyt.exports.selectors import (
    campaign_customers_export,
    check_may_export_customers,
    export_of,
    export_progress,
    exports_of,
    may_export_customers,
    registrations_export,
)
from kundeflyt.handling.selectors.lists import FOLLOW_UP_CHOICES, UNSEGMENTED

RECENT = 20  # exports listed on the exports page


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The user's own recent exports, and the ways to start one."""
    user = _user(request)
    exports = exports_of(user)[:RECENT]
    return render(
        request,
        "exports/index.html",
        {
            "nav": "exports",
            "exports": exports,
            "may_report": has_perm(user, Perm.REPORTING),
            "may_export_customers": may_export_customers(user),
            "keep_hours": round(services.keep_for().total_seconds() / 3600),
        },
    )


def _start(request: HttpRequest, user: User, kind: str, back: str) -> HttpResponseBase:
    """Export what the posted filters select: at once as a download, or in the background
    (to the export's page) when it is large."""
    data = request.POST
    try:
        listing = export_listing(user, kind, data)
        export = services.export_begin(
            user,
            listing=listing,
            fmt=str(data.get("format") or ""),
            query=export_query(kind, data),
            language=get_language(),
        )
    except DomainError as error:
        return refused(request, error, back=back)
    if export.in_background:
        return redirect("exports:export", pk=export.pk)
    return files.response(listing, export.format)


def _list_filters() -> dict[str, str]:
    """The campaign list's filters this page does not offer itself: kept, and named."""
    return {
        "q": _("Search"),
        "responsible": _("Responsible"),
        "reach": _("Reachable"),
        "field": _("Information field"),
        "op": _("How to compare"),
        "value": _("Value"),
        "low": _("From"),
        "high": _("To"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def customers(request: HttpRequest) -> HttpResponseBase:
    """The customers of a campaign list (the list's own query parameters), as CSV or XLSX."""
    user = _user(request)
    check_may_export_customers(user)
    query = export_query(Export.Kind.CUSTOMERS, request.GET)
    back = reverse("exports:customers") + (f"?{query}" if query else "")
    if request.method == "POST":
        return _start(request, user, Export.Kind.CUSTOMERS, back)
    context: dict[str, Any] = {
        "nav": "exports",
        "campaigns": campaigns_visible_to(user).order_by("name", "pk"),
        "raw": request.GET,
        "query": query,
        "unsegmented": UNSEGMENTED,
        "follow_ups": FOLLOW_UP_CHOICES,
        "hidden": [
            (name, label, str(request.GET[name])[:LONGEST_PARAM])
            for name, label in _list_filters().items()
            if request.GET.get(name)
        ],
        "post_params": parse_qsl(query),
        "stream_max": services.stream_max_rows(),
    }
    status = 200
    try:
        if request.GET.get("crm"):  # from a data owner's customer page
            listing = export_listing(user, Export.Kind.CUSTOMERS, request.GET)
            back_query = urlencode([(k, v) for k, v in parse_qsl(query) if k != "crm"])
            context |= {
                "listing": listing,
                "crm_page": reverse("handling:crm_customers", args=[request.GET["crm"]])
                + (f"?{back_query}" if back_query else ""),
                "hidden": [],
            }
        elif request.GET.get("campaign"):  # from a campaign list
            filters = customer_filter(user, request.GET)
            listing = campaign_customers_export(user, filters)
            assert filters.campaign is not None  # customer_filter requires it
            campaign = campaigns_visible_to(user).select_related("flow").get(pk=filters.campaign)
            context |= {
                "campaign": campaign,
                "filters": filters,
                "segments": campaign.segments.all(),
                "states": campaign.flow.states.all(),
                "listing": listing,
            }
    except DomainError as error:
        context["error"] = error
        status = error.status
    return render(request, "exports/customers.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def registrations(request: HttpRequest) -> HttpResponseBase:
    """Registrations of a period with the report filters, as CSV or XLSX."""
    user = _user(request)
    require(user, Perm.REPORTING)
    query = export_query(Export.Kind.REGISTRATIONS, request.GET)
    back = reverse("exports:registrations") + (f"?{query}" if query else "")
    if request.method == "POST":
        return _start(request, user, Export.Kind.REGISTRATIONS, back)
    form = RegistrationExportForm(user, request.GET)
    listing = None
    if form.is_valid():
        listing = registrations_export(user, form.registration_filter())
    return render(
        request,
        "exports/registrations.html",
        {
            "nav": "exports",
            "form": form,
            "listing": listing,
            "query": query,
            "post_params": parse_qsl(export_query(Export.Kind.REGISTRATIONS, form.data)),
            "stream_max": services.stream_max_rows(),
        },
        status=200 if listing is not None else 400,
    )


@login_required
@require_GET
def export(request: HttpRequest, pk: int) -> HttpResponse:
    """A background export's progress, then its download link (the user's own only). htmx
    asks again every two seconds while it runs and gets the progress alone."""
    found = export_of(_user(request), pk)
    context = {
        "nav": "exports",
        "export": found,
        **export_progress(found, stalled_after=services.STALLED),
    }
    if is_htmx(request):
        return render(request, "exports/partials/_progress.html", context)
    return render(request, "exports/export.html", context)


@login_required
@require_GET
def download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The file of a finished background export, for the user who asked for it, until it
    expires."""
    found, path = services.export_file(_user(request), export_id=pk)
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=found.download_name,
        content_type=files.XLSX if found.format == Export.Format.XLSX else files.CSV,
    )
