"""The import pages' input, read into the services' arguments. Only the shape is read here;
the services check the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _

from kundeflyt.common.bounds import SHORT_TEXT, bounded_text
from kundeflyt.common.errors import DomainError
from kundeflyt.imports.models import MAX_COLUMNS, ImportBatch, OnBlocked, OnDuplicate
from kundeflyt.imports.selectors import Destination


def _text(data: QueryDict, key: str, max_length: int = SHORT_TEXT) -> str:
    return bounded_text(data.get(key, ""), field=key, max_length=max_length)


def mapping_from(data: QueryDict, batch: ImportBatch) -> dict[int, str]:
    """``column_<n>`` → the target key of column n (empty for “not imported”)."""
    mapping: dict[int, str] = {}
    for position in range(min(len(batch.columns), MAX_COLUMNS)):
        key = _text(data, f"column_{position}", 60)
        if key:
            mapping[position] = key
    return mapping


@dataclass
class Options:
    rest_field: str
    target: str
    on_duplicate: str
    match_phone: bool
    id_prefix: str
    on_blocked: str

    def start_arguments(self, chosen: Destination) -> dict[str, Any]:
        return {
            "rest_field": self.rest_field,
            "campaign": chosen.campaign,
            "segment": chosen.segment,
            "on_duplicate": self.on_duplicate,
            "match_phone": self.match_phone,
            "id_prefix": self.id_prefix,
            "on_blocked": self.on_blocked,
        }


def options_from(data: QueryDict) -> Options:
    on_duplicate = _text(data, "on_duplicate", 10) or OnDuplicate.SKIP
    if on_duplicate not in OnDuplicate.values:
        raise DomainError(_("Choose what to do with duplicates."), field="on_duplicate")
    on_blocked = _text(data, "on_blocked", 10) or OnBlocked.CREATE
    if on_blocked not in OnBlocked.values:
        raise DomainError(_("Choose what to do with blocked numbers."), field="on_blocked")
    return Options(
        rest_field=_text(data, "rest_field", 60),
        target=_text(data, "target", 40),
        on_duplicate=on_duplicate,
        match_phone=data.get("match_phone") == "on",
        id_prefix=_text(data, "id_prefix", 40),
        on_blocked=on_blocked,
    )


def options_of(batch: ImportBatch) -> Options:
    """A draft's options as the form shows them first."""
    target = ""
    if batch.campaign_id:
        target = f"c{batch.campaign_id}" + (f"s{batch.segment_id}" if batch.segment_id else "")
    return Options(
        rest_field=batch.rest_field,
        target=target,
        on_duplicate=batch.on_duplicate,
        match_phone=batch.match_phone,
        id_prefix=batch.id_prefix,
        on_blocked=batch.on_blocked,
    )
