"""The calls report: calls made through Kundeflyt (S7), answered, talk time and average
handle time, per user (or team), campaign and day."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Sum
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.reports.models import CallDay
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
    percent,
    report_scope,
)

FIELDS = ("calls", "answered", "talk_seconds")


def minutes(seconds: int, per: int = 1) -> Decimal | None:
    """``seconds`` (divided by ``per``) in minutes with one decimal; None for nothing."""
    if not per:
        return None
    return (Decimal(seconds) / Decimal(60 * per)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def calls_report(user: User, filters: ReportFilter) -> Report:
    """Calls that ended, in the campaigns the user may see, on the day each started."""
    scope = report_scope(user, filters)
    report = Report("calls", _("Calls"))
    q = scope.rollup_filter(fine=False)

    def rows(by: str) -> dict[Any, dict[str, int]]:
        found = (
            CallDay.objects.filter(q)
            .values(by)
            .annotate(**{f"sum_{f}": Sum(f) for f in FIELDS})
            .order_by()
        )
        return {r[by]: {f: int(r[f"sum_{f}"] or 0) for f in FIELDS} for r in found}

    def figures(v: dict[str, int]) -> list[Any]:
        return [
            v["calls"],
            v["answered"],
            percent(v["answered"], v["calls"]),
            minutes(v["talk_seconds"]),
            minutes(v["talk_seconds"], v["answered"]),
        ]

    columns = [
        Column("calls", _("Calls"), "int"),
        Column("answered", _("Answered"), "int"),
        Column("answer_rate", _("Answered (%)"), "percent"),
        Column("talk_minutes", _("Talk time (minutes)"), "decimal"),
        Column("handle_minutes", _("Average handle time (minutes)"), "decimal"),
    ]
    by_user, by_campaign, by_day = rows("user_key"), rows("campaign_id"), rows("day")
    who = _Who.load(by_user, scope.individual)
    total = _sum(by_user.values(), FIELDS)
    who_columns = _who_columns(scope)
    report.tables.append(
        Table(
            "people",
            _("Calls per user") if scope.individual else _("Calls per team"),
            [*who_columns, *columns],
            [[*names, *figures(v)] for names, v in _who_rows(scope, by_user, who, FIELDS)],
            [_("Total"), *[""] * (len(who_columns) - 1), *figures(total)],
            Chart("bar", who_columns[0].key, ("calls", "answered")),
        )
    )
    report.tables.append(
        Table(
            "campaigns",
            _("Calls per campaign"),
            [Column("campaign", _("Campaign")), *columns],
            [
                [c.name, *figures(by_campaign[pk])]
                for pk, c in scope.campaigns.items()
                if pk in by_campaign
            ],
            [_("Total"), *figures(total)],
        )
    )
    report.tables.append(
        Table(
            "days",
            _("Calls per day"),
            [Column("day", _("Day"), "date"), *columns],
            [[day, *figures(by_day[day])] for day in sorted(by_day)],
            [_("Total"), *figures(total)],
            Chart("line", "day", ("calls", "answered")),
        )
    )
    report.notes.append(
        _(
            "Calls made with Call on the customer card, counted when they end, on the day they "
            "started. Handle time is the talk time of the answered calls; the time spent "
            "writing the registration after a call is not counted."
        )
    )
    return report
