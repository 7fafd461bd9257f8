from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _

from kundeflyt.accounts.services import CODE_MAX_LENGTH


class CodeForm(forms.Form):
    """A code from the authenticator app, or (at login) a recovery code."""

    code = forms.CharField(
        label=_("Code"),
        max_length=CODE_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )


class PasswordResetForm(auth_forms.PasswordResetForm):
    """ "Forgot your password?": a link by e-mail to active people only. An integration user
    never logs in to the pages, so it never gets one."""

    def get_users(self, email: str) -> Iterator[Any]:
        return (user for user in super().get_users(email) if not user.is_integration)
