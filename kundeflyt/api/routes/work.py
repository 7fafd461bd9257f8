"""Working a customer through the API, under the screen's rules: take it (a lease with a
token, rule 1), keep it, register an outcome with the token (rule 2), let it go."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from pydantic import Field

from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.api.auth import user_of
from kundeflyt.api.idempotency import Answer, Keep, Key, once
from kundeflyt.api.problems import WRITE_REFUSALS
from kundeflyt.api.routes.placements import responsible_user
from kundeflyt.api.routes.registrations import registration_out
from kundeflyt.api.schemas import CustomerKey, Id, Moment, RegistrationOut
from kundeflyt.common.bounds import (
    LONG_TEXT,
    MEETING_MINUTES_MAX,
    MONEY_MAX,
    QUANTITY_MAX,
    SHORT_TEXT,
)
from kundeflyt.handling.models import Event
from kundeflyt.handling.services import (
    AfterSave,
    MeetingInput,
    ProductInput,
    customer_release,
    customer_select,
    outcome_register,
    selection_renew,
)

router = Router(tags=["work"])

Token = Annotated[int, Field(ge=0, le=2**63 - 1)]


class Taken(Schema):
    customer: int
    token: int  # send it with renewals and the registration
    lease_expires_at: dt.datetime


class Lease(Schema):
    token: Token


class ProductIn(Schema):
    product: Id
    quantity: Annotated[int, Field(ge=1, le=QUANTITY_MAX)] = 1
    unit_price: Annotated[Decimal, Field(ge=0, le=MONEY_MAX, decimal_places=2)] | None = None
    extra: dict[str, Any] = {}


class MeetingIn(Schema):
    starts_at: Moment
    duration_minutes: Annotated[int, Field(ge=1, le=MEETING_MINUTES_MAX)] = 60
    place: Annotated[str, Field(max_length=SHORT_TEXT)] = ""
    with_whom: Annotated[str, Field(max_length=SHORT_TEXT)] = ""


class RegistrationIn(Schema):
    token: Token
    outcome: Id
    option: Id | None = None
    comment: Annotated[str, Field(max_length=LONG_TEXT)] = ""
    extra: dict[str, Any] = {}
    follow_up_at: Moment | None = None
    follow_up_user: Id | None = None  # without one, a follow-up is shared
    products: Annotated[list[ProductIn], Field(max_length=100)] = []
    meeting: MeetingIn | None = None
    keep: bool = False  # keep the customer afterwards (renew the lease) rather than let it go


def _taken(customer_id: int, token: int, until: dt.datetime | None) -> Taken:
    assert until is not None
    return Taken(customer=customer_id, token=token, lease_expires_at=until)


@router.post(
    "/customers/{customer_id}/take",
    response={200: Taken, **WRITE_REFUSALS},
    summary="Take a customer",
)
def customer_take(request: HttpRequest, customer_id: CustomerKey) -> Taken:
    """Take the customer as the user's current one, as *Take* on the screen does: refused
    (409) while someone else has it open, naming them, and when it is blocked, final or in
    a closed campaign. The answer's `token` goes with renewals and the registration; the
    lease lapses at `lease_expires_at` unless renewed. Taking another customer lets the
    first go. Needs *customer handling*.

    ```
    curl -X POST -H "Authorization: Bearer $TOKEN" https://kundeflyt.example/api/v1/customers/4711/take
    ```
    """
    selection = customer_select(user_of(request), customer_id=customer_id, manual=True)
    placement = selection.placement
    return _taken(placement.pk, selection.token, placement.lease_expires_at)


@router.post(
    "/customers/{customer_id}/renew",
    response={200: Taken, **WRITE_REFUSALS},
    summary="Keep a taken customer",
)
def customer_renew(request: HttpRequest, customer_id: CustomerKey, body: Lease) -> Taken:
    """Renew the lease, as the open screen does every so often: 409 once it was lost.

    ```
    curl -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\
      -d '{"token": 3}' https://kundeflyt.example/api/v1/customers/4711/renew
    ```
    """
    until = selection_renew(user_of(request), customer_id=customer_id, token=body.token)
    return _taken(customer_id, body.token, until)


@router.post(
    "/customers/{customer_id}/release",
    response={204: None, **WRITE_REFUSALS},
    summary="Let a customer go",
)
def customer_let_go(request: HttpRequest, customer_id: CustomerKey) -> Status[None]:
    """Let go of the customer; another user's hold needs *extended customer handling*.

    ```
    curl -X POST -H "Authorization: Bearer $TOKEN" https://kundeflyt.example/api/v1/customers/4711/release
    ```
    """
    customer_release(user_of(request), customer_id=customer_id)
    return Status(204, None)


@router.post(
    "/customers/{customer_id}/registrations",
    response={201: RegistrationOut, **WRITE_REFUSALS},
    summary="Register an outcome",
)
def registration_new(
    request: HttpRequest,
    response: HttpResponse,
    customer_id: CustomerKey,
    body: RegistrationIn,
    idempotency_key: Key = None,
) -> Status[dict[str, Any]]:
    """Register an outcome on a customer the user has taken, with its token, through the
    screen's own service: only an outcome the flow offers from the customer's state, its
    option, comment, extra fields, follow-up, products and meeting checked as on the
    screen. The customer is let go afterwards unless `keep`. Send an `Idempotency-Key`:
    a retry answers the first answer and never registers twice. Needs *customer handling*.

    ```
    curl -X POST -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: $(uuidgen)" \\
      -H "Content-Type: application/json" \\
      https://kundeflyt.example/api/v1/customers/42/registrations \\
      -d '{"token": 7, "outcome": 3, "comment": "Ringer tilbake etter ferien"}'
    ```
    """
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)

    def register(keep: Keep) -> Answer:
        answered: list[Answer] = []

        def also(event: Event) -> None:  # inside the registration's transaction
            out = registration_out(event, individual=True, revenue=True)
            answered.append(Answer(201, out.model_dump(mode="json")))
            keep(answered[0])

        outcome_register(user, customer_id=customer_id, also=also, **_arguments(body))
        return answered[0]

    return once(request, user, idempotency_key, register).give(response)


def _arguments(body: RegistrationIn) -> dict[str, Any]:
    return {
        "token": body.token,
        "outcome_id": body.outcome,
        "option_id": body.option,
        "comment": body.comment,
        "extra": body.extra,
        "follow_up_at": body.follow_up_at,
        "follow_up_user": responsible_user(body.follow_up_user, field="follow_up_user"),
        "products": [
            ProductInput(p.product, quantity=p.quantity, unit_price=p.unit_price, extra=p.extra)
            for p in body.products
        ],
        "meeting": MeetingInput(
            starts_at=body.meeting.starts_at,
            duration_minutes=body.meeting.duration_minutes,
            place=body.meeting.place,
            with_whom=body.meeting.with_whom,
        )
        if body.meeting
        else None,
        "then": AfterSave.STAY if body.keep else AfterSave.MY_WORK,
    }
