"""The account page's API tokens: make one (shown once), see when each was last used,
revoke one; an administrator does the same for the integration users they administer."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, has_perm, require
from kundeflyt.accounts.visibility import CHANGE, users_administered_by
from kundeflyt.api import services
from kundeflyt.api.models import ApiToken
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.common.refusals import refused


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _page(request: HttpRequest, **extra: object) -> HttpResponse:
    user = _user(request)
    administrator = has_perm(user, Perm.ADMINISTRATOR)
    if not administrator:
        require(user, Perm.API_ACCESS)
    integrations = (
        users_administered_by(user, CHANGE).filter(is_integration=True, is_active=True)
        if administrator
        else User.objects.none()
    )
    return render(
        request,
        "api/tokens.html",
        {
            "nav": "account",
            "personal": has_perm(user, Perm.API_ACCESS),
            "tokens": ApiToken.objects.filter(user=user),
            "administrator": administrator,
            "integrations": integrations.order_by("username"),
            "integration_tokens": ApiToken.objects.filter(user__in=integrations).select_related(
                "user"
            ),
            "now": timezone.now(),
            "today": timezone.localdate(),
            **extra,
        },
    )


@login_required
@require_GET
def tokens(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _expiry(raw: str) -> dt.datetime | None:
    """The end of the chosen day, Oslo time; none when left empty."""
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw[:10])
    except ValueError:
        raise DomainError(_("Give the date as yyyy-mm-dd."), field="expires") from None
    end = dt.datetime.combine(day, dt.time(23, 59, 59))
    return timezone.make_aware(end)


@login_required
@require_POST
def token_new(request: HttpRequest) -> HttpResponseBase:
    """Make a token and show it, once: the page is not kept by the browser (no-store)."""
    try:
        token, raw = services.token_create(
            _user(request),
            name=str(request.POST.get("name", "")),
            expires_at=_expiry(str(request.POST.get("expires", ""))[:40]),
        )
    except DomainError as error:
        return refused(request, error, back="api_tokens:tokens")
    return _page(request, made=token, raw=raw)


@login_required
@require_POST
def integration_token_new(request: HttpRequest) -> HttpResponseBase:
    """An administrator makes a token for an integration user, shown once."""
    raw_id = str(request.POST.get("integration", ""))
    try:
        known = raw_id.isdigit() and len(raw_id) <= 18
        integration = User.objects.filter(pk=int(raw_id)).first() if known else None
        if integration is None:
            raise NotFound(_("No such integration user."), field="integration")
        token, raw = services.token_create(
            _user(request),
            name=str(request.POST.get("name", "")),
            expires_at=_expiry(str(request.POST.get("expires", ""))[:40]),
            integration=integration,
        )
    except DomainError as error:
        return refused(request, error, back="api_tokens:tokens")
    return _page(request, made=token, raw=raw)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponseBase:
    try:
        token = services.token_revoke(_user(request), token_id=pk)
    except DomainError as error:
        return refused(request, error, back="api_tokens:tokens")
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("api_tokens:tokens")
