"""Parse the customer screen's forms into service arguments. Checks of meaning stay in services;
here only the shape of the input is read, and unreadable input is refused naming the field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.common.errors import DomainError
from kundeflyt.handling.services import AfterSave, MeetingInput, ProductInput

SHARED = "shared"


def parse_int(raw: str | None, *, field: str, required: bool = False) -> int | None:
    if raw is None or raw == "":
        if required:
            raise DomainError(_("Choose one."), field=field)
        return None
    try:
        return int(raw)
    except ValueError:
        raise DomainError(
            _("“%(value)s” is not a whole number.") % {"value": raw}, field=field
        ) from None


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
        naive = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise DomainError(
            _("“%(value)s” is not a date and time.") % {"value": raw}, field=field
        ) from None
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
        quantity = parse_int(data.get(key), field=key) or 0
        if quantity:
            product_id = int(key.removeprefix("product_qty_"))
            price_raw = (data.get(f"product_price_{product_id}") or "").replace(",", ".").strip()
            try:
                price = Decimal(price_raw) if price_raw else None
            except InvalidOperation:
                raise DomainError(
                    _("“%(value)s” is not a price.") % {"value": price_raw},
                    field=f"product_price_{product_id}",
                ) from None
            products.append(ProductInput(product_id, quantity=quantity, unit_price=price))
    meeting = None
    meeting_at = parse_local_datetime(data.get("meeting_at"), field="meeting.starts_at")
    if meeting_at is not None:
        meeting = MeetingInput(
            starts_at=meeting_at,
            duration_minutes=parse_int(
                data.get("meeting_minutes"), field="meeting.duration_minutes"
            )
            or 60,
            place=data.get("meeting_place", "").strip(),
            with_whom=data.get("meeting_with", "").strip(),
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
