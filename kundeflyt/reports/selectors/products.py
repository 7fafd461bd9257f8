"""The products report: product lines offered and sold, and the revenue of what was sold."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.campaigns.models import Product
from kundeflyt.handling.models import ProductLine
from kundeflyt.reports.models import ProductDay
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
    money,
    report_scope,
)

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
