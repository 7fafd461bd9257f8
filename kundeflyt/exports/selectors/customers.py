"""The customer export: the customers of a campaign list, or of a data owner's CRM as its
customer page selects them, a row each, with every information field of the CRM and where
they stand in their campaign.

Phones are written as the customer card shows them: national format for Norwegian numbers,
international for the rest. That is what a reader dials and what the import reads back, and
a national number never starts with ``+``, so no CSV cell of a Norwegian list needs the quote
that keeps a formula from running.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, has_perm, require
from kundeflyt.accounts.visibility import campaigns_visible_to, data_owners_visible_to
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.errors import NotAllowed, NotFound
from kundeflyt.common.phones import display_phone
from kundeflyt.crm.models import CRM, Customer
from kundeflyt.exports.selectors.common import (
    CHUNK,
    Listing,
    People,
    Rows,
    batched,
    field_cell,
    local,
    unique_labels,
)
from kundeflyt.flows.models import State
from kundeflyt.handling.selectors import (
    CustomerFilter,
    PlacementFilter,
    customers_filtered,
    placements_filtered,
)
from kundeflyt.reports.exports import Sheet
from kundeflyt.reports.selectors import Column

CUSTOMER_VALUES = (
    "customer_id",
    "name",
    "phone1",
    "phone2",
    "phone3",
    "email",
    "fields",
    "placement__campaign_id",
    "placement__segment_id",
    "placement__state_id",
    "placement__state_since",
    "placement__follow_up_at",
    "placement__follow_up_user_id",
    "placement__attempts",
    "placement__last_attempt_at",
    "is_blocked",
    "created_at",
    "source",
)


def may_export_customers(actor: User) -> bool:
    return has_perm(actor, Perm.CUSTOMER_HANDLING) and (
        has_perm(actor, Perm.EXTENDED_CUSTOMER_HANDLING) or has_perm(actor, Perm.REPORTING)
    )


def check_may_export_customers(actor: User) -> None:
    """A customer list carries the personal data of many people at once: besides *customer
    handling* (the lists it comes from), it takes *extended customer handling* (who moves and
    gives out customers) or *reporting* (who hands results to the client)."""
    require(actor, Perm.CUSTOMER_HANDLING)
    if not (has_perm(actor, Perm.EXTENDED_CUSTOMER_HANDLING) or has_perm(actor, Perm.REPORTING)):
        raise NotAllowed(
            _(
                "Exporting customers needs the permission “extended customer handling” or "
                "“reporting”."
            )
        )


def campaign_customers_export(actor: User, filters: PlacementFilter) -> Listing:
    """The customers of a campaign list (``filters.campaign`` is required) among those the
    actor sees, with the list's filters."""
    check_may_export_customers(actor)
    campaign = (
        campaigns_visible_to(actor).select_related("crm").filter(pk=filters.campaign).first()
        if filters.campaign is not None
        else None
    )
    if campaign is None:
        raise NotFound(_("Choose a campaign from the list."), field="campaign")
    filters = dataclasses.replace(filters, campaign=campaign.pk)
    placements = placements_filtered(actor, filters)
    customers = Customer.objects.filter(pk__in=placements.values("customer_id"))
    description = str(campaign)
    if isinstance(filters.segment, int):
        segment = campaign.segments.filter(pk=filters.segment).first()
        description += f" · {segment}" if segment else ""
    return customers_listing(
        crm=campaign.crm,
        customers=customers,
        description=description,
        file_stem=f"kundeflyt-customers-{timezone.localdate():%Y%m%d}",
    )


def crm_customers_export(actor: User, crm_id: int, filters: CustomerFilter) -> Listing:
    """The customers of a data owner's CRM as its customer page selects them (in campaigns
    the actor sees, and in none), with that page's filters."""
    check_may_export_customers(actor)
    crm = (
        CRM.objects.filter(data_owner__in=data_owners_visible_to(actor))
        .select_related("data_owner")
        .filter(pk=crm_id)
        .first()
    )
    if crm is None:
        raise NotFound(_("Choose a CRM from the list."), field="crm")
    return customers_listing(
        crm=crm,
        customers=customers_filtered(actor, crm, filters),
        description=str(crm),
        file_stem=f"kundeflyt-customers-{timezone.localdate():%Y%m%d}",
    )


def customers_listing(
    *, crm: CRM, customers: QuerySet[Customer], description: str, file_stem: str
) -> Listing:
    """Rows of ``customers`` (already limited to what the reader sees) of one CRM."""
    definitions = list(crm.fields.order_by("position", "pk"))
    labels = unique_labels(
        [
            _("Customer id"),
            _("Name"),
            _("Phone"),
            _("Phone 2"),
            _("Phone 3"),
            _("E-mail"),
            *[d.label for d in definitions],
            _("Campaign"),
            _("Segment"),
            _("State"),
            _("In this state since"),
            _("Follow-up"),
            _("Follow-up responsible"),
            _("Attempts"),
            _("Last attempt"),
            _("Blocked"),
            _("In the system since"),
            _("Source"),
        ]
    )
    kinds = ["text"] * 6 + [_field_kind(d.type) for d in definitions]
    kinds += ["text", "text", "text", "datetime", "datetime", "text", "int", "datetime"]
    kinds += ["text", "datetime", "text"]
    columns = [
        Column(f"c{n}", label, kind)
        for n, (label, kind) in enumerate(zip(labels, kinds, strict=True))
    ]
    count = customers.count()

    def rows(all_sheets: bool) -> Rows:
        campaigns = dict(Campaign.objects.filter(crm=crm).values_list("pk", "name"))
        segments = dict(Segment.objects.filter(campaign__crm=crm).values_list("pk", "name"))
        flows = Campaign.objects.filter(crm=crm).values("flow_id")
        states = dict(State.objects.filter(flow__in=flows).values_list("pk", "name"))
        sources = dict(Customer.Source.choices)
        people = People(individual=True)  # the campaign list names responsible users to all
        shared = _("Shared")
        yes, no = _("Yes"), _("No")
        found = customers.order_by("name", "pk").values_list(*CUSTOMER_VALUES)
        for chunk in batched(found.iterator(chunk_size=CHUNK), CHUNK):
            people.load(r[12] for r in chunk)
            for (
                customer_id,
                name,
                phone1,
                phone2,
                phone3,
                email,
                fields,
                campaign_id,
                segment_id,
                state_id,
                state_since,
                follow_up_at,
                follow_up_user_id,
                attempts,
                last_attempt_at,
                is_blocked,
                created_at,
                source,
            ) in chunk:
                values: list[Any] = [
                    customer_id,
                    name,
                    display_phone(phone1),
                    display_phone(phone2),
                    display_phone(phone3),
                    email,
                ]
                fields = fields or {}
                values += [field_cell(d.type, fields.get(d.key)) for d in definitions]
                responsible = people.name(follow_up_user_id)
                if follow_up_at is not None and not responsible:
                    responsible = shared
                values += [
                    campaigns.get(campaign_id, ""),
                    segments.get(segment_id, ""),
                    states.get(state_id, ""),
                    local(state_since),
                    local(follow_up_at),
                    responsible,
                    attempts,
                    local(last_attempt_at),
                    yes if is_blocked else no,
                    local(created_at),
                    str(sources.get(source, source)),
                ]
                yield 0, values

    return Listing(
        kind="customers",
        description=description,
        file_stem=file_stem,
        sheets=[Sheet(_("Customers"), columns)],
        count=count,
        rows=rows,
    )


def _field_kind(field_type: str) -> str:
    return {"number": "number", "date": "date"}.get(field_type, "text")
