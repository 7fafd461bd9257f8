"""What the report filters offer a user: only what the user may see."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import Team, User
from kundeflyt.accounts.permissions import Perm, has_perm
from kundeflyt.accounts.visibility import campaigns_visible_to
from kundeflyt.campaigns.models import Segment
from kundeflyt.crm.models import DataOwner
from kundeflyt.flows.models import Outcome
from kundeflyt.reports.selectors.scope import UNSEGMENTED


@dataclass
class FilterChoices:
    data_owners: list[tuple[int, str]]
    crms: list[tuple[int, str]]
    campaigns: list[tuple[int, str]]
    segments: list[tuple[int, str]]
    teams: list[tuple[int, str]]
    users: list[tuple[int, str]]
    outcomes: list[tuple[int, str]]


def filter_choices(user: User) -> FilterChoices:
    """What the filters offer: only what the user may see (users only with individual
    results)."""
    campaigns = list(
        campaigns_visible_to(user).select_related("crm__data_owner").order_by("name", "pk")
    )
    owners = {c.crm.data_owner.pk: c.crm.data_owner.name for c in campaigns}
    crms = {c.crm.pk: f"{c.crm.data_owner.name} · {c.crm.name}" for c in campaigns}
    ids = [c.pk for c in campaigns]
    names = {c.pk: c.name for c in campaigns}
    segments = [(UNSEGMENTED, _("Unsegmented"))] + [
        (pk, f"{names[campaign]} · {name}")
        for pk, campaign, name in Segment.objects.filter(campaign__in=ids)
        .order_by("campaign__name", "priority", "pk")
        .values_list("pk", "campaign", "name")
    ]
    flows = {c.flow_id for c in campaigns}
    outcomes = [
        (o.pk, o.name if len(flows) < 2 else f"{o.name} ({o.flow.name})")
        for o in Outcome.objects.filter(flow__in=flows).select_related("flow")
    ]
    users: list[tuple[int, str]] = []
    if has_perm(user, Perm.INDIVIDUAL_RESULTS):
        owner_ids = list(owners)
        direct = DataOwner.users.through.objects.filter(dataowner_id__in=owner_ids)
        by_team = DataOwner.teams.through.objects.filter(dataowner_id__in=owner_ids)
        granted = User.objects.filter(
            Q(pk__in=direct.values("user_id")) | Q(team__in=by_team.values("team_id"))
        ).select_related(None)
        users = [(u.pk, str(u)) for u in granted]
        users.sort(key=lambda u: u[1].lower())
    return FilterChoices(
        data_owners=sorted(owners.items(), key=lambda i: i[1].lower()),
        crms=sorted(crms.items(), key=lambda i: i[1].lower()),
        campaigns=[(c.pk, c.name) for c in campaigns],
        segments=segments,
        teams=list(Team.objects.order_by("name").values_list("pk", "name")),
        users=users,
        outcomes=outcomes,
    )
