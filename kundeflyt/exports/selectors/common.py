"""What the exports share: the shape of an export (sheets and a row generator), typed cells
for information fields, Oslo time, and names looked up once per chunk of rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import islice
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.common.fields import FieldType
from kundeflyt.common.phones import display_phone
from kundeflyt.reports.exports import Sheet

# Rows are read through a server-side cursor in chunks of this many; what a chunk needs
# (product lines, meetings, names) is fetched once per chunk, so memory stays bounded.
CHUNK = 2000

T = TypeVar("T")
Rows = Iterator[tuple[int, list[Any]]]


@dataclass
class Listing:
    """One export: its sheets, the number of rows of the first, and its rows.

    ``rows(all_sheets)`` yields ``(sheet index, values)`` lazily, in order; a CSV file takes
    the first sheet only and asks for no more (``all_sheets=False``)."""

    kind: str
    description: str
    file_stem: str
    sheets: list[Sheet]
    count: int
    rows: Callable[[bool], Rows]


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def oslo() -> ZoneInfo:
    return _zone(settings.TIME_ZONE)


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored time in Oslo time, to the second, without a zone (spreadsheets know none)."""
    if moment is None:
        return None
    return moment.astimezone(_zone(settings.TIME_ZONE)).replace(tzinfo=None, microsecond=0)


def yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def field_cell(field_type: str, value: Any) -> Any:
    """An information field's stored value as a cell: numbers as numbers, dates as dates,
    phones as the card shows them, choices joined, checkboxes as yes or no."""
    if value is None or value == "" or value == []:
        return None
    match field_type:
        case FieldType.NUMBER:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value
            try:
                return Decimal(str(value))
            except InvalidOperation:
                return str(value)
        case FieldType.DATE:
            try:
                return dt.date.fromisoformat(str(value))
            except ValueError:
                return str(value)
        case FieldType.CHECKBOX:
            return yes_no(bool(value))
        case FieldType.PHONE:
            return display_phone(str(value))
        case FieldType.MULTICHOICE:
            return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return str(value)


class People:
    """Names of users, looked up once for the ids of each chunk: the person, or their team
    when the reader may not see individual results."""

    def __init__(self, *, individual: bool) -> None:
        self.individual = individual
        self.known: dict[int, str] = {}

    def load(self, ids: Iterable[int | None]) -> None:
        wanted = {pk for pk in ids if pk is not None and pk not in self.known}
        if not wanted:
            return
        for user in User.objects.filter(pk__in=wanted).select_related("team"):
            if self.individual:
                self.known[user.pk] = str(user)
            else:
                self.known[user.pk] = user.team.name if user.team else _("No team")

    def name(self, pk: int | None, process: str = "") -> str:
        """The user's name (or team), or the process that acted instead of a user."""
        if pk is None:
            return _("process: %(name)s") % {"name": process} if process else ""
        return self.known.get(pk, "")


def unique_labels(labels: Sequence[str]) -> list[str]:
    """Headers a reader can tell apart: a label seen before gets its number."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out
