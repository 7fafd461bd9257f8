"""The export pages' filters, read from a query string (the page's, or the one an export
recorded for its background task), refused naming the parameter at fault."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import campaigns_visible_to, data_owners_visible_to
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.crm.models import CRM
from kundeflyt.exports.models import Export
from kundeflyt.exports.selectors import (
    REGISTERED,
    REPORTS,
    Listing,
    RegistrationFilter,
    campaign_customers_export,
    check_may_export_customers,
    crm_customers_export,
    registrations_export,
)
from kundeflyt.handling.selectors import CustomerFilter, PlacementFilter
from kundeflyt.handling.selectors.customers import CUSTOMER_FILTER_PARAMS
from kundeflyt.reports.forms import ReportFilterForm

# The parameters each kind reads: the campaign list's filters, and the report filters.
PARAMS = {
    # A data owner's customer page (crm and its filters), or a campaign list (its filters
    # add the follow-up, the responsible user and reachability).
    Export.Kind.CUSTOMERS: ("crm", *CUSTOMER_FILTER_PARAMS, "follow_up", "responsible", "reach"),
    Export.Kind.REGISTRATIONS: (
        "start",
        "end",
        "data_owner",
        "crm",
        "campaign",
        "segment",
        "team",
        "user",
        "outcome",
        "basis",
    ),
}
LONGEST_PARAM = 400


def export_query(kind: str, data: Mapping[str, Any]) -> str:
    """The filters of an export as a query string: only the parameters its kind reads."""
    kept = []
    for name in PARAMS[Export.Kind(kind)]:
        value = data.get(name)
        if value not in (None, ""):
            kept.append((name, str(value)[:LONGEST_PARAM]))
    return urlencode(kept)


class RegistrationExportForm(ReportFilterForm):
    """The report filters (only what the user may see is offered), and whether the period
    and user are those of the registration or those the reports count."""

    def __init__(self, user: User, data: Any) -> None:
        super().__init__(user, data)
        self.fields["basis"] = forms.ChoiceField(
            label=gettext_lazy("Period and user by"),
            choices=[
                (REGISTERED, gettext_lazy("When and by whom it was registered")),
                (REPORTS, gettext_lazy("As the reports count: counts at, counts for")),
            ],
            required=False,
        )

    def registration_filter(self) -> RegistrationFilter:
        return RegistrationFilter(
            self.report_filter(), self.cleaned_data.get("basis") or REGISTERED
        )


def registration_filter(user: User, data: Any) -> RegistrationFilter:
    form = RegistrationExportForm(user, data)
    if not form.is_valid():
        name, errors = next(iter(form.errors.items()))
        raise DomainError(" ".join(str(e) for e in errors), field=name)
    return form.registration_filter()


def customer_filter(user: User, data: Mapping[str, Any]) -> PlacementFilter:
    """The campaign list's filters, the campaign required and among those the user sees."""
    raw = str(data.get("campaign") or "")
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        raise DomainError(_("Choose a campaign from the list."), field="campaign")
    campaign = campaigns_visible_to(user).select_related("crm").filter(pk=int(raw)).first()
    if campaign is None:
        raise NotFound(_("Choose a campaign from the list."), field="campaign")
    return PlacementFilter.from_query(data, list(campaign.crm.fields.all()))


def crm_filter(user: User, data: Mapping[str, Any]) -> tuple[int, CustomerFilter]:
    """The data owner's customer page's filters, the CRM among those the user sees."""
    raw = str(data.get("crm") or "")
    crm = None
    if re.fullmatch(r"[0-9]{1,18}", raw):
        crm = CRM.objects.filter(data_owner__in=data_owners_visible_to(user), pk=int(raw)).first()
    if crm is None:
        raise NotFound(_("Choose a CRM from the list."), field="crm")
    return crm.pk, CustomerFilter.from_query(data, list(crm.fields.all()))


def export_listing(user: User, kind: str, data: Mapping[str, Any]) -> Listing:
    """What an export of ``kind`` with these filters holds, for ``user``."""
    if kind == Export.Kind.REGISTRATIONS:
        require(user, Perm.REPORTING)  # before the filters say what exists
        if not isinstance(data, QueryDict):
            data = QueryDict(urlencode(dict(data)))
        return registrations_export(user, registration_filter(user, data))
    check_may_export_customers(user)
    if data.get("crm"):
        crm_id, filters = crm_filter(user, data)
        return crm_customers_export(user, crm_id, filters)
    return campaign_customers_export(user, customer_filter(user, data))
