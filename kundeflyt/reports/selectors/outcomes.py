"""The outcomes report: counts per outcome and per outcome option, with their shares."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.campaigns.models import OutcomeOption
from kundeflyt.flows.models import Outcome
from kundeflyt.reports.models import OutcomeDay
from kundeflyt.reports.selectors.scope import (
    Chart,
    Column,
    Report,
    ReportFilter,
    Table,
    _group,
    percent,
    report_scope,
)


def outcomes_report(user: User, filters: ReportFilter) -> Report:
    """Counts per outcome and per outcome option, with each one's share."""
    scope = report_scope(user, filters)
    report = Report("outcomes", _("Outcomes"))
    rows = list(
        OutcomeDay.objects.filter(scope.rollup_filter(fine=True))
        .values("outcome_id", "option_key")
        .annotate(sum_n=Sum("n"))
        .order_by()
    )
    rows = [{**r, "n": r["sum_n"]} for r in rows if r["sum_n"]]
    outcomes = {
        o.pk: o
        for o in Outcome.objects.filter(pk__in={r["outcome_id"] for r in rows}).select_related(
            "flow"
        )
    }
    options = {o.pk: o for o in OutcomeOption.objects.filter(campaign__in=list(scope.campaigns))}
    per_outcome = _group(rows, lambda r: r["outcome_id"], ["n"])
    total = sum(v["n"] for v in per_outcome.values())

    def order(pk: int) -> tuple[Any, ...]:
        o = outcomes[pk]
        return (o.flow.name, o.position, o.pk)

    def kind(pk: int) -> str:
        return _("Progressive") if outcomes[pk].is_progressive else _("Attempt")

    report.tables.append(
        Table(
            "outcomes",
            _("Outcomes"),
            [
                Column("outcome", _("Outcome")),
                Column("kind", _("Kind")),
                Column("count", _("Count"), "int"),
                Column("share", _("Share (%)"), "percent"),
            ],
            [
                [outcomes[pk].name, kind(pk), v["n"], percent(v["n"], total)]
                for pk, v in sorted(per_outcome.items(), key=lambda i: order(i[0]))
                if v["n"]
            ],
            [_("Total"), "", total, percent(total, total)],
            Chart("bar", "outcome", ("count",)),
        )
    )
    option_rows = [r for r in rows if r["n"] and r["option_key"] and r["option_key"] in options]
    option_rows.sort(key=lambda r: (*order(r["outcome_id"]), options[r["option_key"]].position))
    report.tables.append(
        Table(
            "options",
            _("Outcome options"),
            [
                Column("outcome", _("Outcome")),
                Column("option", _("Option")),
                Column("count", _("Count"), "int"),
                Column("share", _("Share of the outcome (%)"), "percent"),
            ],
            [
                [
                    outcomes[r["outcome_id"]].name,
                    options[r["option_key"]].label,
                    r["n"],
                    percent(r["n"], per_outcome[r["outcome_id"]]["n"]),
                ]
                for r in option_rows
            ],
            chart=Chart("bar", "option", ("count",)),
        )
    )
    return report
