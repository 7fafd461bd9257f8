"""The customer status report: where the customers stand now, from the placements."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.flows.models import State, StateKind
from kundeflyt.handling.models import Placement
from kundeflyt.reports.selectors.scope import (
    UNSEGMENTED,
    Chart,
    Column,
    Report,
    ReportFilter,
    Table,
    _group,
    _sum,
    report_scope,
)


def status_report(user: User, filters: ReportFilter) -> Report:
    """Customers per state and segment right now, with their follow-ups due; from the
    placements, not the events, so the period and the people filters do not apply."""
    scope = report_scope(user, filters)
    report = Report("status", _("Customer status"))
    now = timezone.now()
    placements = Placement.objects.filter(campaign_id__in=list(scope.campaigns))
    if filters.segment is not None:
        if filters.segment == UNSEGMENTED:
            placements = placements.filter(segment__isnull=True)
        else:
            placements = placements.filter(segment_id=filters.segment)
    rows = list(
        placements.values("campaign_id", "segment_id", "segment__name", "state_id")
        .annotate(
            customers=Count("pk"),
            due=Count("pk", filter=Q(follow_up_at__lte=now, is_final=False)),
            later=Count("pk", filter=Q(follow_up_at__gt=now, is_final=False)),
        )
        .order_by()
    )
    states = {
        s.pk: s
        for s in State.objects.filter(pk__in={r["state_id"] for r in rows}).select_related("flow")
    }
    kinds = dict(StateKind.choices)
    per_state = _group(rows, lambda r: r["state_id"], ["customers", "due", "later"])
    figures = [
        Column("customers", _("Customers"), "int"),
        Column("due", _("Follow-ups due"), "int"),
        Column("later", _("Follow-ups later"), "int"),
    ]
    total = _sum(per_state.values(), ["customers", "due", "later"])
    ordered = sorted(per_state, key=lambda pk: (states[pk].flow.name, states[pk].position, pk))
    report.tables.append(
        Table(
            "states",
            _("Customers per state"),
            [Column("state", _("State")), Column("kind", _("Kind")), *figures],
            [
                [
                    states[pk].name,
                    str(kinds.get(states[pk].kind, states[pk].kind)),
                    *per_state[pk].values(),
                ]
                for pk in ordered
            ],
            [_("Total"), "", *total.values()],
            Chart("bar", "state", ("customers",)),
        )
    )
    rows.sort(
        key=lambda r: (
            scope.campaigns[r["campaign_id"]].name,
            r["segment__name"] is None,
            r["segment__name"] or "",
            states[r["state_id"]].position,
        )
    )
    report.tables.append(
        Table(
            "segments",
            _("Customers per campaign, segment and state"),
            [
                Column("campaign", _("Campaign")),
                Column("segment", _("Segment")),
                Column("state", _("State")),
                *figures,
            ],
            [
                [
                    scope.campaigns[r["campaign_id"]].name,
                    r["segment__name"] or _("Unsegmented"),
                    states[r["state_id"]].name,
                    r["customers"],
                    r["due"],
                    r["later"],
                ]
                for r in rows
            ],
            [_("Total"), "", "", *total.values()],
        )
    )
    report.notes.append(
        _(
            "Customer status is how things stand now: the period, team, user and outcome "
            "filters do not apply."
        )
    )
    return report
