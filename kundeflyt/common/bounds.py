"""DESIGN.md rule 12: every stored value is bounded, and parsed at a bounded cost.

The limits live here, once, and the checks raise a ``DomainError`` naming the field, so that
services, forms and the API refuse the same input with the same words. A value that passes
can be stored on both databases and shown on every page afterwards.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.common.errors import DomainError

# Texts.
SHORT_TEXT = 200  # names, places, labels: the model's max_length where it is shorter
FIELD_TEXT = 1000  # a CRM information field or an extra field of type text
LONG_TEXT = 5000  # comments, reasons, descriptions
# Numbers. Money fits DecimalField(max_digits=12, decimal_places=2).
MONEY_MAX = Decimal("9999999999.99")
QUANTITY_MAX = 100_000
MEETING_MINUTES_MAX = 24 * 60
NUMBER_DIGITS = 15  # a number field holds at most this many digits before the point
NUMBER_DECIMALS = 6
RAW_NUMBER = 40  # longest text read as a number at all: parsing stays cheap
# Times: nothing before 2000, nothing further ahead than follow-ups and meetings need.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
AHEAD = dt.timedelta(days=2 * 366)

_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def bounded_text(value: Any, *, field: str, max_length: int, label: str = "") -> str:
    """``value`` as stripped text of at most ``max_length`` characters, without NUL or other
    control characters (tabs and line breaks are kept)."""
    text = str(value if value is not None else "").strip()
    name = label or field
    if len(text) > max_length:
        raise DomainError(
            _("%(name)s is too long: at most %(n)s characters.") % {"name": name, "n": max_length},
            field=field,
        )
    if _INVISIBLE.search(text):
        raise DomainError(
            _("%(name)s contains invisible control characters.") % {"name": name}, field=field
        )
    return text


def bounded_decimal(
    raw: Any,
    *,
    field: str,
    digits: int = NUMBER_DIGITS,
    decimals: int = NUMBER_DECIMALS,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
) -> Decimal:
    """A finite decimal with at most ``digits`` before the point and ``decimals`` after it,
    read from text with a point or a Norwegian comma, at a bounded cost."""
    text = str(raw).strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    refusal = DomainError(_("“%(value)s” is not a number.") % {"value": str(raw)[:50]}, field=field)
    if not text or len(text) > RAW_NUMBER:
        raise refusal
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise refusal from None
    if not number.is_finite():
        raise refusal
    # adjusted() is the exponent of the leading digit: cheap, whatever the exponent written.
    if number and number.adjusted() >= digits:
        raise DomainError(_("“%(value)s” is out of range.") % {"value": str(raw)[:50]}, field=field)
    if number != number.quantize(Decimal(1).scaleb(-decimals)):
        raise DomainError(_("Use at most %(n)s decimals.") % {"n": decimals}, field=field)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise DomainError(_("“%(value)s” is out of range.") % {"value": str(raw)[:50]}, field=field)
    return number


def bounded_int(raw: Any, *, field: str, minimum: int, maximum: int) -> int:
    """A whole number in [``minimum``, ``maximum``], read only from ASCII digits."""
    text = str(raw).strip()
    if not re.fullmatch(r"-?[0-9]{1,18}", text):
        raise DomainError(
            _("“%(value)s” is not a whole number.") % {"value": text[:50]}, field=field
        )
    number = int(text)
    if not minimum <= number <= maximum:
        raise DomainError(
            _("Choose a number from %(low)s to %(high)s.") % {"low": minimum, "high": maximum},
            field=field,
        )
    return number


def bounded_money(raw: Any, *, field: str) -> Decimal:
    """An amount of money: 0 to ``MONEY_MAX``, with at most two decimals."""
    return bounded_decimal(
        raw, field=field, digits=10, decimals=2, minimum=Decimal(0), maximum=MONEY_MAX
    )


def check_moment(
    moment: dt.datetime,
    *,
    field: str,
    earliest: dt.datetime | None = None,
    latest: dt.datetime | None = None,
) -> dt.datetime:
    """Refuse a time outside [``earliest``, ``latest``] (by default from 2000 to two years
    ahead), naming the field."""
    earliest = earliest or EARLIEST
    latest = latest or timezone.now() + AHEAD
    if moment < earliest:
        raise DomainError(
            _("Choose a time from %(when)s on.")
            % {"when": timezone.localtime(earliest).strftime("%d.%m.%Y %H:%M")},
            field=field,
        )
    if moment > latest:
        raise DomainError(
            _("Choose a time before %(when)s.")
            % {"when": timezone.localtime(latest).strftime("%d.%m.%Y")},
            field=field,
        )
    return moment
