"""The meetings report: meetings booked per user (or team), campaign and day."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.reports.models import OutcomeDay, UserDay
from kundeflyt.reports.selectors.scope import (
    Chart,
    Column,
    Report,
    ReportFilter,
    Table,
    _sum,
    _Who,
    _who_columns,
    _who_rows,
    report_scope,
)


def meetings_report(user: User, filters: ReportFilter) -> Report:
    """Meetings booked by registrations that count, per user (or team), campaign and day."""
    scope = report_scope(user, filters)
    report = Report("meetings", _("Meetings booked"))
    model = OutcomeDay if scope.fine else UserDay

    def rows(by: str) -> dict[Any, dict[str, int]]:
        found = (
            model.objects.filter(scope.rollup_filter(fine=scope.fine))
            .values(by)
            .annotate(sum_meetings=Sum("meetings"))
            .order_by()
        )
        return {r[by]: {"meetings": int(r["sum_meetings"])} for r in found if r["sum_meetings"]}

    by_user, by_campaign, by_day = rows("user_key"), rows("campaign_id"), rows("day")
    who = _Who.load(by_user, scope.individual)
    total = _sum(by_user.values(), ["meetings"])["meetings"]
    who_columns = _who_columns(scope)
    meetings = Column("meetings", _("Meetings booked"), "int")
    report.tables.append(
        Table(
            "people",
            _("Meetings per user") if scope.individual else _("Meetings per team"),
            [*who_columns, meetings],
            [[*names, v["meetings"]] for names, v in _who_rows(scope, by_user, who, ["meetings"])],
            [_("Total"), *[""] * (len(who_columns) - 1), total],
            Chart("bar", who_columns[0].key, ("meetings",)),
        )
    )
    report.tables.append(
        Table(
            "campaigns",
            _("Meetings per campaign"),
            [Column("campaign", _("Campaign")), meetings],
            [
                [c.name, by_campaign[pk]["meetings"]]
                for pk, c in scope.campaigns.items()
                if pk in by_campaign
            ],
            [_("Total"), total],
        )
    )
    report.tables.append(
        Table(
            "days",
            _("Meetings per day"),
            [Column("day", _("Day"), "date"), meetings],
            [[day, by_day[day]["meetings"]] for day in sorted(by_day)],
            [_("Total"), total],
            Chart("line", "day", ("meetings",)),
        )
    )
    report.notes.append(
        _("A meeting counts on the day its registration counts, also if it was later deleted.")
    )
    return report
