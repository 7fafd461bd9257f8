"""The account page and what it leads to: password, two-factor login, sessions. Plus the
language switch of the top bar."""

from __future__ import annotations

import re
from contextlib import suppress
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import PasswordChangeView
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.util import random_hex

from kundeflyt.accounts import services
from kundeflyt.accounts.forms import CodeForm
from kundeflyt.accounts.models import User
from kundeflyt.accounts.two_factor import (
    must_use_two_factor,
    qr_svg,
    recovery_code_text,
    recovery_codes_left,
    secret_text,
    setup_url,
)
from kundeflyt.common.errors import DomainError
from kundeflyt.common.refusals import local_url

ENROL_KEY = "kundeflyt_totp_key"  # session: the secret being set up, until a code confirms it
NEW_CODES = "kundeflyt_recovery_codes"  # session: new recovery codes, until shown once


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _next(request: HttpRequest) -> str:
    return local_url(request, request.POST.get("next") or request.GET.get("next"))


@require_POST
def language_set(request: HttpRequest) -> HttpResponseBase:
    """Switch the language; a logged-in user keeps the choice for later sessions too."""
    if isinstance(request.user, User):
        # Django's view below ignores an unknown language the same way.
        with suppress(DomainError):
            services.user_set_language(request.user, language=request.POST.get("language", ""))
    return set_language(request)


@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    """The user's own account: password, two-factor login, sessions."""
    user = _user(request)
    return render(
        request,
        "accounts/account.html",
        {
            "nav": "account",
            "two_factor_required": must_use_two_factor(user),
            "recovery_codes_left": recovery_codes_left(user),
        },
    )


@login_required
@require_POST
def phone_set(request: HttpRequest) -> HttpResponseBase:
    """The user's own phone for calls (click-to-call rings it first)."""
    try:
        services.user_set_phone(_user(request), phone=request.POST.get("phone", ""))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Saved."))
    return redirect("accounts:account")


class PasswordChange(PasswordChangeView):
    """Django's password change, in the product's look; the change goes through the service."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:account")

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        user = _user(self.request)
        try:
            services.user_password_change(user, password=form.cleaned_data["new_password1"])
        except DomainError as error:
            form.add_error("new_password2", error.message)
            return self.form_invalid(form)
        update_session_auth_hash(self.request, user)  # this session stays, the others end
        messages.success(
            self.request,
            _("Your password is changed. You are logged out everywhere else."),
        )
        return redirect(self.get_success_url())


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan the QR code (or type the secret), give the first code.
    The secret lives in the session until that code confirms it."""
    user = _user(request)
    key = request.session.get(ENROL_KEY)
    if not isinstance(key, str) or not re.fullmatch(r"[0-9a-f]{40}", key):
        key = random_hex(20)
        request.session[ENROL_KEY] = key
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = services.two_factor_turn_on(
                user, key=key, code=form.cleaned_data["code"]
            )
        except DomainError as error:
            form.add_error("code", error.message)
        else:
            del request.session[ENROL_KEY]
            otp_login(request, device)  # this session has just shown the code
            request.session.cycle_key()
            request.session[NEW_CODES] = codes
            messages.success(request, _("Two-factor login is on."))
            return redirect(
                reverse("accounts:recovery_codes") + "?" + urlencode({"next": _next(request)})
            )
    return render(
        request,
        "accounts/two_factor_enrol.html",
        {
            "nav": "account",
            "form": form,
            "qr": qr_svg(setup_url(user, key)),
            "secret": secret_text(key),
            "required": must_use_two_factor(user),
            "next": _next(request),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The second step of the login: a code from the app, or a recovery code."""
    user = _user(request)
    user_any: Any = user
    if not user.two_factor or user_any.is_verified():
        return redirect(_next(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.two_factor_verify(user, code=form.cleaned_data["code"])
        except DomainError as error:
            form.add_error("code", error.message)
        else:
            otp_login(request, device)
            request.session.cycle_key()  # a new key for the session that now has both factors
            if isinstance(device, StaticDevice):
                left = device.token_set.count()
                messages.warning(
                    request,
                    ngettext(
                        "You used a recovery code. %(count)d is left.",
                        "You used a recovery code. %(count)d are left.",
                        left,
                    )
                    % {"count": left},
                )
            return redirect(_next(request))
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"form": form, "next": _next(request)},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes, shown once: a POST makes them, the GET after it shows them."""
    user = _user(request)
    if request.method == "POST":
        try:
            request.session[NEW_CODES] = services.recovery_codes_renew(user)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("accounts:account")
        back = urlencode({"next": reverse("accounts:account")})
        return redirect(reverse("accounts:recovery_codes") + "?" + back)
    codes = request.session.pop(NEW_CODES, None)
    if not codes:
        messages.info(request, _("Recovery codes are shown only once. Make new ones if needed."))
        return redirect("accounts:account")
    return render(
        request,
        "accounts/recovery_codes.html",
        {
            "nav": "account",
            "codes": [recovery_code_text(code) for code in codes],
            "next": _next(request),
        },
    )


@login_required
@require_POST
def two_factor_off(request: HttpRequest) -> HttpResponse:
    try:
        services.two_factor_turn_off(_user(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Two-factor login is off."))
    return redirect("accounts:account")


@login_required
@require_POST
def log_out_everywhere(request: HttpRequest) -> HttpResponse:
    services.user_sessions_end(_user(request))
    logout(request)
    messages.success(request, _("You are logged out everywhere, here too."))
    return redirect("login")
