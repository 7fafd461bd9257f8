"""The activity report: outcomes, attempts, progressive outcomes and contacts per hour."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.reports.models import OutcomeDay, UserDay
from kundeflyt.reports.selectors.scope import (
    Chart,
    Column,
    Report,
    ReportFilter,
    Scope,
    Table,
    _sum,
    _Who,
    _who_columns,
    _who_rows,
    per_hour,
    percent,
    report_scope,
)

ACTIVITY = ("n", "progressive", "meetings", "hours")


def _activity_rows(scope: Scope, by: str) -> list[dict[str, Any]]:
    """Outcomes, progressive outcomes, meetings and active hours grouped ``by`` one key; groups
    whose events all stopped counting (rollup rows at 0) are left out."""
    if scope.fine:
        rows: QuerySet[Any, dict[str, Any]] = (
            OutcomeDay.objects.filter(scope.rollup_filter(fine=True))
            .values(by)
            .annotate(
                sum_n=Sum("n"),
                sum_progressive=Sum("n", filter=Q(outcome__to_state__isnull=False)),
                sum_meetings=Sum("meetings"),
            )
            .order_by()
        )
    else:
        rows = (
            UserDay.objects.filter(scope.rollup_filter(fine=False))
            .values(by)
            .annotate(
                sum_n=Sum("n"),
                sum_progressive=Sum("progressive"),
                sum_meetings=Sum("meetings"),
                sum_hours=Sum("hours"),
            )
            .order_by()
        )
    return [
        {by: r[by], **{name: int(r.get(f"sum_{name}") or 0) for name in ACTIVITY}}
        for r in rows
        if r["sum_n"]
    ]


def _activity_columns(scope: Scope) -> list[Column]:
    columns = [
        Column("outcomes", _("Outcomes"), "int"),
        Column("attempts", _("Attempts"), "int"),
        Column("progressive", _("Progressive"), "int"),
        Column("rate", _("Progression rate (%)"), "percent"),
    ]
    if not scope.fine:
        columns += [
            Column("hours", _("Active hours"), "int"),
            Column("per_hour", _("Contacts per hour"), "decimal"),
        ]
    return columns


def _activity_values(scope: Scope, v: dict[str, int]) -> list[Any]:
    values: list[Any] = [
        v["n"],
        v["n"] - v["progressive"],
        v["progressive"],
        percent(v["progressive"], v["n"]),
    ]
    if not scope.fine:
        values += [v["hours"], per_hour(v["n"], v["hours"])]
    return values


def activity_report(user: User, filters: ReportFilter) -> Report:
    """Outcomes per user (or team), campaign and day: attempts, progressive outcomes, the
    progression rate (progressive ÷ all) and contacts per active hour where the data allows."""
    scope = report_scope(user, filters)
    report = Report("activity", _("Activity"))
    by_user = {r["user_key"]: r for r in _activity_rows(scope, "user_key")}
    by_campaign = {r["campaign_id"]: r for r in _activity_rows(scope, "campaign_id")}
    by_day = {r["day"]: r for r in _activity_rows(scope, "day")}
    who = _Who.load(by_user, scope.individual)
    columns = _activity_columns(scope)
    total = _activity_values(scope, _sum(by_user.values(), ACTIVITY))
    who_columns = _who_columns(scope)
    report.tables.append(
        Table(
            "people",
            _("Activity per user") if scope.individual else _("Activity per team"),
            [*who_columns, *columns],
            [
                [*names, *_activity_values(scope, v)]
                for names, v in _who_rows(scope, by_user, who, ACTIVITY)
            ],
            [_("Total"), *[""] * (len(who_columns) - 1), *total],
            Chart("bar", who_columns[0].key, ("outcomes",)),
        )
    )
    report.tables.append(
        Table(
            "campaigns",
            _("Activity per campaign"),
            [Column("campaign", _("Campaign")), *columns],
            [
                [str(c), *_activity_values(scope, by_campaign[pk])]
                for pk, c in scope.campaigns.items()
                if pk in by_campaign
            ],
            [_("Total"), *total],
            Chart("bar", "campaign", ("outcomes",)),
        )
    )
    report.tables.append(
        Table(
            "days",
            _("Activity per day"),
            [Column("day", _("Day"), "date"), *columns],
            [[day, *_activity_values(scope, by_day[day])] for day in sorted(by_day)],
            [_("Total"), *total],
            Chart("line", "day", ("outcomes", "progressive")),
        )
    )
    if scope.fine:
        report.notes.append(
            _(
                "Active hours and contacts per hour are not counted per segment or outcome; "
                "clear those filters to see them."
            )
        )
    report.notes.append(
        _(
            "Contacts per hour: outcomes ÷ active hours, the hours in which the user registered "
            "at least one outcome in the campaign."
        )
    )
    return report
