"""The agent's pages: My work, the customer screen and the campaign lists. Views only parse,
call a service or selector, and render; domain errors become messages or field errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.campaigns.selectors import campaigns_open_to
from kundeflyt.common.errors import DomainError
from kundeflyt.crm.services import customer_update
from kundeflyt.handling import selectors, services
from kundeflyt.handling.forms import outcome_arguments, parse_id, parse_local_datetime
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
    placement = selectors.current_selection(_user(request))
    # The menu's context processor reads it from here instead of asking again.
    request.current_placement = placement  # type: ignore[attr-defined]
    return placement


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
        "min_follow_up": _min_follow_up(),
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
    # Each pick of an outcome asks for this: only the panel, not the whole screen, is built.
    panel = selectors.outcome_panel(_user(request), placement)
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
    try:
        arguments = outcome_arguments(request.POST, user)
        then = arguments["then"]
        outcome_register(
            user, customer_id=customer_id, token=int(request.POST.get("token") or 0), **arguments
        )
    except DomainError as error:
        if error.code == "lease_lost":
            messages.error(request, error.message)
            return redirect("handling:my_work")
        # The screen is built only to show a refusal: a successful save never needs it.
        context = _screen_context(request, placement)
        choice = _chosen(context["s"].panel, request.POST.get("outcome"))
        context |= {
            "form": request.POST,
            "errors": {error.field or "": error.message},
            "error": error.message,
            "choice": choice,
        }
        return render(request, "handling/screen.html", context, status=400)
    messages.success(request, _("Saved: %(customer)s.") % {"customer": placement.customer})
    if then == AfterSave.NEXT_FROM_LIST:
        return _next_from_list(request, skip=(customer_id,))
    if then == AfterSave.MY_WORK:
        return redirect("handling:my_work")
    return redirect("handling:screen")


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
    filters = {k: request.GET.get(k, "") for k in ("state", "follow_up", "responsible")}
    if filters["state"].isdigit():
        placements = placements.filter(state_id=int(filters["state"]))
    now = timezone.now()
    match filters["follow_up"]:
        case "due":
            placements = placements.filter(follow_up_at__lte=now)
        case "later":
            placements = placements.filter(follow_up_at__gt=now)
        case "none":
            placements = placements.filter(follow_up_at__isnull=True)
    if filters["responsible"].isdigit():
        placements = placements.filter(follow_up_user_id=int(filters["responsible"]))
    page = Paginator(placements, 50).get_page(request.GET.get("page"))
    keep = request.GET.copy()
    keep.pop("page", None)
    return render(
        request,
        "handling/campaign_customers.html",
        {
            "nav": "my_work",
            "campaign": campaign,
            "segment": segment,
            "page": page,
            "q": query,
            "now": now,
            "filters": filters,
            "keep": keep.urlencode(),
            "states": campaign.flow.states.all(),
            "workers": selectors.campaign_workers(campaign),
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
            selectors.customers_matching(user, query).select_related(
                "crm__data_owner", "placement__campaign", "placement__segment", "placement__state"
            )[:100]
        )
    return render(request, "handling/search.html", {"q": query, "results": results})


# --- Customer details (D1–D16) ----------------------------------------------------------------


def _details(request: HttpRequest, customer_id: int) -> selectors.CustomerDetails:
    user = _user(request)
    require(user, Perm.CUSTOMER_HANDLING)
    try:
        return selectors.customer_details(
            user, customer_id, all_events=request.GET.get("events") == "all"
        )
    except DomainError as error:
        raise Http404(error.message) from None


@login_required
@require_GET
def customer_details(request: HttpRequest, customer_id: int) -> HttpResponse:
    """D1–D16: inspect and administer a customer without taking it."""
    return render(request, "handling/customer_details.html", {"d": _details(request, customer_id)})


@login_required
@require_GET
def customer_presence(request: HttpRequest, customer_id: int) -> HttpResponse:
    """D2: who has the customer open in the customer screen right now (polled by htmx)."""
    d = _details(request, customer_id)
    return render(
        request, "handling/partials/_presence.html", {"holder": d.holder, "placement": d.placement}
    )


def _back_to_details(customer_id: int, anchor: str = "") -> HttpResponseBase:
    return redirect(reverse("handling:customer_details", args=[customer_id]) + anchor)


def _field_values(request: HttpRequest, card: list[selectors.CardField]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in card:
        if field.key == "customer_id":
            continue
        if field.type == "checkbox":
            values[field.key] = field.key in request.POST
        elif field.type == "multichoice":
            values[field.key] = request.POST.getlist(field.key)
        elif field.key in request.POST:
            values[field.key] = request.POST[field.key]
    return values


@login_required
def customer_fields(request: HttpRequest, customer_id: int) -> HttpResponse:
    """D5: the information fields table; all fields edited at once with the table's pencil."""
    d = _details(request, customer_id)
    context: dict[str, Any] = {"d": d, "editing_all": request.GET.get("edit") == "1"}
    if request.method == "POST":
        try:
            customer_update(
                _user(request), customer=d.customer, changes=_field_values(request, d.card)
            )
        except DomainError as error:
            context |= {"editing_all": True, "error": error.message, "error_field": error.field}
            return render(request, "handling/partials/_fields_table.html", context, status=422)
        context = {"d": _details(request, customer_id), "editing_all": False}
    return render(request, "handling/partials/_fields_table.html", context)


