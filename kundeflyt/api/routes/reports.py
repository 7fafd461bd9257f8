"""The reports as JSON: the same selectors, filters and numbers as the report pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.functional import Promise
from ninja import Query, Router, Schema
from pydantic import BaseModel, Field

from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.api.auth import user_of
from kundeflyt.api.problems import REFUSALS
from kundeflyt.api.schemas import Id
from kundeflyt.common.errors import DomainError
from kundeflyt.reports.forms import ReportFilterForm
from kundeflyt.reports.selectors import REPORTS, Report

router = Router(tags=["reports"])

ReportKey = Literal["activity", "outcomes", "products", "meetings", "status", "calls"]
assert set(ReportKey.__args__) == set(REPORTS)  # type: ignore[attr-defined]


class ReportQuery(Schema):
    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")
    data_owner: Id | None = None
    crm: Id | None = None
    campaign: Id | None = None
    segment: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None  # 0: in no segment
    team: Id | None = None
    user: Id | None = None
    outcome: Id | None = None


class ColumnOut(BaseModel):
    key: str
    label: str
    kind: str  # text, int, percent, decimal, money, date


class TableOut(BaseModel):
    key: str
    title: str
    columns: list[ColumnOut]
    rows: list[list[Any]]  # one value per column, in the columns' order
    total: list[Any] | None
    note: str


class ReportOut(BaseModel):
    key: str
    title: str
    date_from: dt.date
    date_to: dt.date
    tables: list[TableOut]
    notes: list[str]


def _cell(value: Any) -> Any:
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)  # exact, as the page shows it
    return value


def _report_out(report: Report, first: dt.date, last: dt.date) -> ReportOut:
    return ReportOut(
        key=report.key,
        title=str(report.title),
        date_from=first,
        date_to=last,
        tables=[
            TableOut(
                key=t.key,
                title=str(t.title),
                columns=[ColumnOut(key=c.key, label=str(c.label), kind=c.kind) for c in t.columns],
                rows=[[_cell(v) for v in row] for row in t.rows],
                total=[_cell(v) for v in t.total] if t.total is not None else None,
                note=str(t.note),
            )
            for t in report.tables
        ],
        notes=[str(n) for n in report.notes],
    )


@router.get(
    "/reports/{report}",
    response={200: ReportOut, **REFUSALS},
    summary="A report, as JSON",
)
def report_get(request: HttpRequest, report: ReportKey, query: Query[ReportQuery]) -> HttpResponse:
    """The report the report pages show (`activity`, `outcomes`, `products`, `meetings`,
    `status`) for the days `from` to `to` (at most three years), with their filters, as
    tables of columns and rows: the same numbers as the page. Amounts are strings (exact
    decimals); people are named with *individual results*, money shown with *revenue*.
    Needs *reporting*.

    ```
    curl -H "Authorization: Bearer $TOKEN" \\
      "https://kundeflyt.example/api/v1/reports/activity?from=2026-11-01&to=2026-11-30"
    ```
    """
    user = user_of(request)
    require(user, Perm.REPORTING)
    data = {
        "start": query.date_from.isoformat(),
        "end": query.date_to.isoformat(),
        **{
            name: str(value)
            for name, value in query.model_dump(exclude={"date_from", "date_to"}).items()
            if value is not None
        },
    }
    form = ReportFilterForm(user, data)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        name = {"start": "from", "end": "to"}.get(field, field)
        raise DomainError(str(errors[0]), field=name)
    found = REPORTS[report](user, form.report_filter())
    out = _report_out(found, query.date_from, query.date_to)
    return HttpResponse(out.model_dump_json(), content_type="application/json")
