"""Report queries, always given the requesting user (DESIGN.md rules 6 and 9).

Every figure comes from the rollups in ``models.py``, which count exactly the events that are
included and not corrected, under their *counts for* user and *counts at* day. Only campaigns
the user may see are counted; without *individual results* nobody is named and people are
summed per team; without *revenue* no amount of money is shown. The number of queries of a
report does not grow with the events: each table is one ``GROUP BY`` over a rollup, and the
names in it are looked up once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import Team, User
from kundeflyt.accounts.permissions import Perm, has_perm
from kundeflyt.campaigns.models import Campaign, OutcomeOption, Product, Segment
from kundeflyt.campaigns.selectors import campaigns_visible_to
from kundeflyt.crm.models import DataOwner
from kundeflyt.flows.models import Outcome, State, StateKind
from kundeflyt.handling.models import Placement, ProductLine
from kundeflyt.reports.models import OutcomeDay, ProductDay, UserDay

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


# --- Activity ----------------------------------------------------------------------------------

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


# --- Outcomes ----------------------------------------------------------------------------------


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


# --- Products ----------------------------------------------------------------------------------

PRODUCTS = ("offered_lines", "offered_quantity", "sold_lines", "sold_quantity", "revenue_cents")


def _product_rows(scope: Scope, by: str) -> dict[Any, dict[str, int]]:
    sold = Q(status=ProductLine.Status.SOLD)
    offered = Q(status=ProductLine.Status.OFFERED)
    rows = (
        ProductDay.objects.filter(scope.rollup_filter(fine=False, products=True))
        .values(by)
        .annotate(
            offered_lines=Sum("lines", filter=offered),
            offered_quantity=Sum("quantity", filter=offered),
            sold_lines=Sum("lines", filter=sold),
            sold_quantity=Sum("quantity", filter=sold),
            revenue_cents=Sum("revenue_cents", filter=sold),
        )
        .order_by()
    )
    return {
        r[by]: {k: int(r[k] or 0) for k in PRODUCTS} for r in rows if any(r[k] for k in PRODUCTS)
    }


def products_report(user: User, filters: ReportFilter) -> Report:
    """Product lines offered and sold per product, user (or team) and campaign; the revenue of
    what was sold only for users with the *revenue* permission."""
    scope = report_scope(user, filters)
    report = Report("products", _("Products"))
    currencies = {c.currency for c in scope.campaigns.values()}
    one_currency = next(iter(currencies)) if len(currencies) == 1 else None
    figures = [
        Column("offered_lines", _("Offered (lines)"), "int"),
        Column("offered_quantity", _("Offered (quantity)"), "int"),
        Column("sold_lines", _("Sold (lines)"), "int"),
        Column("sold_quantity", _("Sold (quantity)"), "int"),
    ]
    if scope.revenue:
        figures.append(Column("revenue", _("Revenue"), "money"))

    def values(v: dict[str, int], currency: str | None) -> list[Any]:
        out: list[Any] = [v[k] for k in PRODUCTS[:4]]
        if scope.revenue:
            out.append(money(v["revenue_cents"]) if currency else None)
        return out

    def currency_column() -> list[Column]:
        return [Column("currency", _("Currency"))] if scope.revenue else []

    def currency_cell(currency: str | None) -> list[Any]:
        return [currency or ""] if scope.revenue else []

    by_product = _product_rows(scope, "product_id")
    products = {
        p.pk: p for p in Product.objects.filter(pk__in=list(by_product)).select_related("campaign")
    }
    total = _sum(by_product.values(), PRODUCTS)
    report.tables.append(
        Table(
            "products",
            _("Products"),
            [
                Column("product", _("Product")),
                Column("campaign", _("Campaign")),
                *figures,
                *currency_column(),
            ],
            [
                [
                    p.name,
                    p.campaign.name,
                    *values(by_product[p.pk], p.campaign.currency),
                    *currency_cell(p.campaign.currency),
                ]
                for p in sorted(products.values(), key=lambda p: (p.campaign.name, p.name, p.pk))
            ],
            [_("Total"), "", *values(total, one_currency), *currency_cell(one_currency)],
            Chart("bar", "product", ("sold_quantity",)),
        )
    )
    by_user = _product_rows(scope, "user_key")
    who = _Who.load(by_user, scope.individual)
    who_columns = _who_columns(scope)
    report.tables.append(
        Table(
            "people",
            _("Products per user") if scope.individual else _("Products per team"),
            [*who_columns, *figures, *currency_column()],
            [
                [*names, *values(v, one_currency), *currency_cell(one_currency)]
                for names, v in _who_rows(scope, by_user, who, PRODUCTS)
            ],
            [
                _("Total"),
                *[""] * (len(who_columns) - 1),
                *values(total, one_currency),
                *currency_cell(one_currency),
            ],
            Chart("bar", who_columns[0].key, ("sold_quantity",)),
        )
    )
    by_campaign = _product_rows(scope, "campaign_id")
    report.tables.append(
        Table(
            "campaigns",
            _("Products per campaign"),
            [Column("campaign", _("Campaign")), *figures, *currency_column()],
            [
                [c.name, *values(by_campaign[pk], c.currency), *currency_cell(c.currency)]
                for pk, c in scope.campaigns.items()
                if pk in by_campaign
            ],
            [_("Total"), *values(total, one_currency), *currency_cell(one_currency)],
        )
    )
    if scope.revenue and one_currency is None and len(currencies) > 1:
        report.notes.append(
            _("The campaigns have different currencies: revenue is summed per campaign only.")
        )
    return report


# --- Meetings ----------------------------------------------------------------------------------


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


# --- Customer status (now) -----------------------------------------------------------------------


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


REPORTS: dict[str, Callable[[User, ReportFilter], Report]] = {
    "activity": activity_report,
    "outcomes": outcomes_report,
    "products": products_report,
    "meetings": meetings_report,
    "status": status_report,
}


# --- Filter choices ------------------------------------------------------------------------------


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
