from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kundeflyt.accounts.two_factor import must_use_two_factor
from kundeflyt.common.refusals import htmx_redirect, is_htmx

View = Callable[..., HttpResponseBase]


class UserPreferencesMiddleware:
    """Speak each user's chosen language and show times in their time zone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if user.language and "django_language" not in request.COOKIES:
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
            timezone.activate(user.time_zone)
        else:
            timezone.deactivate()
        return self.get_response(request)


def _back_here(request: HttpRequest) -> str:
    """Where to come back to after logging in again or giving the code: the page the browser
    shows (for htmx, not the fragment it asked for); nothing for a form post."""
    if is_htmx(request):
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        path = current.path + (f"?{current.query}" if current.query else "")
        return path if path.startswith("/") and not path.startswith("//") else ""
    return request.get_full_path() if request.method == "GET" else ""


def _send_to(request: HttpRequest, url_name: str) -> HttpResponseBase:
    url = reverse(url_name)
    back = _back_here(request)
    if back and len(back) <= 2000:
        url += "?" + urlencode({"next": back})
    return htmx_redirect(request, url)


# The requests the open customer screen and customer details make by themselves: the lease
# renewal (every 30 s), the side panel (every 60 s) and the presence (every 5 s). They are not
# the user doing anything, so they neither keep a session alive nor start its clock again.
BACKGROUND_VIEWS = frozenset(
    {"handling:screen_renew", "handling:side_panel", "handling:customer_presence"}
)
LAST_ACTIVITY = "kundeflyt_activity"  # session key: Unix time of the user's last own request
ACTIVITY_RESOLUTION = 60  # seconds; the session is written at most once a minute for it


class IdleTimeoutMiddleware:
    """End a session after ``SESSION_IDLE_SECONDS`` without the user doing anything, and say
    why on the login page. An agent who walks away is logged out even if the screen stays
    open and keeps polling."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: View, args: Any, kwargs: Any
    ) -> HttpResponseBase | None:
        if not request.user.is_authenticated:
            return None
        now = int(time.time())
        last = request.session.get(LAST_ACTIVITY)
        idle = settings.SESSION_IDLE_SECONDS
        if isinstance(last, int) and now - last > idle:
            logout(request)
            hours = idle / 3600
            if hours == int(hours):
                text = ngettext(
                    "You were logged out after %(count)d hour without activity.",
                    "You were logged out after %(count)d hours without activity.",
                    int(hours),
                ) % {"count": int(hours)}
            else:
                minutes = max(1, round(idle / 60))
                text = ngettext(
                    "You were logged out after %(count)d minute without activity.",
                    "You were logged out after %(count)d minutes without activity.",
                    minutes,
                ) % {"count": minutes}
            messages.info(request, text)
            return _send_to(request, "login")
        background = request.resolver_match is not None and (
            request.resolver_match.view_name in BACKGROUND_VIEWS
        )
        if not isinstance(last, int) or (not background and now - last >= ACTIVITY_RESOLUTION):
            request.session[LAST_ACTIVITY] = now
        return None


# What a user may still do before the second step of the login: give the code, log out, and
# choose the language of the page that asks for it.
ALWAYS_OPEN = frozenset({"logout", "set_language"})


class TwoFactorMiddleware:
    """The second step of the login. A user with two-factor login gives a code before any
    page opens; a user whose permissions require it and who has no app yet is sent to set one
    up first. This covers the admin too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: View, args: Any, kwargs: Any
    ) -> HttpResponseBase | None:
        user: Any = request.user
        if not user.is_authenticated or request.resolver_match is None:
            return None
        name = request.resolver_match.view_name
        if name in ALWAYS_OPEN:
            return None
        if user.two_factor:
            if user.is_verified() or name == "accounts:two_factor_verify":
                return None
            return _send_to(request, "accounts:two_factor_verify")
        if name == "accounts:two_factor_enrol" or not must_use_two_factor(user):
            return None
        messages.warning(
            request, _("Your permissions require two-factor login. Set it up to continue.")
        )
        return _send_to(request, "accounts:two_factor_enrol")
