"""The agent's pages: My work, the customer screen and the campaign lists. Views only parse,
call a service or selector, and render; domain errors become messages or field errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.campaigns.selectors import campaigns_open_to
from kundeflyt.common.errors import DomainError, NotAllowed
from kundeflyt.crm.services import customer_update
from kundeflyt.handling import selectors
from kundeflyt.handling.forms import outcome_arguments
from kundeflyt.handling.models import Placement
from kundeflyt.handling.services import (
    AfterSave,
    customer_present_next,
    customer_select,
    outcome_register,
    selection_renew,
    selection_stop,
)

WORKING = "working"  # session key: the campaign (and segment) the agent works as a list


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _working(request: HttpRequest) -> tuple[int, int | None] | None:
    value = request.session.get(WORKING)
    return (value["campaign"], value.get("segment")) if value else None


def _current(request: HttpRequest) -> Placement | None:
    return selectors.current_selection(_user(request))


@login_required
@require_GET
def my_work(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    require(user, Perm.CUSTOMER_HANDLING)
    day = None
    if request.GET.get("day"):
        try:
            day = dt.date.fromisoformat(request.GET["day"])
        except ValueError:
            messages.error(request, _("That is not a date; showing today."))
    work = selectors.my_work(user, day=day)
    current = _current(request)
    return render(
        request,
        "handling/my_work.html",
        {
            "nav": "my_work",
            "work": work,
            "current": current,
            "today": timezone.localdate(),
            "previous_day": work.day - dt.timedelta(days=1),
            "next_day": work.day + dt.timedelta(days=1),
            "now": timezone.now(),
        },
    )


@login_required
@require_POST
def work_start(request: HttpRequest) -> HttpResponseBase:
    """*Start working* a campaign or one of its segments: present the next customer."""
    user = _user(request)
    campaign = get_object_or_404(campaigns_open_to(user), pk=request.POST.get("campaign"))
    segment = None
    if request.POST.get("segment"):
        segment = get_object_or_404(Segment, pk=request.POST["segment"], campaign=campaign)
    request.session[WORKING] = {"campaign": campaign.pk, "segment": segment.pk if segment else None}
    return _present_next(request, campaign, segment)


def _present_next(
    request: HttpRequest, campaign: Campaign, segment: Segment | None, skip: tuple[int, ...] = ()
) -> HttpResponseBase:
    try:
        selection = customer_present_next(
            _user(request), campaign=campaign, segment=segment, skip=skip
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("handling:my_work")
    if selection is None:
        request.session.pop(WORKING, None)
        messages.info(
            request,
            _("No customers are waiting in “%(list)s” right now.") % {"list": segment or campaign},
        )
        return redirect("handling:my_work")
    return redirect("handling:screen")


@login_required
@require_POST
def work_next(request: HttpRequest) -> HttpResponseBase:
    """Next customer from the list being worked; without a list, back to My work."""
    return _next_from_list(request)


def _next_from_list(request: HttpRequest, skip: tuple[int, ...] = ()) -> HttpResponseBase:
    working = _working(request)
    if working is None:
        selection_stop(_user(request))
        return redirect("handling:my_work")
    campaign = get_object_or_404(campaigns_open_to(_user(request)), pk=working[0])
    segment = (
        Segment.objects.filter(pk=working[1], campaign=campaign).first() if working[1] else None
    )
    return _present_next(request, campaign, segment, skip)


@login_required
@require_POST
def work_stop(request: HttpRequest) -> HttpResponseBase:
    """*Stop working*: release the current customer and leave the list."""
    selection_stop(_user(request))
    request.session.pop(WORKING, None)
    messages.success(request, _("You have stopped working. The customer is released."))
    return redirect("handling:my_work")


@login_required
@require_POST
def customer_take(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    """Take a customer by hand: it becomes the current customer; after saving, My work."""
    try:
        customer_select(_user(request), customer_id=customer_id, manual=True)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(request.POST.get("back") or "handling:my_work")
    request.session.pop(WORKING, None)
    return redirect("handling:screen")


def _screen_context(request: HttpRequest, placement: Placement, **extra: Any) -> dict[str, Any]:
    user = _user(request)
    screen = selectors.customer_screen(user, placement)
    working = _working(request)
    return {
        "nav": "screen",
        "s": screen,
        "working": working is not None and working[0] == placement.campaign_id,
        "default_then": (AfterSave.NEXT_FROM_LIST if working else AfterSave.MY_WORK).value,
        "now": timezone.now(),
        "min_follow_up": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "form": {},
        "errors": {},
        **extra,
    }


@login_required
@require_GET
def screen(request: HttpRequest) -> HttpResponseBase:
    placement = _current(request)
    if placement is None:
        messages.info(
            request, _("You have no current customer. Start working a list or take a customer.")
        )
        return redirect("handling:my_work")
    return render(request, "handling/screen.html", _screen_context(request, placement))


@login_required
@require_POST
def screen_renew(request: HttpRequest) -> HttpResponse:
    """Called by the open screen to keep the lease; says so when it was lost."""
    try:
        selection_renew(
            _user(request),
            customer_id=int(request.POST.get("customer", 0)),
            token=int(request.POST.get("token", 0)),
        )
    except (DomainError, ValueError) as error:
        return render(
            request,
            "handling/partials/_lease_lost.html",
            {"message": getattr(error, "message", str(error))},
        )
    return HttpResponse(status=204)


@login_required
@require_GET
def outcome_fields(request: HttpRequest) -> HttpResponse:
    """The parts of the outcome panel that depend on the chosen outcome (htmx)."""
    placement = _current(request)
    if placement is None:
        return render(
            request,
            "handling/partials/_lease_lost.html",
            {"message": _("You no longer have this customer open.")},
        )
    context = _screen_context(request, placement)
    choice = next(
        (c for c in context["s"].outcomes if str(c.outcome.pk) == request.GET.get("outcome")), None
    )
    return render(request, "handling/partials/_outcome_fields.html", {**context, "choice": choice})


@login_required
@require_POST
def outcome_save(request: HttpRequest) -> HttpResponseBase:
    user = _user(request)
    placement = _current(request)
    customer_id = int(request.POST.get("customer") or 0)
    if placement is None or placement.pk != customer_id:
        messages.error(
            request, _("You no longer have this customer open; the registration was not saved.")
        )
        return redirect("handling:my_work")
    context = _screen_context(request, placement)
    try:
        arguments = outcome_arguments(request.POST, context["s"].colleagues, user)
        then = arguments["then"]
        outcome_register(
            user, customer_id=customer_id, token=int(request.POST.get("token") or 0), **arguments
        )
    except DomainError as error:
        choice = next(
            (c for c in context["s"].outcomes if str(c.outcome.pk) == request.POST.get("outcome")),
            None,
        )
        context |= {
            "form": request.POST,
            "errors": {error.field or "__all__": error.message},
            "choice": choice,
        }
        if error.code == "lease_lost":
            messages.error(request, error.message)
            return redirect("handling:my_work")
        return render(request, "handling/screen.html", context, status=400)
    messages.success(request, _("Saved: %(customer)s.") % {"customer": placement.customer})
    if then == AfterSave.NEXT_FROM_LIST:
        return _next_from_list(request, skip=(customer_id,))
    if then == AfterSave.MY_WORK:
        return redirect("handling:my_work")
    return redirect("handling:screen")


# --- The customer card, edited in place -----------------------------------------------------


def _card_field(request: HttpRequest, key: str) -> tuple[Placement, selectors.CardField]:
    placement = _current(request)
    if placement is None:
        raise NotAllowed(_("You no longer have this customer open."))
    customer = placement.customer
    fields = selectors.card_fields(customer, list(customer.crm.fields.all()))
    field = next((f for f in fields if f.key == key), None)
    if field is None:
        raise NotAllowed(_("No such field."))
    return placement, field


@login_required
def card_field(request: HttpRequest, key: str) -> HttpResponse:
    """GET: the field's edit form; POST: save it through the service (htmx partials)."""
    try:
        placement, field = _card_field(request, key)
    except DomainError as error:
        return render(request, "handling/partials/_lease_lost.html", {"message": error.message})
    if request.method == "GET":
        editing = request.GET.get("edit") == "1"
        return render(
            request, "handling/partials/_card_field.html", {"f": field, "editing": editing}
        )
    raw: Any = (
        request.POST.getlist("value")
        if field.type == "multichoice"
        else (request.POST.get("value", ""))
    )
    if field.type == "checkbox":
        raw = "value" in request.POST
    try:
        customer_update(_user(request), customer=placement.customer, changes={key: raw})
    except DomainError as error:
        return render(
            request,
            "handling/partials/_card_field.html",
            {"f": field, "editing": True, "error": error.message, "raw": raw},
            status=422,
        )
    placement.customer.refresh_from_db()
    _, field = _card_field(request, key)
    return render(
        request, "handling/partials/_card_field.html", {"f": field, "editing": False, "saved": True}
    )


