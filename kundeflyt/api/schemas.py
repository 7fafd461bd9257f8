"""What the API answers with: the resources as clients see them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Schema
from pydantic import Field

# Every id the API takes: a positive 64-bit integer, as the database keeps it.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


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


class StatusOut(Schema):
    """Where the customer is worked: its placement."""

    campaign: int
    segment: int | None
    state: int
    state_key: str
    follow_up_at: dt.datetime | None
    follow_up_user: int | None
    holder: int | None
    attempts: int


class CustomerOut(Schema):
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
    created_at: dt.datetime
    status: StatusOut | None


class CustomerPage(Schema):
    items: list[CustomerOut]
    next: str | None
