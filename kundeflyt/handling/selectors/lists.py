"""Lists of customers in campaigns: one filter set, always given the user, for the campaign
lists today and the data owner's customer handling, exports, bulk actions and the API later.

``PlacementFilter.from_query`` reads the filters from a query string (refusing what it cannot
read, naming the parameter); ``placements_filtered`` applies them among what the user sees.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.visibility import Actor, campaigns_visible_to
from kundeflyt.common.errors import DomainError
from kundeflyt.common.fields import FieldType
from kundeflyt.crm.models import FieldDefinition
from kundeflyt.handling.models import Placement
from kundeflyt.handling.selectors.reach import REACH
from kundeflyt.handling.selectors.search import customers_matching

UNSEGMENTED = "none"
FOLLOW_UP_CHOICES = ("due", "later", "none")
FIELD_OPERATORS = ("contains", "equals", "range", "empty")
ORDERED_TYPES = (FieldType.NUMBER, FieldType.DATE)
LONGEST_VALUE = 200


@dataclass(frozen=True)
class FieldFilter:
    """One condition on a CRM information field."""

    key: str
    op: str  # one of FIELD_OPERATORS
    value: Any = None
    low: Any = None
    high: Any = None

    def q(self) -> Q:
        path = f"customer__fields__{self.key}"
        match self.op:
            case "contains":
                return Q(**{f"{path}__icontains": self.value})
            case "equals":
                return Q(**{path: self.value})
            case "range":
                # JSON null compares as the text "null" on SQLite: leave empty values out.
                bounds = ~Q(**{path: None}) & Q(**{f"{path}__isnull": False})
                if self.low is not None:
                    bounds &= Q(**{f"{path}__gte": self.low})
                if self.high is not None:
                    bounds &= Q(**{f"{path}__lte": self.high})
                return bounds
        # empty: the key is missing, null, an empty text or an empty list
        return (
            Q(**{f"{path}__isnull": True}) | Q(**{path: None}) | Q(**{path: ""}) | Q(**{path: []})
        )


@dataclass(frozen=True)
class PlacementFilter:
    campaign: int | None = None
    segment: int | str | None = None  # a segment id, or UNSEGMENTED
    state: int | None = None
    follow_up: str = ""  # one of FOLLOW_UP_CHOICES, or "" for any
    responsible: int | None = None
    reach: str = ""  # a key of reach.REACH, or "" for any
    query: str = ""
    fields: tuple[FieldFilter, ...] = field(default=())

    @classmethod
    def from_query(
        cls, data: Mapping[str, Any], definitions: Sequence[FieldDefinition]
    ) -> PlacementFilter:
        """Read the filters of a list page or API call. Field filters are written
        ``field=<key>&op=<operator>&value=…`` (``low``/``high`` for a range)."""
        segment: int | str | None = data.get("segment") or None
        if segment != UNSEGMENTED:
            segment = _id(data, "segment")
        follow_up = data.get("follow_up") or ""
        if follow_up and follow_up not in FOLLOW_UP_CHOICES:
            raise DomainError(_("Choose a follow-up filter from the list."), field="follow_up")
        reach = data.get("reach") or ""
        if reach and reach not in REACH:
            raise DomainError(_("Choose a filter from the list."), field="reach")
        query = _text(data.get("q"), "q")
        fields: tuple[FieldFilter, ...] = ()
        if data.get("field"):
            fields = (_field_filter(data, definitions),)
        return cls(
            campaign=_id(data, "campaign"),
            segment=segment,
            state=_id(data, "state"),
            follow_up=follow_up,
            responsible=_id(data, "responsible"),
            reach=reach,
            query=query,
            fields=fields,
        )


def _id(data: Mapping[str, Any], name: str) -> int | None:
    raw = data.get(name)
    if raw in (None, ""):
        return None
    text = str(raw)
    if not re.fullmatch(r"[0-9]{1,18}", text):
        raise DomainError(_("Choose from the list."), field=name)
    return int(text)


def _text(raw: Any, name: str) -> str:
    text = str(raw or "").strip()
    if len(text) > LONGEST_VALUE:
        raise DomainError(_("Write at most %(n)s characters.") % {"n": LONGEST_VALUE}, field=name)
    if "\x00" in text:
        raise DomainError(_("Remove the invisible characters."), field=name)
    return text


def _typed(definition: FieldDefinition, raw: Any, name: str) -> Any:
    """A filter value as the field stores it: numbers as numbers, dates as ISO text."""
    text = _text(raw, name)
    if not text:
        return None
    if definition.type == FieldType.NUMBER:
        try:
            number = Decimal(text.replace(" ", "").replace(",", "."))
        except InvalidOperation:
            raise DomainError(
                _("“%(value)s” is not a number.") % {"value": text}, field=name
            ) from None
        if not number.is_finite() or abs(number.adjusted()) > 15:
            raise DomainError(_("“%(value)s” is not a number.") % {"value": text}, field=name)
        return int(number) if number == number.to_integral_value() else float(number)
    if definition.type == FieldType.DATE:
        for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
            try:
                return dt.datetime.strptime(text, fmt).date().isoformat()
            except ValueError:
                continue
        raise DomainError(
            _("“%(value)s” is not a date (use dd.mm.yyyy).") % {"value": text}, field=name
        )
    if definition.type == FieldType.CHECKBOX:
        return text.lower() in {"1", "true", "yes", "ja", "on"}
    return text


def _field_filter(data: Mapping[str, Any], definitions: Sequence[FieldDefinition]) -> FieldFilter:
    by_key = {d.key: d for d in definitions}
    definition = by_key.get(str(data.get("field")))
    if definition is None:
        raise DomainError(_("Choose an information field from the list."), field="field")
    op = data.get("op") or "contains"
    if op not in FIELD_OPERATORS or (op == "range" and definition.type not in ORDERED_TYPES):
        raise DomainError(_("Choose how to compare from the list."), field="op")
    if op == "empty":
        return FieldFilter(definition.key, op)
    if op == "range":
        low, high = (
            _typed(definition, data.get("low"), "low"),
            _typed(definition, data.get("high"), "high"),
        )
        if low is None and high is None:
            raise DomainError(_("Give a lowest or a highest value."), field="low")
        return FieldFilter(definition.key, op, low=low, high=high)
    value = _typed(definition, data.get("value"), "value")
    if value is None:
        raise DomainError(_("Write what to look for."), field="value")
    if definition.type in (FieldType.NUMBER, FieldType.CHECKBOX) and op == "contains":
        op = "equals"  # a number or a checkbox is found by its value
    return FieldFilter(definition.key, op, value=value)


def placements_filtered(actor: Actor, filters: PlacementFilter) -> QuerySet[Placement]:
    """The placements in campaigns the actor may see that match every filter."""
    placements = Placement.objects.filter(campaign__in=campaigns_visible_to(actor))
    if filters.campaign is not None:
        placements = placements.filter(campaign_id=filters.campaign)
    if filters.segment == UNSEGMENTED:
        placements = placements.filter(segment__isnull=True)
    elif filters.segment is not None:
        placements = placements.filter(segment_id=filters.segment)
    if filters.state is not None:
        placements = placements.filter(state_id=filters.state)
    now = timezone.now()
    match filters.follow_up:
        case "due":
            placements = placements.filter(follow_up_at__lte=now)
        case "later":
            placements = placements.filter(follow_up_at__gt=now)
        case "none":
            placements = placements.filter(follow_up_at__isnull=True)
    if filters.responsible is not None:
        placements = placements.filter(follow_up_user_id=filters.responsible)
    if filters.reach:
        placements = placements.filter(REACH[filters.reach])
    if filters.query:
        placements = placements.filter(customer__in=customers_matching(actor, filters.query))
    for condition in filters.fields:
        placements = placements.filter(condition.q())
    return placements
