"""Login lockout with django-axes: the client's address, and the login page that says how long
to wait. The settings are under "Accounts" in ``settings.py``."""

from __future__ import annotations

import ipaddress
import math
from datetime import timedelta
from typing import Any

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

USERNAME_MAX = AccessAttempt._meta.get_field("username").max_length or 255


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The client's address: the connection's own, or, behind ``PROXY_COUNT`` reverse proxies,
    the address the outermost of them saw (proxies append to X-Forwarded-For, so the entries
    before theirs are whatever the client sent and are not trusted). Never anything but an
    address: the lockout stores it in an address column."""
    proxies = settings.PROXY_COUNT
    if proxies > 0:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")[:2000].split(",")
        if len(forwarded) >= proxies and (address := _address(forwarded[-proxies])):
            return address
    return _address(request.META.get("REMOTE_ADDR", ""))


def client_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The username tried, cut to what the lockout stores: Django's login forms do not bound
    it, and a username longer than any real one must not break the lockout's row."""
    source = credentials if credentials else getattr(request, "POST", {})
    username = source.get("username")
    return str(username)[:USERNAME_MAX] if username is not None else None


def minutes_to_wait(username: str, address: str | None) -> int:
    """Whole minutes until this user may try again from this address (at least 1)."""
    cool_off = get_cool_off() or timedelta(0)
    last = AccessAttempt.objects.filter(username=username, ip_address=address).aggregate(
        last=Max("attempt_time")
    )["last"]
    left = (last + cool_off - timezone.now()) if last else cool_off
    return max(1, math.ceil(left.total_seconds() / 60))


def locked_out_response(
    request: HttpRequest, response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """The login page again, saying in the user's language that this user is locked at this
    address and for how long (axes calls this instead of its own English page)."""
    username = client_username(request, credentials) or ""
    address = getattr(request, "axes_ip_address", None) or client_address(request)
    form = AuthenticationForm(request, initial={"username": username})
    context = {
        "form": form,
        "locked_minutes": minutes_to_wait(username, address),
        "next": request.POST.get("next", "") if request.method == "POST" else "",
    }
    return render(request, "registration/login.html", context, status=429)