@login_required
def customer_field(request: HttpRequest, customer_id: int, key: str) -> HttpResponse:
    """S4, D5: one card field; GET shows it or its edit form, POST saves it (htmx)."""
    user = _user(request)
    customer = get_object_or_404(selectors.customers_visible_to(user), pk=customer_id)

    def card_field() -> selectors.CardField:
        fields = selectors.card_fields(customer, list(customer.crm.fields.all()))
        field = next((f for f in fields if f.key == key), None)
        if field is None:
            raise Http404(_("No such field."))
        return field

    field = card_field()
    context: dict[str, Any] = {
        "f": field,
        "customer_id": customer_id,
        "only_empty": request.GET.get("only_empty") == "1",
    }
    if request.method == "GET":
        return render(
            request,
            "handling/partials/_card_field.html",
            context | {"editing": request.GET.get("edit") == "1"},
        )
    raw: Any = request.POST.get("value", "")
    if field.type == "multichoice":
        raw = request.POST.getlist("value")
    elif field.type == "checkbox":
        raw = "value" in request.POST
    try:
        customer_update(user, customer=customer, changes={key: raw})
    except DomainError as error:
        return render(
            request,
            "handling/partials/_card_field.html",
            context | {"editing": True, "error": error.message, "raw": raw},
            status=422,
        )
    customer.refresh_from_db()
    return render(
        request,
        "handling/partials/_card_field.html",
        context | {"f": card_field(), "editing": False, "saved": True},
    )


def _act(
    request: HttpRequest, customer_id: int, action: Any, done: str, anchor: str = ""
) -> HttpResponseBase:
    """Run a supervising service; success and refusal both come back to customer details."""
    try:
        action()
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return _back_to_details(customer_id, anchor)


def _colleague(request: HttpRequest, raw: str | None, field: str) -> User | None:
    if raw in (None, "", "shared"):
        return None
    user = User.objects.filter(pk=parse_id(raw, field=field), is_active=True).first()
    if user is None:
        raise DomainError(_("Choose an active user."), field=field)
    return user


