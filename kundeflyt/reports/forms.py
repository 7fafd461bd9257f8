"""The period and filters of the report pages, read from the query string."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kundeflyt.accounts.models import User
from kundeflyt.reports.selectors import FilterChoices, ReportFilter, filter_choices

LONGEST_PERIOD_DAYS = 3 * 366 + 1  # a per-day table stays readable and its chart drawable


def this_month(today: dt.date) -> tuple[dt.date, dt.date]:
    return today.replace(day=1), today


def quick_periods(today: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """The period links above the filters."""
    week_start = today - dt.timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    last_month_end = month_start - dt.timedelta(days=1)
    return [
        (_("Today"), today, today),
        (_("This week"), week_start, today),
        (_("This month"), month_start, today),
        (_("Last month"), last_month_end.replace(day=1), last_month_end),
        (_("Last 90 days"), today - dt.timedelta(days=89), today),
        (_("This year"), today.replace(month=1, day=1), today),
    ]


def _choice(label: Any, choices: list[tuple[int, str]]) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=[("", _("All")), *choices],
        coerce=int,
        empty_value=None,
        required=False,
    )


class ReportFilterForm(forms.Form):
    """Only what the user may see is offered; anything else is refused with the field named."""

    start = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, user: User, data: Any, choices: FilterChoices | None = None) -> None:
        today = timezone.localdate()
        first, last = this_month(today)
        data = data.copy()
        data.setdefault("start", first.isoformat())
        data.setdefault("end", last.isoformat())
        super().__init__(data)
        self.choices = choices or filter_choices(user)
        c = self.choices
        self.fields["data_owner"] = _choice(_("Data owner"), c.data_owners)
        self.fields["crm"] = _choice(_("CRM"), c.crms)
        self.fields["campaign"] = _choice(_("Campaign"), c.campaigns)
        self.fields["segment"] = _choice(_("Segment"), c.segments)
        self.fields["team"] = _choice(_("Team"), c.teams)
        if c.users:
            self.fields["user"] = _choice(_("User"), c.users)
        self.fields["outcome"] = _choice(_("Outcome"), c.outcomes)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The period ends before it starts."))
            elif (end - start).days >= LONGEST_PERIOD_DAYS:
                self.add_error("end", _("Choose a period of at most three years."))
        return data

    def report_filter(self) -> ReportFilter:
        data = self.cleaned_data
        return ReportFilter(
            first=data["start"],
            last=data["end"],
            data_owner=data.get("data_owner"),
            crm=data.get("crm"),
            campaign=data.get("campaign"),
            segment=data.get("segment"),
            team=data.get("team"),
            user=data.get("user"),
            outcome=data.get("outcome"),
        )

    def active(self) -> bool:
        """Whether any filter beyond the period is set."""
        return any(
            self.cleaned_data.get(name) is not None
            for name in self.fields
            if name not in {"start", "end"}
        )
