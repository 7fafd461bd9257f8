"""The agent's loop: My work, working a list, the customer screen and saving outcomes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import campaigns_open_to
from kundeflyt.campaigns.config import campaign_config
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.errors import Conflict, DomainError
from kundeflyt.common.refusals import htmx_redirect, is_htmx, local_url, refused
from kundeflyt.handling import selectors
from kundeflyt.handling.forms import outcome_arguments, parse_id, parse_int
from kundeflyt.handling.models import Placement
from kundeflyt.handling.services import (
    AfterSave,
    customer_present_next,
    customer_select,
    outcome_register,
    selection_renew,
    selection_stop,
)
from kundeflyt.handling.views.common import WORKING, current, user_of, working
from kundeflyt.privacy.access_log import Kind, access_record
from kundeflyt.privacy.services import customer_object as customer_object_record

MY_WORK_YEARS = 10  # how far back and ahead My work pages by day


@login_required
@require_GET
def my_work(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    day = None
    if request.GET.get("day"):
        try:
            day = dt.date.fromisoformat(request.GET["day"])
        except ValueError:
            messages.error(request, _("That is not a date; showing today."))
        if day is not None and abs(day.year - timezone.localdate().year) > MY_WORK_YEARS:
            messages.error(request, _("That day is too far away; showing today."))
            day = None
    work = selectors.my_work(user, day=day)
    return render(
        request,
        "handling/my_work.html",
        {
            "nav": "my_work",
            "work": work,
            "current": current(request),
            "today": timezone.localdate(),
            "previous_day": work.day - dt.timedelta(days=1),
            "next_day": work.day + dt.timedelta(days=1),
            "now": timezone.now(),
        },
    )


@login_required
@require_GET
def my_overdue(request: HttpRequest) -> HttpResponse:
    """My work's overdue follow-ups, asked for when the agent opens the list (htmx)."""
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    overdue = selectors.my_overdue(user)
    return render(
        request,
        "handling/partials/_overdue.html",
        {"overdue": overdue, "shown": selectors.OVERDUE_SHOWN, "now": timezone.now()},
    )


@login_required
@require_POST
def work_start(request: HttpRequest) -> HttpResponseBase:
    """*Start working* a campaign or one of its segments: present the next customer."""
    user = user_of(request)
    try:
        campaign_id = parse_id(request.POST.get("campaign"), field="campaign")
        segment_id = parse_int(request.POST.get("segment"), field="segment")
    except DomainError as error:
        return refused(request, error, back=reverse("handling:my_work"))
    campaign = get_object_or_404(campaigns_open_to(user), pk=campaign_id)
    segment = None
    if segment_id is not None:
        segment = get_object_or_404(Segment, pk=segment_id, campaign=campaign)
    return _present_next(request, campaign, segment)


def _present_next(
    request: HttpRequest,
    campaign: Campaign,
    segment: Segment | None,
    skip: tuple[int, ...] = (),
    *,
    show: bool = False,
    released: bool = False,
) -> HttpResponseBase:
    """Present the next customer of the list, which becomes the list being worked. ``show``
    answers with the next customer's screen itself (htmx swaps it in, and the address stays
    /screen/) instead of sending the browser to ask for it. ``released``: the user's
    customer was just let go (see ``customer_present_next``)."""
    listed = {"campaign": campaign.pk, "segment": segment.pk if segment else None}
    if request.session.get(WORKING) != listed:  # a session unchanged is not written again
        request.session[WORKING] = listed
    try:
        selection = customer_present_next(
            user_of(request), campaign=campaign, segment=segment, skip=skip, released=released
        )
    except DomainError as error:
        return refused(request, error, back=reverse("handling:my_work"))
    if selection is None:
        request.session.pop(WORKING, None)
        messages.info(
            request,
            _("No customers are waiting in “%(list)s” right now.") % {"list": segment or campaign},
        )
        return htmx_redirect(request, reverse("handling:my_work"))
    if show:
        request.current_placement = selection.placement  # type: ignore[attr-defined]
        return _screen_page(request, selection.placement, swap=True)
    return htmx_redirect(request, reverse("handling:screen"))


