"""The privacy officer's pages: find a person across a data owner's CRMs, hand out everything
held about them, block their numbers, erase them, and read the request log. Every action goes
through ``privacy.services``; the DomainErrorMiddleware answers what a view does not."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.common.errors import DomainError
from kundeflyt.common.refusals import refused
from kundeflyt.handling.forms import parse_id, parse_int
from kundeflyt.privacy import selectors, services
from kundeflyt.privacy.access_log import Kind, access_record
from kundeflyt.privacy.models import RegisterLoad
from kundeflyt.privacy.record import processing_record
from kundeflyt.privacy.register import (
    GOOD_FOR,
    REGISTER_MAX_BYTES,
    REGISTER_MAX_MB,
    register_latest,
    register_stale_since,
    register_upload,
)
from kundeflyt.privacy.retention import retention_confirm, retention_plans, retention_set

REQUESTS_PER_PAGE = 50


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
@require_GET
def privacy_index(request: HttpRequest) -> HttpResponse:
    """Find a person by phone, e-mail, customer id or name in one data owner's CRMs."""
    user = _user(request)
    owners = list(selectors.privacy_owners(user).order_by("name"))
    query = request.GET.get("q", "")
    try:
        owner_id = parse_int(request.GET.get("data_owner"), field="data_owner")
    except DomainError:
        owner_id = None
    owner = next((o for o in owners if o.pk == owner_id), owners[0] if owners else None)
    search, error = None, None
    if owner is not None and query.strip():
        try:
            search = selectors.persons_find(user, data_owner=owner, query=query)
        except DomainError as refused_query:
            error = refused_query.message
    return render(
        request,
        "privacy/index.html",
        {
            "nav": "privacy",
            "owners": owners,
            "owner": owner,
            "query": query,
            "search": search,
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@require_GET
def person(request: HttpRequest, customer_id: int) -> HttpResponse:
    user = _user(request)
    customer = services.privacy_customer(user, customer_id)
    access_record(user, Kind.PRIVACY, [customer.pk])
    return render(
        request,
        "privacy/person.html",
        {"nav": "privacy", "c": customer, "held": selectors.person_access(user, customer)},
    )


@login_required
@require_POST
def person_access(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    """Hand out everything held about the person (Art. 15) as a JSON file or a page to print,
    and log the request."""
    user = _user(request)
    back = reverse("privacy:person", args=[customer_id])
    try:
        logged = services.access_request_record(
            user, customer_id=customer_id, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        return refused(request, error, back=back)
    customer = logged.customer  # the one the service checked, with its CRM and data owner
    assert customer is not None
    held = selectors.person_access(user, customer)
    if request.POST.get("format") == "json":
        response = HttpResponse(
            json.dumps(held, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
        stamp = timezone.localdate().isoformat()
        response["Content-Disposition"] = (
            f'attachment; filename="innsyn-{customer.pk}-{stamp}.json"'
        )
        return response
    return render(request, "privacy/access.html", {"nav": "privacy", "c": customer, "held": held})


@login_required
@require_POST
def person_object(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    back = reverse("privacy:person", args=[customer_id])
    try:
        services.customer_object(
            _user(request), customer_id=customer_id, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        return refused(request, error, back=back)
    messages.success(
        request, _("The person's numbers are on the block list. Nobody calls them again.")
    )
    return redirect(back)


@login_required
@require_POST
def person_erase(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    back = reverse("privacy:person", args=[customer_id])
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the box to confirm that the person is to be erased."))
        return redirect(back)
    try:
        services.customer_anonymise(
            _user(request), customer_id=customer_id, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        return refused(request, error, back=back)
    messages.success(request, _("The person is erased. The statistics are kept."))
    return redirect(back)


@login_required
@require_GET
def requests(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.privacy_requests(_user(request)), REQUESTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "privacy/requests.html", {"nav": "privacy", "page": page})


@login_required
@require_GET
def retention(request: HttpRequest) -> HttpResponse:
    """Each CRM's retention period, and whom its next nightly run erases (the dry run)."""
    return render(
        request,
        "privacy/retention.html",
        {"nav": "privacy", "plans": retention_plans(_user(request))},
    )


@login_required
@require_POST
def retention_change(request: HttpRequest) -> HttpResponseBase:
    back = reverse("privacy:retention")
    try:
        crm_id = parse_id(request.POST.get("crm"), field="crm")
        if request.POST.get("confirm") == "yes":
            retention_confirm(_user(request), crm_id=crm_id)
            messages.success(request, _("Confirmed. The customers listed are erased tonight."))
        else:
            crm = retention_set(_user(request), crm_id=crm_id, months=request.POST.get("months"))
            messages.success(
                request,
                _("Saved. See who the first run erases, then confirm.")
                if crm.retention_months
                else _("Saved. The CRM's customers are kept until they ask to be erased."),
            )
    except DomainError as error:
        return refused(request, error, back=back)
    return redirect(back)


@login_required
@require_GET
def record(request: HttpRequest, data_owner_id: int) -> HttpResponse:
    """The data owner's record of processing (GDPR Art. 30), as a page to print."""
    return render(
        request,
        "privacy/record.html",
        {"nav": "privacy", "record": processing_record(_user(request), data_owner_id)},
    )


@login_required
@require_GET
def register(request: HttpRequest) -> HttpResponse:
    """The Reservasjonsregisteret: when it was loaded, whether it is still good, and a new
    load (administrators)."""
    require(_user(request), Perm.ADMINISTRATOR)
    loads = list(RegisterLoad.objects.select_related("actor_user").order_by("-pk")[:10])
    latest = register_latest()
    return render(
        request,
        "privacy/register.html",
        {
            "nav": "privacy",
            "loads": loads,
            "latest": latest,
            "stale_since": register_stale_since(timezone.now(), latest),
            "good_until": latest.loaded_at + GOOD_FOR if latest else None,
            "loading": any(not load.is_finished for load in loads),
            "max_mb": REGISTER_MAX_MB,
        },
    )


@login_required
@require_POST
def register_file(request: HttpRequest) -> HttpResponseBase:
    """An administrator's upload of the register's file, loaded in the background."""
    back = reverse("privacy:register")
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise DomainError(_("Choose the register's file."), field="file")
        if upload.size is None or upload.size > REGISTER_MAX_BYTES:
            raise DomainError(
                _("The file is larger than %(n)s MB.") % {"n": REGISTER_MAX_MB},
                field="file",
            )
        register_upload(_user(request), file_name=upload.name or "", chunks=upload.chunks())
    except DomainError as error:
        return refused(request, error, back=back)
    messages.success(request, _("The file is loading. This page shows when it is done."))
    return redirect(back)
