"""Parse the customer screen's forms into service arguments. Checks of meaning stay in services;
here only the shape of the input is read, and unreadable input is refused naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.common.bounds import (
    EARLIEST,
    MEETING_MINUTES_MAX,
    QUANTITY_MAX,
    SHORT_TEXT,
    bounded_int,
    bounded_money,
    bounded_text,
)
from kundeflyt.common.errors import DomainError
from kundeflyt.handling.services import AfterSave, MeetingInput, ProductInput

SHARED = "shared"


ID_MAX = 2**63 - 1  # the largest key a database row has


def parse_int(raw: str | None, *, field: str, required: bool = False) -> int | None:
    """An id or a count from a form: ASCII digits only, at most 18 of them."""
    if raw is None or raw == "":
        if required:
            raise DomainError(_("Choose one."), field=field)
        return None
    return bounded_int(raw, field=field, minimum=0, maximum=ID_MAX)


def parse_id(raw: str | None, *, field: str) -> int:
    """A required id from a form: refused naming ``field`` when missing or not a number."""
    value = parse_int(raw, field=field, required=True)
    assert value is not None
    return value


def parse_local_datetime(raw: str | None, *, field: str) -> dt.datetime | None:
    """A ``datetime-local`` value in the user's time zone."""
    if not raw:
        return None
    try:
        naive = dt.datetime.fromisoformat(raw[:40])
    except ValueError:
        naive = None
    if naive is None or not EARLIEST.year <= naive.year <= 2200:
        raise DomainError(
            _("“%(value)s” is not a date and time.") % {"value": raw[:40]}, field=field
        )
    if timezone.is_aware(naive):
        return naive
    return timezone.make_aware(naive, timezone.get_current_timezone())


def outcome_arguments(data: QueryDict, user: User) -> dict[str, Any]:
    """The keyword arguments of ``outcome_register`` from the outcome panel's POST. Whether the
    chosen responsible user may work the campaign is the service's check."""
    follow_up_at = parse_local_datetime(data.get("follow_up_at"), field="follow_up_at")
    responsible_raw = data.get("follow_up_user") or str(user.pk)
    follow_up_user: User | None = None
    if follow_up_at is not None and responsible_raw != SHARED:
        chosen = parse_id(responsible_raw, field="follow_up_user")
        follow_up_user = user if chosen == user.pk else User.objects.filter(pk=chosen).first()
        if follow_up_user is None:
            raise DomainError(_("Choose a user who works this campaign."), field="follow_up_user")
    products = []
    for key in data:
        if not key.startswith("product_qty_"):
            continue
        quantity = bounded_int(data.get(key) or "0", field=key, minimum=0, maximum=QUANTITY_MAX)
        if quantity:
            product_id = bounded_int(
                key.removeprefix("product_qty_"), field=key, minimum=1, maximum=ID_MAX
            )
            price_raw = (data.get(f"product_price_{product_id}") or "").strip()
            price = (
                bounded_money(price_raw, field=f"product_price_{product_id}") if price_raw else None
            )
            products.append(ProductInput(product_id, quantity=quantity, unit_price=price))
    meeting = None
    meeting_at = parse_local_datetime(data.get("meeting_at"), field="meeting.starts_at")
    if meeting_at is not None:
        minutes = data.get("meeting_minutes") or "60"
        meeting = MeetingInput(
            starts_at=meeting_at,
            duration_minutes=bounded_int(
                minutes,
                field="meeting.duration_minutes",
                minimum=1,
                maximum=MEETING_MINUTES_MAX,
            ),
            place=bounded_text(
                data.get("meeting_place"), field="meeting.place", max_length=SHORT_TEXT
            ),
            with_whom=bounded_text(
                data.get("meeting_with"), field="meeting.with_whom", max_length=SHORT_TEXT
            ),
        )
    extra = {k.removeprefix("extra_"): v for k, v in data.lists() if k.startswith("extra_")}
    try:
        then = AfterSave(data.get("then") or AfterSave.STAY)
    except ValueError:
        raise DomainError(_("Choose what comes next."), field="then") from None
    return {
        "outcome_id": parse_int(data.get("outcome"), field="outcome", required=True),
        "option_id": parse_int(data.get("option"), field="option"),
        "comment": data.get("comment", ""),
        "extra": {k: (v if len(v) > 1 else v[0]) for k, v in extra.items()},
        "follow_up_at": follow_up_at,
        "follow_up_user": follow_up_user,
        "products": products,
        "meeting": meeting,
        "then": then,
    }
