"""What every report shares: the filters, the shape of a report (tables, columns, charts), the
scope a user may count, and the helpers that turn rollup sums into figures and names."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, has_perm
from kundeflyt.accounts.visibility import campaigns_visible_to
from kundeflyt.campaigns.models import Campaign

UNSEGMENTED = 0  # the segment filter's value for customers in no segment


@dataclass(frozen=True)
class ReportFilter:
    """A period (first and last day, both included) and the filters of the report pages."""

    first: dt.date
    last: dt.date
    data_owner: int | None = None
    crm: int | None = None
    campaign: int | None = None
    segment: int | None = None  # UNSEGMENTED for customers in no segment
    team: int | None = None
    user: int | None = None
    outcome: int | None = None


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text, int, percent, decimal, money, date

    @property
    def numeric(self) -> bool:
        return self.kind != "text" and self.kind != "date"


@dataclass(frozen=True)
class Chart:
    """How a table reads as a picture: ``bar`` (one value per row) or ``line`` (rows are days,
    one line per value column)."""

    kind: str
    label: str  # the column that names a row
    values: tuple[str, ...]


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    total: list[Any] | None = None
    chart: Chart | None = None
    note: str = ""

    def column(self, key: str) -> int:
        return [c.key for c in self.columns].index(key)


@dataclass
class Report:
    key: str
    title: str
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


# --- Scope: what the user may count, narrowed by the filters ---------------------------------


@dataclass
class Scope:
    user: User
    filters: ReportFilter
    campaigns: dict[int, Campaign]
    user_keys: list[int] | None  # None: everyone
    individual: bool
    revenue: bool

    @property
    def fine(self) -> bool:
        """Segment and outcome filters need the fine rollup (no active hours there)."""
        return self.filters.segment is not None or self.filters.outcome is not None

    def rollup_filter(self, *, fine: bool, products: bool = False) -> Q:
        f = self.filters
        q = Q(campaign_id__in=list(self.campaigns), day__gte=f.first, day__lte=f.last)
        if self.user_keys is not None:
            q &= Q(user_key__in=self.user_keys)
        if fine or products:
            if f.segment is not None:
                q &= Q(segment_key=f.segment)
            if f.outcome is not None:
                q &= Q(outcome_id=f.outcome)
        return q


def report_scope(user: User, filters: ReportFilter) -> Scope:
    """The campaigns counted for ``user`` under ``filters``: only those the user may see."""
    campaigns = campaigns_visible_to(user).select_related("crm")
    if filters.data_owner is not None:
        campaigns = campaigns.filter(crm__data_owner=filters.data_owner)
    if filters.crm is not None:
        campaigns = campaigns.filter(crm=filters.crm)
    if filters.campaign is not None:
        campaigns = campaigns.filter(pk=filters.campaign)
    individual = has_perm(user, Perm.INDIVIDUAL_RESULTS)
    user_keys: list[int] | None = None
    if filters.team is not None:
        user_keys = list(User.objects.filter(team=filters.team).values_list("pk", flat=True))
    if filters.user is not None and individual:
        in_team = user_keys is None or filters.user in user_keys
        user_keys = [filters.user] if in_team else []
    return Scope(
        user=user,
        filters=filters,
        campaigns={c.pk: c for c in campaigns.order_by("name", "pk")},
        user_keys=user_keys,
        individual=individual,
        revenue=has_perm(user, Perm.REVENUE),
    )


# --- Figures ---------------------------------------------------------------------------------


def percent(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in per cent with one decimal, None when there is no whole."""
    if not whole:
        return None
    return (Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def per_hour(count: int, hours: int) -> Decimal | None:
    if not hours:
        return None
    return (Decimal(count) / Decimal(hours)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


@dataclass
class _Who:
    """Names for the user keys of a rollup: people, or their teams without individual results."""

    users: dict[int, User]
    individual: bool

    @classmethod
    def load(cls, keys: Iterable[int], individual: bool) -> _Who:
        found = User.objects.filter(pk__in={k for k in keys if k}).select_related("team")
        return cls({u.pk: u for u in found}, individual)

    def team_name(self, key: int) -> str:
        user = self.users.get(key)
        if user is None:
            return _("No user (process)")
        return user.team.name if user.team else _("No team")

    def name(self, key: int) -> str:
        if not self.individual:
            return self.team_name(key)
        user = self.users.get(key)
        return str(user) if user else _("No user (process)")


def _group(
    rows: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], Any], fields: Iterable[str]
) -> dict[Any, dict[str, int]]:
    """Sum ``fields`` of aggregated rows under ``key`` (users into teams, options into outcomes)."""
    names = list(fields)
    grouped: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(names, 0))
    for row in rows:
        target = grouped[key(row)]
        for name in names:
            target[name] += int(row[name] or 0)
    return grouped


def _sum(rows: Iterable[dict[str, int]], fields: Iterable[str]) -> dict[str, int]:
    names = list(fields)
    total = dict.fromkeys(names, 0)
    for row in rows:
        for name in names:
            total[name] += int(row[name] or 0)
    return total


def _who_columns(scope: Scope) -> list[Column]:
    if scope.individual:
        return [Column("user", _("User")), Column("team", _("Team"))]
    return [Column("team", _("Team"))]


def _who_rows(
    scope: Scope, by_user: dict[int, dict[str, Any]], who: _Who, fields: Iterable[str]
) -> list[tuple[list[str], dict[str, int]]]:
    """Per user (with their team) when the user may see individual results, else per team."""
    names = list(fields)
    if scope.individual:
        named = [
            ([who.name(k), who.team_name(k)], {f: int(v[f] or 0) for f in names})
            for k, v in by_user.items()
        ]
        return sorted(named, key=lambda item: [x.lower() for x in item[0]])
    teams = _group(
        ({"team": who.team_name(k), **v} for k, v in by_user.items()), lambda r: r["team"], names
    )
    grouped = [([str(name)], v) for name, v in teams.items()]
    return sorted(grouped, key=lambda i: i[0][0].lower())