@login_required
@require_POST
def work_next(request: HttpRequest) -> HttpResponseBase:
    """Next customer: from the list being worked, or, for a customer taken by hand, from its
    campaign, which becomes the list (the loop is the same however the customer came)."""
    placement = current(request)
    return _next_customer(request, placement.campaign if placement else None)


def _next_customer(
    request: HttpRequest,
    known: Campaign | None,
    skip: tuple[int, ...] = (),
    *,
    show: bool = False,
    released: bool = False,
) -> HttpResponseBase:
    """The next customer of the list being worked, else of ``known``, the campaign of the
    customer just handled (read with it, so not read again: presenting checks that the
    user may still work it)."""
    user = user_of(request)
    listed = working(request)
    campaign_id, segment_id = listed if listed is not None else (None, None)
    if campaign_id is None and known is None:
        selection_stop(user)
        return htmx_redirect(request, reverse("handling:my_work"))
    if known is not None and campaign_id in (None, known.pk):
        campaign = known
    else:
        campaign = get_object_or_404(campaigns_open_to(user).select_related("crm"), pk=campaign_id)
    segments = campaign_config(campaign, user).segments
    segment = next((s for s in segments if s.pk == segment_id), None) if segment_id else None
    return _present_next(request, campaign, segment, skip, show=show, released=released)


@login_required
@require_POST
def work_stop(request: HttpRequest) -> HttpResponseBase:
    """*Stop working*: release the current customer and leave the list."""
    selection_stop(user_of(request))
    request.session.pop(WORKING, None)
    messages.success(request, _("You have stopped working. The customer is released."))
    return htmx_redirect(request, reverse("handling:my_work"))


