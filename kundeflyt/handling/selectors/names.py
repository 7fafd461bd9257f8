"""What a customer's history names, across every campaign and flow, by id, read once per
process and configuration version (``kundeflyt.common.configuration``): the history query
then joins nothing (its nine joins took longer to plan than to run). The objects are shared:
read them, never change them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import models

from kundeflyt.accounts.models import User
from kundeflyt.campaigns.models import Campaign, OutcomeOption, Segment
from kundeflyt.common.configuration import cached, config_version
from kundeflyt.flows.models import Outcome, State


@dataclass(frozen=True)
class Names:
    """Outcomes, states, options, campaigns (with their CRM and its data owner), segments
    and users by id."""

    outcomes: dict[int, Outcome]
    states: dict[int, State]
    options: dict[int, OutcomeOption]
    campaigns: dict[int, Campaign]
    segments: dict[int, Segment]
    users: dict[int, User]

    @cached_property
    def _by_model(self) -> dict[type[models.Model], dict[int, Any]]:
        return {
            Outcome: self.outcomes,
            State: self.states,
            OutcomeOption: self.options,
            Campaign: self.campaigns,
            Segment: self.segments,
            User: self.users,
        }

    def attach(self, row: models.Model, *fields: str) -> None:
        """Give the row the named related objects (``Event`` by default: all it names), so
        that reading them costs no query."""
        for name in fields or EVENT_NAMES:
            field = row._meta.get_field(name)
            assert isinstance(field, models.ForeignKey) and isinstance(field.related_model, type)
            pk = getattr(row, field.attname)
            found = self._by_model[field.related_model].get(pk) if pk is not None else None
            if found is not None:
                field.set_cached_value(row, found)


EVENT_NAMES = (
    "outcome",
    "option",
    "from_state",
    "to_state",
    "campaign",
    "segment",
    "actor_user",
    "counts_for_user",
)


def names(actor: object = None) -> Names:
    return cached("names", config_version(actor), _load_names)


def _load_names() -> Names:
    return Names(
        outcomes={o.pk: o for o in Outcome.objects.all()},
        states={s.pk: s for s in State.objects.all()},
        options={o.pk: o for o in OutcomeOption.objects.all()},
        campaigns={c.pk: c for c in Campaign.objects.select_related("crm__data_owner")},
        segments={s.pk: s for s in Segment.objects.all()},
        users={u.pk: u for u in User.objects.all()},
    )
