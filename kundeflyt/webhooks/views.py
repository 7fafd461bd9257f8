"""The webhook pages: a data owner's subscriptions (made with the secret shown once, turned
on again, removed) and each one's delivery log with redelivery. For users with *API access*
and *campaign setup*, through the services the API calls."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kundeflyt.accounts.models import User
from kundeflyt.accounts.visibility import data_owners_visible_to
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.common.refusals import refused
from kundeflyt.webhooks.models import EventType
from kundeflyt.webhooks.services import (
    delivery_redeliver,
    subscription_create,
    subscription_delete,
    subscription_enable,
    subscriptions_visible_to,
)

LOG_LENGTH = 100  # the newest messages shown on a subscription's page


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _page(request: HttpRequest, **extra: object) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "webhooks/subscriptions.html",
        {
            "nav": "account",
            "subscriptions": subscriptions_visible_to(user)
            .select_related("data_owner")
            .order_by("data_owner__name", "pk"),
            "data_owners": data_owners_visible_to(user).order_by("name"),
            "events": EventType.choices,
            **extra,
        },
    )


@login_required
@require_GET
def subscriptions(request: HttpRequest) -> HttpResponseBase:
    try:
        return _page(request)
    except DomainError as error:
        return refused(request, error, back="accounts:account")


@login_required
@require_POST
def subscription_new(request: HttpRequest) -> HttpResponseBase:
    """Subscribe, and show the signing secret this once (the page is not kept: no-store)."""
    raw_owner = str(request.POST.get("data_owner", ""))
    try:
        if not raw_owner.isdigit() or len(raw_owner) > 18:
            raise NotFound(_("No such data owner."), field="data_owner")
        made = subscription_create(
            _user(request),
            data_owner_id=int(raw_owner),
            url=str(request.POST.get("url", "")),
            events=[str(e)[:60] for e in request.POST.getlist("events")[:50]],
            description=str(request.POST.get("description", "")),
        )
    except DomainError as error:
        return refused(request, error, back="webhooks:subscriptions")
    return _page(request, made=made)


@login_required
@require_GET
def deliveries(request: HttpRequest, pk: int) -> HttpResponseBase:
    try:
        subscription = subscriptions_visible_to(_user(request)).filter(pk=pk).first()
        if subscription is None:
            raise NotFound(_("No such webhook subscription."), field="subscription")
    except DomainError as error:
        return refused(request, error, back="webhooks:subscriptions")
    log = subscription.deliveries.order_by("-created_at", "-pk")[:LOG_LENGTH]
    return render(
        request,
        "webhooks/deliveries.html",
        {"nav": "account", "subscription": subscription, "deliveries": log},
    )


@login_required
@require_POST
def enable(request: HttpRequest, pk: int) -> HttpResponseBase:
    try:
        subscription_enable(_user(request), subscription_id=pk)
    except DomainError as error:
        return refused(request, error, back="webhooks:subscriptions")
    messages.success(request, _("The webhook is on again."))
    return redirect("webhooks:deliveries", pk=pk)


@login_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    try:
        subscription_delete(_user(request), subscription_id=pk)
    except DomainError as error:
        return refused(request, error, back="webhooks:subscriptions")
    messages.success(request, _("The webhook is removed."))
    return redirect("webhooks:subscriptions")


@login_required
@require_POST
def redeliver(request: HttpRequest, pk: int) -> HttpResponseBase:
    try:
        delivery = delivery_redeliver(_user(request), delivery_id=pk)
    except DomainError as error:
        return refused(request, error, back="webhooks:subscriptions")
    messages.success(request, _("The message is sent again."))
    return redirect("webhooks:deliveries", pk=delivery.subscription_id)
