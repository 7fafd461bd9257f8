"""Typed information fields: the one place where a field value is checked and normalised.

Used by the CRM setup (a customer's own fields) and by the extra fields of outcomes and
products, so the same type behaves the same everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kundeflyt.common.bounds import FIELD_TEXT, bounded_decimal, bounded_text
from kundeflyt.common.errors import DomainError
from kundeflyt.common.phones import normalise_phone


class FieldType(models.TextChoices):
    TEXT = "text", gettext_lazy("Text")
    NUMBER = "number", gettext_lazy("Number")
    DIGITS = "digits", gettext_lazy("Number that may start with 0")
    DATE = "date", gettext_lazy("Date")
    EMAIL = "email", gettext_lazy("E-mail")
    PHONE = "phone", gettext_lazy("Phone")
    LINK = "link", gettext_lazy("Link")
    CHECKBOX = "checkbox", gettext_lazy("Checkbox")
    CHOICE = "choice", gettext_lazy("Single choice")
    MULTICHOICE = "multichoice", gettext_lazy("Multiple choice")
    ORG_NUMBER = "org_number", gettext_lazy("Organisation number")


ORG_NUMBER_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def is_valid_org_number(digits: str) -> bool:
    """Norwegian organisation numbers: nine digits with a modulus 11 check digit."""
    if not re.fullmatch(r"\d{9}", digits):
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], ORG_NUMBER_WEIGHTS, strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[8])


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


def clean_field_value(
    field_type: str,
    value: Any,
    *,
    field: str,
    label: str = "",
    required: bool = False,
    choices: Sequence[str] = (),
) -> Any:
    """Return ``value`` normalised for storage in JSON, or raise a DomainError naming ``field``.

    Empty input is stored as ``None`` (or ``False``/``[]`` for checkboxes and multiple choice).
    """
    name = label or field
    if isinstance(value, str):
        value = value.strip()
    if is_empty(value) and field_type != FieldType.CHECKBOX:
        if required:
            raise DomainError(_("%(name)s is required.") % {"name": name}, field=field)
        return [] if field_type == FieldType.MULTICHOICE else None

    def refuse(reason: str) -> DomainError:
        return DomainError(reason, field=field)

    if isinstance(value, str):
        # Rule 12: no text longer than a field holds, no control characters.
        value = bounded_text(value, field=field, max_length=FIELD_TEXT, label=name)
    match field_type:
        case FieldType.TEXT:
            return str(value)
        case FieldType.NUMBER:
            number = bounded_decimal(value, field=field)
            return int(number) if number == number.to_integral_value() else str(number)
        case FieldType.DIGITS:
            digits = str(value).replace(" ", "")
            if not re.fullmatch(r"[0-9]{1,40}", digits):
                raise refuse(_("“%(value)s” may only contain digits.") % {"value": value})
            return digits
        case FieldType.DATE:
            if isinstance(value, dt.date):
                return value.isoformat()
            for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
                try:
                    return dt.datetime.strptime(str(value), fmt).date().isoformat()
                except ValueError:
                    continue
            raise refuse(_("“%(value)s” is not a date (use dd.mm.yyyy).") % {"value": value})
        case FieldType.EMAIL:
            try:
                EmailValidator()(str(value))
            except ValidationError:
                raise refuse(
                    _("“%(value)s” is not an e-mail address.") % {"value": value}
                ) from None
            return str(value).lower()
        case FieldType.PHONE:
            return normalise_phone(str(value), field=field)
        case FieldType.LINK:
            url = str(value)
            if len(url) > 500:
                raise refuse(_("“%(value)s” is not a web address.") % {"value": url[:50]})
            if "://" not in url:
                url = "https://" + url
            try:
                URLValidator(schemes=["http", "https"])(url)
            except ValidationError:
                raise refuse(_("“%(value)s” is not a web address.") % {"value": value}) from None
            return url
        case FieldType.CHECKBOX:
            if isinstance(value, bool):
                return value
            text = str(value or "").lower()
            if text in {"", "0", "false", "no", "nei", "off"}:
                return False
            if text in {"1", "true", "yes", "ja", "on"}:
                return True
            raise refuse(_("“%(value)s” is not yes or no.") % {"value": value})
        case FieldType.CHOICE:
            if str(value) not in choices:
                raise refuse(_("“%(value)s” is not one of the choices.") % {"value": value})
            return str(value)
        case FieldType.MULTICHOICE:
            picked = [str(v) for v in (value if isinstance(value, list | tuple) else [value])]
            picked = list(dict.fromkeys(picked))
            wrong = [v for v in picked if v not in choices]
            if wrong:
                raise refuse(_("“%(value)s” is not one of the choices.") % {"value": wrong[0]})
            return picked
        case FieldType.ORG_NUMBER:
            digits = re.sub(r"\s", "", str(value))
            if not is_valid_org_number(digits):
                raise refuse(
                    _("“%(value)s” is not a valid organisation number.") % {"value": value}
                )
            return digits
    raise refuse(_("Unknown field type “%(type)s”.") % {"type": field_type})