# --- Lists to take customers from -------------------------------------------------------------


@login_required
@require_GET
def campaign_customers(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The customers of a campaign (or segment), to open one and take it by hand."""
    user = _user(request)
    require(user, Perm.CUSTOMER_HANDLING)
    campaign = get_object_or_404(campaigns_open_to(user).select_related("crm"), pk=campaign_id)
    placements = (
        Placement.objects.filter(campaign=campaign)
        .select_related("customer", "segment", "state", "holder", "follow_up_user")
        .order_by("is_final", "segment__priority", "customer__name", "pk")
    )
    segment = None
    if request.GET.get("segment"):
        segment = get_object_or_404(Segment, pk=request.GET["segment"], campaign=campaign)
        placements = placements.filter(segment=segment)
    query = request.GET.get("q", "").strip()
    if query:
        placements = placements.filter(customer__in=selectors.customers_matching(user, query))
    page = Paginator(placements, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "handling/campaign_customers.html",
        {
            "nav": "my_work",
            "campaign": campaign,
            "segment": segment,
            "page": page,
            "q": query,
            "now": timezone.now(),
        },
    )


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """Find customers by phone (any format), customer id, name or e-mail, among those the
    user may see."""
    user = _user(request)
    require(user, Perm.CUSTOMER_HANDLING)
    query = request.GET.get("q", "").strip()
    results = []
    if query:
        results = list(
            selectors.customers_matching(user, query)
            .select_related(
                "crm__data_owner", "placement__campaign", "placement__segment", "placement__state"
            )
            .order_by("name", "pk")[:100]
        )
    return render(request, "handling/search.html", {"q": query, "results": results})
