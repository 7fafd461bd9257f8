"""What a customer's history names, across every campaign and flow, by id, read once per
process and configuration version (``kundeflyt.common.configuration``): the history query
then joins nothing (its nine joins took longer to plan than to run). The objects are shared:
read them, never change them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from kundeflyt.accounts.models import User
from kundeflyt.campaigns.models import Campaign, OutcomeOption, Segment
from kundeflyt.common.configuration import cached, config_version
from kundeflyt.flows.models import Outcome, State
from kundeflyt.handling.models import Event


@dataclass(frozen=True)
class Names:
    """Outcomes, states, options, campaigns, segments and users by id."""

    outcomes: dict[int, Outcome]
    states: dict[int, State]
    options: dict[int, OutcomeOption]
    campaigns: dict[int, Campaign]
    segments: dict[int, Segment]
    users: dict[int, User]

    def attach(self, event: Event) -> None:
        """Give the event its outcome, option, states, campaign, segment and users."""
        for name, found in (
            ("outcome", self.outcomes),
            ("option", self.options),
            ("from_state", self.states),
            ("to_state", self.states),
            ("campaign", self.campaigns),
            ("segment", self.segments),
            ("actor_user", self.users),
            ("counts_for_user", self.users),
        ):
            pk = getattr(event, f"{name}_id")
            if pk is not None and pk in found:
                _EVENT_FIELDS[name].set_cached_value(event, found[pk])


_EVENT_FIELDS = {f.name: f for f in Event._meta.concrete_fields if isinstance(f, models.ForeignKey)}


def names(actor: object = None) -> Names:
    return cached("names", config_version(actor), _load_names)


def _load_names() -> Names:
    return Names(
        outcomes={o.pk: o for o in Outcome.objects.all()},
        states={s.pk: s for s in State.objects.all()},
        options={o.pk: o for o in OutcomeOption.objects.all()},
        campaigns={c.pk: c for c in Campaign.objects.all()},
        segments={s.pk: s for s in Segment.objects.all()},
        users={u.pk: u for u in User.objects.all()},
    )
