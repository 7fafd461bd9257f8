"""What the API answers with: the resources as clients see them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from ninja import Path, Schema
from pydantic import AfterValidator, BaseModel, Field

# Every id the API takes: a positive 64-bit integer, as the database keeps it.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
# A customer in a path: Kundeflyt's own id, never the CRM's customer id.
CustomerKey = Annotated[
    int,
    Path(
        ge=1,
        le=2**63 - 1,
        description=(
            "Kundeflyt's id of the customer: `id` of a customer, `customer` of a "
            "registration or status. Not the CRM's `customer_id`: look that up with "
            "`/customers-lookup/by-customer-id`."
        ),
    ),
]


def _aware(value: dt.datetime) -> dt.datetime:
    """A moment in UTC; one that names no zone is Oslo's time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("the moment is outside the calendar") from None


# A moment the API takes (ISO 8601); the services decide which are allowed.
Moment = Annotated[dt.datetime, AfterValidator(_aware)]


class Me(Schema):
    id: int
    username: str
    name: str
    language: str
    permissions: list[str]


class DataOwnerOut(Schema):
    id: int
    name: str


class FieldOut(Schema):
    key: str
    label: str
    type: str
    required: bool
    unique: bool
    choices: list[str]


class CrmOut(Schema):
    id: int
    data_owner: int
    name: str
    kind: str
    fields: list[FieldOut]


class SegmentOut(Schema):
    id: int
    name: str
    priority: int


class StateOut(Schema):
    id: int
    key: str
    name: str
    kind: str


class OutcomeOut(Schema):
    id: int
    key: str
    name: str


class CampaignOut(Schema):
    id: int
    crm: int
    name: str
    presentation_mode: str
    segments: list[SegmentOut]
    states: list[StateOut]
    outcomes: list[OutcomeOut]


# What lists return by the hundred are plain pydantic models (customers, registrations):
# ninja's Schema reads every value through an attribute getter meant for model instances,
# which took a third of a page's time.


class StatusOut(BaseModel):
    """Where the customer is worked: its placement."""

    campaign: int
    segment: int | None
    state: int
    state_key: str
    follow_up_at: dt.datetime | None
    follow_up_user: int | None
    holder: int | None
    attempts: int
    version: int  # changes with every change of the status: send it as If-Match to move


class ContactBasisOut(BaseModel):
    """Why a reserved customer may still be called: `customer` (an existing customer
    relationship) or `request` (asked to be called), since when, and where it is recorded."""

    kind: str
    since: dt.date | None
    source: str


class MarketingConsentOut(BaseModel):
    """The customer's prior consent to marketing by SMS and e-mail (markedsføringsloven
    § 15): the day it was given, and how."""

    since: dt.date
    source: str


class CustomerOut(BaseModel):
    id: int
    crm: int
    customer_id: str
    name: str
    phone1: str
    phone2: str
    phone3: str
    email: str
    fields: dict[str, Any]
    is_blocked: bool
    # DESIGN.md rule 11: a number is in the Reservasjonsregisteret as last loaded; a consumer
    # campaign calls the customer only with a contact basis.
    is_reserved: bool
    contact_basis: ContactBasisOut | None
    marketing_consent: MarketingConsentOut | None
    created_at: dt.datetime
    updated_at: dt.datetime  # when its fields last changed
    status: StatusOut | None


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next: str | None


class ProductLineOut(BaseModel):
    id: int
    product: int
    status: str  # offered or sold
    quantity: int
    unit_price: Decimal | None  # only with *revenue*
    currency: str | None
    extra: dict[str, Any]


class MeetingOut(BaseModel):
    id: int
    starts_at: dt.datetime
    duration_minutes: int
    place: str
    with_whom: str


class RegistrationOut(BaseModel):
    """One registered outcome, as it was registered: never edited; a correction is a new
    registration that `corrects` this one, which then reads `corrected_by` it."""

    id: int
    customer: int
    customer_id: str
    campaign: int
    segment: int | None
    outcome: int
    outcome_key: str
    option: int | None
    from_state: int
    to_state: int
    registered_at: dt.datetime
    user: int | None  # who registered it; people are named only with *individual results*
    process: str  # …or the process that did
    comment: str
    extra: dict[str, Any]
    follow_up_at: dt.datetime | None
    follow_up_user: int | None
    products: list[ProductLineOut]
    meeting: MeetingOut | None
    included_in_reports: bool
    counts_for_user: int | None
    counts_at: dt.datetime
    counts_in_reports: bool
    corrects: int | None
    corrected_by: int | None


class RegistrationPage(BaseModel):
    items: list[RegistrationOut]
    next: str | None
