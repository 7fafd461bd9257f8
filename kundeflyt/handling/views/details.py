"""Customer details (D1–D16): inspect and administer a customer without taking it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import customers_visible_to
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.errors import DomainError
from kundeflyt.common.refusals import htmx_redirect, refused
from kundeflyt.crm.services import customer_update
from kundeflyt.handling import selectors, services
from kundeflyt.handling.forms import parse_id, parse_local_datetime
from kundeflyt.handling.models import Event, Placement
from kundeflyt.handling.views.common import WORKING, user_of
from kundeflyt.privacy.access_log import Kind, access_record
from kundeflyt.privacy.consent import marketing_consent_set
from kundeflyt.privacy.register import contact_basis_set


def _details(request: HttpRequest, customer_id: int) -> selectors.CustomerDetails:
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    try:
        return selectors.customer_details(
            user, customer_id, all_events=request.GET.get("events") == "all"
        )
    except DomainError as error:
        raise Http404(error.message) from None


def _details_url(customer_id: int, anchor: str = "") -> str:
    return reverse("handling:customer_details", args=[customer_id]) + anchor


@login_required
@require_GET
def customer_details(request: HttpRequest, customer_id: int) -> HttpResponse:
    """D1–D16: inspect and administer a customer without taking it."""
    details = _details(request, customer_id)
    access_record(request.user, Kind.DETAILS, [customer_id])
    return render(request, "handling/customer_details.html", {"d": details})


@login_required
@require_GET
def customer_presence(request: HttpRequest, customer_id: int) -> HttpResponse:
    """D2: who has the customer open in the customer screen right now (polled by htmx)."""
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    try:
        presence = selectors.customer_presence(user, customer_id)
    except DomainError as error:
        raise Http404(error.message) from None
    return render(
        request,
        "handling/partials/_presence.html",
        {"holder": presence.holder, "placement": presence.placement},
    )


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
def customer_fields(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    """D5: the information fields table; all fields edited at once with the table's pencil."""
    d = _details(request, customer_id)
    context: dict[str, Any] = {"d": d, "editing_all": request.GET.get("edit") == "1"}
    if request.method == "POST":
        try:
            customer_update(
                user_of(request), customer=d.customer, changes=_field_values(request, d.card)
            )
        except DomainError as error:
            return refused(
                request,
                error,
                back=_details_url(customer_id),
                template="handling/partials/_fields_table.html",
                context=context | {"editing_all": True},
            )
        context = {"d": _details(request, customer_id), "editing_all": False}
    return render(request, "handling/partials/_fields_table.html", context)


