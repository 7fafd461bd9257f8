from __future__ import annotations

from django import forms
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
