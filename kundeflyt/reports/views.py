"""The report pages and their exports. Views parse the filters, call a selector and render;
the selectors decide what the user may count and see."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.views.decorators.http import require_GET

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.common.errors import NotAllowed
from kundeflyt.reports.exports import table_csv, table_xlsx
from kundeflyt.reports.forms import ReportFilterForm, quick_periods
from kundeflyt.reports.selectors import REPORTS, Report

TABS = [
    ("activity", gettext_lazy("Activity")),
    ("outcomes", gettext_lazy("Outcomes")),
    ("products", gettext_lazy("Products")),
    ("meetings", gettext_lazy("Meetings booked")),
    ("status", gettext_lazy("Customer status")),
    ("calls", gettext_lazy("Calls")),
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _reporter(request: HttpRequest) -> User:
    """The requesting user, who must hold *reporting* (403 otherwise)."""
    user = request.user
    assert isinstance(user, User)
    try:
        require(user, Perm.REPORTING)
    except NotAllowed as error:
        raise PermissionDenied(error.message) from None
    return user


def _report(request: HttpRequest, key: str) -> tuple[ReportFilterForm, Report | None]:
    if key not in REPORTS:
        raise Http404
    user = _reporter(request)
    form = ReportFilterForm(user, request.GET)
    if not form.is_valid():
        return form, None
    return form, REPORTS[key](user, form.report_filter())


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponseBase:
    _reporter(request)
    url = reverse("reports:report", args=["activity"])
    return redirect(f"{url}?{request.GET.urlencode()}" if request.GET else url)


@login_required
@require_GET
def report(request: HttpRequest, report: str) -> HttpResponse:
    form, found = _report(request, report)
    query = request.GET.copy()
    periods = []
    for label, first, last in quick_periods(timezone.localdate()):
        query["start"], query["end"] = first.isoformat(), last.isoformat()
        periods.append(
            (
                label,
                query.urlencode(),
                form.data.get("start") == query["start"] and form.data.get("end") == query["end"],
            )
        )
    return render(
        request,
        "reports/report.html",
        {
            "nav": "reports",
            "tabs": TABS,
            "current": report,
            "form": form,
            "report": found,
            "query": request.GET.urlencode(),
            "periods": periods,
        },
        status=200 if found is not None else 400,
    )


@login_required
@require_GET
def export(request: HttpRequest, report: str, table: str, fmt: str) -> HttpResponse:
    """One table of a report as CSV or XLSX, for the same filters as the page."""
    if fmt not in {"csv", "xlsx"}:
        raise Http404
    form, found = _report(request, report)
    if found is None:
        return HttpResponse(
            "\n".join(
                f"{name}: {' '.join(map(str, errors))}" for name, errors in form.errors.items()
            ),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    chosen = next((t for t in found.tables if t.key == table), None)
    if chosen is None:
        raise Http404
    period = form.report_filter()
    name = f"kundeflyt-{report}-{table}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(
            table_csv(chosen, language=get_language()), content_type="text/csv; charset=utf-8"
        )
    else:
        response = HttpResponse(table_xlsx(chosen), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