@login_required
@require_POST
def customer_take(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    """Take a customer by hand: it becomes the current customer; after saving, My work."""
    try:
        customer_select(user_of(request), customer_id=customer_id, manual=True)
    except DomainError as error:
        return refused(request, error, back=local_url(request, request.POST.get("back")))
    request.session.pop(WORKING, None)
    return htmx_redirect(request, reverse("handling:screen"))


@login_required
@require_POST
def customer_object(request: HttpRequest) -> HttpResponseBase:
    """ "Don't call me again" from the screen (GDPR Art. 21): the current customer's numbers
    are blocked for its data owner in one step, and the agent goes on as after a save."""
    user = user_of(request)
    placement = current(request)
    if placement is None or request.POST.get("customer") != str(placement.pk):
        messages.error(request, _("You no longer have this customer open; nothing was blocked."))
        return htmx_redirect(request, reverse("handling:my_work"))
    try:
        customer_object_record(
            user, customer_id=placement.pk, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        return refused(request, error, back=reverse("handling:screen"))
    messages.success(
        request,
        _("%(customer)s will not be called again: the numbers are on the block list.")
        % {"customer": placement.customer},
    )
    if working(request) is not None:
        return _next_customer(request, placement.campaign, skip=(placement.pk,))
    return htmx_redirect(request, reverse("handling:my_work"))


# --- The customer screen ----------------------------------------------------------------------


def _screen_context(request: HttpRequest, placement: Placement, **extra: Any) -> dict[str, Any]:
    screen = selectors.customer_screen(user_of(request), placement)
    listed = working(request)
    return {
        "nav": "screen",
        "s": screen,
        "working": listed is not None and listed[0] == placement.campaign_id,
        "default_then": (AfterSave.NEXT_FROM_LIST if listed else AfterSave.MY_WORK).value,
        "now": timezone.now(),
        "min_follow_up": _min_follow_up(),
        "form": {},
        "errors": {},
        **extra,
    }


@login_required
@require_GET
def screen(request: HttpRequest) -> HttpResponseBase:
    placement = current(request)
    if placement is None:
        messages.info(
            request, _("You have no current customer. Start working a list or take a customer.")
        )
        return htmx_redirect(request, reverse("handling:my_work"))
    return _screen_page(request, placement)


def _screen_page(request: HttpRequest, placement: Placement, *, swap: bool = False) -> HttpResponse:
    """The customer screen; ``swap``: only what an htmx save swaps in (swap.html), not the
    menu and the rest of the page around it, which the browser already shows."""
    context = _screen_context(request, placement)
    if swap:
        context["base"] = "swap.html"
    access_record(request.user, Kind.SCREEN, [placement.pk])
    return render(request, "handling/screen.html", context)


@login_required
@require_POST
def screen_renew(request: HttpRequest) -> HttpResponse:
    """Called by the open screen to keep the lease; says so when it was lost."""
    require(user_of(request), Perm.CUSTOMER_HANDLING)
    try:
        selection_renew(
            user_of(request),
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
def side_panel(request: HttpRequest) -> HttpResponse:
    """The side panel's follow-ups, polled by the open screen; 304 when nothing changed."""
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    panel = selectors.side_panel(user)
    etag = f'"{panel.etag}"'
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = render(
            request, "handling/partials/_side_panel.html", {"panel": panel, "now": timezone.now()}
        )
    response["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)
    return response


@login_required
@require_GET
def outcome_fields(request: HttpRequest) -> HttpResponse:
    """The parts of the outcome panel that depend on the chosen outcome (htmx)."""
    require(user_of(request), Perm.CUSTOMER_HANDLING)
    placement = current(request)
    if placement is None:
        return render(
            request,
            "handling/partials/_lease_lost.html",
            {"message": _("You no longer have this customer open.")},
        )
    # Each pick of an outcome asks for this: only the panel, not the whole screen, is built.
    panel = selectors.outcome_panel(user_of(request), placement)
    return render(
        request,
        "handling/partials/_outcome_fields.html",
        {
            "panel": panel,
            "choice": _chosen(panel, request.GET.get("outcome")),
            "min_follow_up": _min_follow_up(),
            "form": {},
            "errors": {},
        },
    )


def _chosen(panel: selectors.OutcomePanel, raw: str | None) -> selectors.OutcomeChoice | None:
    return next((c for c in panel.outcomes if str(c.outcome.pk) == raw), None)


def _min_follow_up() -> str:
    """The earliest follow-up a ``datetime-local`` input accepts: now, in the user's zone."""
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


def _not_open() -> Conflict:
    message = _("You no longer have this customer open; your registration was not saved.")
    return Conflict(message, field="customer", code="lease_lost")


@login_required
@require_POST
def outcome_save(request: HttpRequest) -> HttpResponseBase:
    """Save the outcome (through htmx, so the address stays /screen/), then go where the
    agent chose: the next customer, My work, or this customer again."""
    user = user_of(request)
    # The registration itself checks under its lock that the user holds this customer, so
    # the held customer is not read first; only a refusal reads it, and answers as not open
    # when it is not the customer posted.
    try:
        customer_id = parse_id(request.POST.get("customer"), field="customer")
    except DomainError:
        customer_id = 0  # no customer: the registration refuses it, answered as not open
    try:
        arguments = outcome_arguments(request.POST, user)
        event = outcome_register(
            user,
            customer_id=customer_id,
            token=parse_int(request.POST.get("token"), field="token") or 0,
            **arguments,
        )
    except DomainError as error:
        placement = current(request)
        open_here = placement is not None and placement.pk == customer_id
        refusal = error if open_here else _not_open()
        if refusal.code == "lease_lost" or placement is None or not is_htmx(request):
            messages.error(request, _("Not saved:") + " " + refusal.message)
            back = "handling:my_work" if refusal.code == "lease_lost" else "handling:screen"
            return htmx_redirect(request, reverse(back))
        # The screen is built only to show a refusal: a successful save never needs it.
        context = _screen_context(request, placement)
        context |= {
            "form": request.POST,
            "errors": {refusal.field or "": refusal.message},
            "error": refusal.message,
            "choice": _chosen(context["s"].panel, request.POST.get("outcome")),
        }
        return render(request, "handling/screen.html", context, status=400)
    messages.success(request, _("Saved: %(customer)s.") % {"customer": event.customer})
    then = arguments["then"]
    if then == AfterSave.NEXT_FROM_LIST:
        # Through htmx the answer is the next customer's screen: no redirect, no second request.
        show = is_htmx(request)
        return _next_customer(
            request, event.campaign, skip=(customer_id,), show=show, released=True
        )
    if then == AfterSave.MY_WORK:
        return htmx_redirect(request, reverse("handling:my_work"))
    return htmx_redirect(request, reverse("handling:screen"))
