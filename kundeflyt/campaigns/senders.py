"""Who the customer sees texting or calling: a name or a real number, never a hidden one
(rule 11; markedsføringsloven § 12 forbids telemarketing from a hidden number)."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from kundeflyt.common.errors import DomainError
from kundeflyt.common.phones import normalise_phone

# An alphanumeric sender: 3–11 letters and digits, starting with a letter (GSM networks).
SENDER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9 ]{2,10}")
HIDDEN = frozenset(
    {
        "anonymous",
        "anonym",
        "hidden",
        "skjult",
        "private",
        "privat",
        "unknown",
        "ukjent",
        "withheld",
        "restricted",
        "unavailable",
    }
)


def _refuse_hidden(value: str, field: str) -> None:
    if value.strip().lower().replace(" ", "") in HIDDEN:
        raise DomainError(
            _("A hidden number is not allowed: Norwegian law forbids telemarketing from one."),
            field=field,
        )


def sms_sender_clean(value: str, *, field: str = "sms_sender") -> str:
    """A sender name of 3–11 letters and digits, or a phone number as E.164."""
    value = (value or "").strip()
    if not value:
        return ""
    _refuse_hidden(value, field)
    if SENDER_NAME.fullmatch(value) and not value.replace(" ", "").isdigit():
        return value
    number = normalise_phone(value, field=field)
    if len(number) > 16:
        raise DomainError(_("A sender number has at most 15 digits."), field=field)
    return number


def caller_number_clean(value: str, *, field: str = "caller_number") -> str:
    """The number calls come from, as E.164: a number, never a name or a hidden one."""
    value = (value or "").strip()
    if not value:
        return ""
    _refuse_hidden(value, field)
    return normalise_phone(value, field=field)
