"""Conditions on a customer's CRM information fields: for lists (as SQL on the JSON column)
and for a segment's rule (in Python, on one customer), parsed and refused in one place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from kundeflyt.common.errors import DomainError
from kundeflyt.common.fields import FieldType
from kundeflyt.crm.models import FieldDefinition

FIELD_OPERATORS = ("contains", "equals", "range", "empty")
# Ranges compare numbers as numbers, dates and digit strings (postcodes) as text of one width.
ORDERED_TYPES = (FieldType.NUMBER, FieldType.DATE, FieldType.DIGITS)
LONGEST_VALUE = 200


@dataclass(frozen=True)
class FieldFilter:
    """One condition on a CRM information field."""

    key: str
    op: str  # one of FIELD_OPERATORS
    value: Any = None
    low: Any = None
    high: Any = None
    numeric: bool = False  # a number field: compared as numbers in Python

    def q(self, customer: str = "customer__") -> Q:
        """The condition as SQL, from a model that reaches the customer by ``customer`` (a
        placement's ``customer__``; ``""`` from the customer itself)."""
        path = f"{customer}fields__{self.key}"
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

    def matches(self, fields: Mapping[str, Any]) -> bool:
        """The same condition on one customer's fields, in Python (a segment's rule)."""
        value = fields.get(self.key)
        if self.op == "empty":
            return value in (None, "", [])
        if value in (None, "", []):
            return False
        if self.op == "contains":
            values = value if isinstance(value, list) else [value]
            return any(str(self.value).lower() in str(v).lower() for v in values)
        if self.op == "equals":
            if isinstance(value, list):
                return self.value in value
            return _comparable(value, self.numeric) == _comparable(self.value, self.numeric)
        low, high = _comparable(self.low, self.numeric), _comparable(self.high, self.numeric)
        here = _comparable(value, self.numeric)
        try:
            return (low is None or low <= here) and (high is None or here <= high)
        except TypeError:  # text compared with a number: no match
            return False


def _comparable(value: Any, numeric: bool = False) -> Any:
    """A number field's values as Decimal (decimals are stored as text, whole numbers as
    numbers), the rest as they are stored."""
    if value is None or isinstance(value, bool) or not numeric:
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def bounded_filter_text(raw: Any, name: str) -> str:
    text = str(raw or "").strip()
    if len(text) > LONGEST_VALUE:
        raise DomainError(_("Write at most %(n)s characters.") % {"n": LONGEST_VALUE}, field=name)
    if "\x00" in text:
        raise DomainError(_("Remove the invisible characters."), field=name)
    return text


def _typed(definition: FieldDefinition, raw: Any, name: str) -> Any:
    """A filter value as the field stores it: numbers as numbers, dates as ISO text."""
    text = bounded_filter_text(raw, name)
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


def field_filter(data: Mapping[str, Any], definitions: Sequence[FieldDefinition]) -> FieldFilter:
    """A condition on one CRM field from ``field``, ``op``, ``value``, ``low`` and ``high``
    (a list's query string, or a segment's rule), refused naming the part at fault."""
    by_key = {d.key: d for d in definitions}
    definition = by_key.get(str(data.get("field")))
    if definition is None:
        raise DomainError(_("Choose an information field from the list."), field="field")
    op = data.get("op") or "contains"
    if op not in FIELD_OPERATORS or (op == "range" and definition.type not in ORDERED_TYPES):
        raise DomainError(_("Choose how to compare from the list."), field="op")
    numeric = definition.type == FieldType.NUMBER
    if op == "empty":
        return FieldFilter(definition.key, op)
    if op == "range":
        low, high = (
            _typed(definition, data.get("low"), "low"),
            _typed(definition, data.get("high"), "high"),
        )
        if low is None and high is None:
            raise DomainError(_("Give a lowest or a highest value."), field="low")
        return FieldFilter(definition.key, op, low=low, high=high, numeric=numeric)
    value = _typed(definition, data.get("value"), "value")
    if value is None:
        raise DomainError(_("Write what to look for."), field="value")
    if definition.type in (FieldType.NUMBER, FieldType.CHECKBOX) and op == "contains":
        op = "equals"  # a number or a checkbox is found by its value
    return FieldFilter(definition.key, op, value=value, numeric=numeric)