@login_required
def customer_field(request: HttpRequest, customer_id: int, key: str) -> HttpResponseBase:
    """S4, D5: one card field; GET shows it or its edit form, POST saves it (htmx). On the
    customer screen, what is derived from the field (the heading, call and SMS buttons)
    comes along, so that nothing shows a value the card no longer has."""
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    customer = get_object_or_404(customers_visible_to(user).select_related("crm"), pk=customer_id)

    def card_field() -> selectors.CardField:
        fields = selectors.card_fields(customer, list(customer.crm.fields.all()))
        field = next((f for f in fields if f.key == key), None)
        if field is None:
            raise Http404(_("No such field."))
        return field

    field = card_field()
    on_screen = request.GET.get("screen") == "1"
    context: dict[str, Any] = {
        "f": field,
        "customer_id": customer_id,
        "only_empty": request.GET.get("only_empty") == "1",
        "on_screen": on_screen,
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
        return refused(
            request,
            error,
            back=_details_url(customer_id),
            template="handling/partials/_card_field.html",
            context=context | {"editing": True, "raw": raw},
        )
    customer.refresh_from_db()
    context |= {"f": card_field(), "editing": False, "saved": True}
    if on_screen:
        placement = Placement.objects.select_related("campaign").filter(pk=customer_id).first()
        context |= {"customer": customer, "campaign": placement.campaign if placement else None}
    return render(request, "handling/partials/_card_field.html", context)


def _act(
    request: HttpRequest,
    customer_id: int,
    action: Callable[[], object],
    done: str,
    anchor: str = "",
) -> HttpResponseBase:
    """Run one supervising service; success and refusal both come back to customer
    details, the refusal with its reason."""
    back = _details_url(customer_id, anchor)
    try:
        action()
    except DomainError as error:
        return refused(request, error, back=back)
    messages.success(request, done)
    return htmx_redirect(request, back)


def _colleague(raw: str | None, field: str) -> User | None:
    if raw in (None, "", "shared"):
        return None
    user = User.objects.filter(pk=parse_id(raw, field=field), is_active=True).first()
    if user is None:
        raise DomainError(_("Choose an active user."), field=field)
    return user


@login_required
@require_POST
def customer_follow_up(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    """D9: change the follow-up time and the responsible user, in one change; an empty time
    clears the follow-up where the customer's state allows it."""
    actor = user_of(request)

    def change() -> None:
        services.follow_up_set(
            actor,
            customer_id=customer_id,
            follow_up_at=parse_local_datetime(
                request.POST.get("follow_up_at"), field="follow_up_at"
            ),
            responsible=_colleague(request.POST.get("follow_up_user"), "follow_up_user"),
        )

    return _act(request, customer_id, change, _("The follow-up is changed."))


@login_required
@require_POST
def customer_move(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    """D10: to another campaign of the same CRM, or to another segment."""
    actor = user_of(request)

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
    customer_id = (
        Event.objects.filter(pk=event_id, customer__in=customers_visible_to(user_of(request)))
        .values_list("customer_id", flat=True)
        .first()
    )
    if customer_id is None:
        raise Http404(_("No such registration."))
    return customer_id


@login_required
@require_POST
def event_send_for_correction(request: HttpRequest, event_id: int) -> HttpResponseBase:
    """D14: back to a chosen user with a reason and the outcomes they may use."""
    customer_id = _event_customer(request, event_id)

    def send() -> None:
        to_user = _colleague(request.POST.get("to_user"), "to_user")
        if to_user is None:
            raise DomainError(_("Choose who shall correct it."), field="to_user")
        services.correction_send(
            user_of(request),
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
    customer_id = _event_customer(request, event_id)
    try:
        services.correction_start(
            user_of(request), event_id=event_id, as_original=request.POST.get("as") != "me"
        )
    except DomainError as error:
        return refused(request, error, back=_details_url(customer_id, f"#event-{event_id}"))
    request.session.pop(WORKING, None)
    return htmx_redirect(request, reverse("handling:screen"))


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
            user_of(request),
            event_id=event_id,
            included_in_reports="included" in request.POST,
            counts_for_user=_colleague(request.POST.get("counts_for_user"), "counts_for_user"),
            counts_at=counts_at,
        )

    return _act(
        request, customer_id, change, _("The report appearance is saved."), f"#event-{event_id}"
    )


@login_required
@require_POST
def correction_withdraw(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    """Withdraw a correction nobody has registered yet; the customer is free again."""
    placement = get_object_or_404(
        Placement.objects.filter(customer__in=customers_visible_to(user_of(request))),
        pk=customer_id,
    )
    return _act(
        request,
        customer_id,
        lambda: services.correction_cancel(
            user_of(request), correction_id=placement.correction_id or 0
        ),
        _("The correction is withdrawn."),
    )


@login_required
@require_POST
def customer_marketing_consent(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    """Markedsføringsloven § 15: the customer's consent to marketing by SMS and e-mail."""

    def record() -> None:
        marketing_consent_set(
            user_of(request),
            customer_id=customer_id,
            on=request.POST.get("marketing_consent_on", ""),
            source=request.POST.get("marketing_consent_source", ""),
        )

    return _act(request, customer_id, record, _("Saved."))


@login_required
@require_POST
def customer_contact_basis(request: HttpRequest, customer_id: int) -> HttpResponseBase:
    """Rule 11: why a customer in the Reservasjonsregisteret may still be called."""

    def record() -> None:
        contact_basis_set(
            user_of(request),
            customer_id=customer_id,
            basis=request.POST.get("contact_basis", ""),
            on=request.POST.get("contact_basis_on"),
            source=request.POST.get("contact_basis_source", ""),
        )

    return _act(request, customer_id, record, _("Saved."))
