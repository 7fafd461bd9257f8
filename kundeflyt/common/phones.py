"""Phone numbers: stored in E.164, shown in national format, Norway the default region."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _

from kundeflyt.common.errors import DomainError


def normalise_phone(raw: str, *, field: str = "phone", region: str | None = None) -> str:
    """Return ``raw`` as E.164, or raise a DomainError naming ``field``. Empty stays empty."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise DomainError(
            _("“%(value)s” is not a phone number.") % {"value": raw}, field=field
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise DomainError(
            _("“%(value)s” is not a valid phone number.") % {"value": raw}, field=field
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_search_variants(raw: str) -> str | None:
    """Best effort E.164 for a search term; None when it does not look like a phone number."""
    try:
        return normalise_phone(raw)
    except DomainError:
        return None


def display_phone(e164: str) -> str:
    """National format for numbers in the default region, international for the rest."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    region = phonenumbers.region_code_for_number(number)
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if region == settings.PHONE_DEFAULT_REGION
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)