@login_required
@require_POST
def customer_follow_up(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    """D9: change the follow-up time and the responsible user."""
    actor = _user(request)

    def change() -> None:
        when = parse_local_datetime(request.POST.get("follow_up_at"), field="follow_up_at")
        if when is None:
            raise DomainError(_("Choose the follow-up time."), field="follow_up_at")
        responsible = _colleague(request, request.POST.get("follow_up_user"), "follow_up_user")
        placement = services.follow_up_change(actor, customer_id=customer_id, follow_up_at=when)
        if placement.follow_up_user_id != (responsible.pk if responsible else None):
            services.follow_up_reassign(actor, customer_id=customer_id, responsible=responsible)

    return _act(request, customer_id, change, _("The follow-up is changed."))


@login_required
@require_POST
def customer_move(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    """D10: to another campaign of the same CRM, or to another segment."""
    actor = _user(request)

    def move() -> None:
        campaign = segment = None
        if request.POST.get("campaign"):
            campaign = Campaign.objects.filter(
                pk=parse_id(request.POST["campaign"], field="campaign")
            ).first()
            if campaign is None:
                raise DomainError(_("No such campaign."), field="campaign")
        if request.POST.get("segment"):
            segment = Segment.objects.filter(
                pk=parse_id(request.POST["segment"], field="segment")
            ).first()
            if segment is None:
                raise DomainError(_("No such segment."), field="segment")
        services.customer_move(actor, customer_id=customer_id, campaign=campaign, segment=segment)

    return _act(request, customer_id, move, _("The customer is moved."))


def _event_customer(request: HttpRequest, event_id: int) -> int:
    from kundeflyt.handling.models import Event

    event = (
        Event.objects.filter(
            pk=event_id, customer__in=selectors.customers_visible_to(_user(request))
        )
        .values_list("customer_id", flat=True)
        .first()
    )
    if event is None:
        raise Http404(_("No such registration."))
    return event


@login_required
@require_POST
def event_send_for_correction(request: HttpRequest, event_id: int) -> HttpResponseBase:
    """D14: back to a chosen user with a reason and the outcomes they may use."""
    customer_id = _event_customer(request, event_id)

    def send() -> None:
        to_user = _colleague(request, request.POST.get("to_user"), "to_user")
        if to_user is None:
            raise DomainError(_("Choose who shall correct it."), field="to_user")
        services.correction_send(
            _user(request),
            event_id=event_id,
            to_user=to_user,
            reason=request.POST.get("reason", ""),
            allowed_outcome_ids=[
                parse_id(v, field="allowed_outcomes") for v in request.POST.getlist("allowed")
            ],
        )

    return _act(request, customer_id, send, _("Sent for correction."), f"#event-{event_id}")


@login_required
@require_POST
def event_correct(request: HttpRequest, event_id: int) -> HttpResponseBase:
    """D15: correct it oneself; the customer screen opens to register the right outcome."""
    user = _user(request)
    customer_id = _event_customer(request, event_id)
    try:
        services.correction_start(
            user, event_id=event_id, as_original=request.POST.get("as") != "me"
        )
        services.customer_select(user, customer_id=customer_id, manual=False)
    except DomainError as error:
        messages.error(request, error.message)
        return _back_to_details(customer_id, f"#event-{event_id}")
    request.session.pop(WORKING, None)
    return redirect("handling:screen")


@login_required
@require_POST
def event_report_facts(request: HttpRequest, event_id: int) -> HttpResponseBase:
    """D16: included in reports, counts for user, counts at."""
    customer_id = _event_customer(request, event_id)

    def change() -> None:
        counts_at = parse_local_datetime(request.POST.get("counts_at"), field="counts_at")
        if counts_at is None:
            raise DomainError(_("Choose when it counts."), field="counts_at")
        services.event_report_facts_change(
            _user(request),
            event_id=event_id,
            included_in_reports="included" in request.POST,
            counts_for_user=_colleague(
                request, request.POST.get("counts_for_user"), "counts_for_user"
            ),
            counts_at=counts_at,
        )

    return _act(
        request, customer_id, change, _("The report appearance is saved."), f"#event-{event_id}"
    )


# --- Selected customers ---------------------------------------------------------------------


@login_required
@require_GET
def selected_customers(request: HttpRequest) -> HttpResponse:
    """Who holds which customer since when; releasing needs extended customer handling."""
    user = _user(request)
    require(user, Perm.CUSTOMER_HANDLING)
    return render(
        request,
        "handling/selected_customers.html",
        {
            "nav": "selected",
            "placements": list(selectors.selected_customers(user)),
        },
    )


@login_required
@require_POST
def selection_release(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    try:
        services.customer_release(_user(request), customer_id=customer_id)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The customer is released."))
    return redirect("handling:selected_customers")


@login_required
@require_POST
def correction_withdraw(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    """Withdraw a correction nobody has registered yet; the customer is free again."""
    placement = get_object_or_404(
        Placement.objects.filter(customer__in=selectors.customers_visible_to(_user(request))),
        pk=customer_id,
    )
    return _act(
        request,
        customer_id,
        lambda: services.correction_cancel(
            _user(request), correction_id=placement.correction_id or 0
        ),
        _("The correction is withdrawn."),
    )
