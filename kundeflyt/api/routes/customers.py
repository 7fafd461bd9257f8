"""Customers: a CRM's customers by the filters of the customer pages, a page at a time; one
customer by our id, by the CRM's customer id or by a phone number in any form; creating one
(placed in a campaign if asked) and changing its fields, each through the card's services."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import (
    campaigns_visible_to,
    customers_visible_to,
    data_owners_visible_to,
)
from kundeflyt.api.auth import user_of
from kundeflyt.api.idempotency import Answer, Keep, Key, once
from kundeflyt.api.paging import LARGEST_PAGE, Paging, page_of
from kundeflyt.api.problems import REFUSALS, VERSIONED_WRITE_REFUSALS, WRITE_REFUSALS
from kundeflyt.api.schemas import (
    ContactBasisOut,
    CustomerKey,
    CustomerOut,
    CustomerPage,
    Id,
    MarketingConsentOut,
    Moment,
    StatusOut,
)
from kundeflyt.api.versions import IfMatch, etag, sent_version
from kundeflyt.campaigns.models import Segment
from kundeflyt.common.bounds import FIELD_TEXT
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.common.phones import phone_search_variants
from kundeflyt.crm.models import CRM, Customer
from kundeflyt.crm.services import (
    STANDARD_FIELDS,
    customer_create,
    customer_update,
    customer_version,
)
from kundeflyt.handling.selectors import CustomerFilter, check_may_handle_all, customers_filtered
from kundeflyt.handling.services import customer_add
from kundeflyt.privacy.access_log import Kind, access_record
from kundeflyt.privacy.consent import marketing_consent_set

router = Router(tags=["customers"])


class ListQuery(Paging):
    crm: Id
    changed_since: Moment | None = None


def customer_out(customer: Customer) -> CustomerOut:
    placement = getattr(customer, "placement", None)
    status = None
    if placement is not None:
        status = StatusOut(
            campaign=placement.campaign_id,
            segment=placement.segment_id,
            state=placement.state_id,
            state_key=placement.state.key,
            follow_up_at=placement.follow_up_at,
            follow_up_user=placement.follow_up_user_id,
            holder=placement.holder_id,
            attempts=placement.attempts,
            version=placement.version,
        )
    return CustomerOut(
        id=customer.pk,
        crm=customer.crm_id,
        customer_id=customer.customer_id,
        name=customer.name,
        phone1=customer.phone1,
        phone2=customer.phone2,
        phone3=customer.phone3,
        email=customer.email,
        fields=customer.fields,
        is_blocked=customer.is_blocked,
        is_reserved=customer.is_reserved,
        contact_basis=ContactBasisOut(
            kind=customer.contact_basis,
            since=customer.contact_basis_on,
            source=customer.contact_basis_source,
        )
        if customer.contact_basis
        else None,
        marketing_consent=MarketingConsentOut(
            since=customer.marketing_consent_on, source=customer.marketing_consent_source
        )
        if customer.marketing_consent_on
        else None,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
        status=status,
    )


def with_status(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    return customers.select_related("placement__state")


@router.get(
    "/customers", response={200: CustomerPage, **REFUSALS}, summary="A CRM's customers, filtered"
)
def customers_list(request: HttpRequest, query: Query[ListQuery]) -> HttpResponse:
    """The CRM's customers in the order they came in, `limit` at a time (50 by default, at
    most 500), with the filters of the customer pages: `campaign` (an id, or `none` for
    customers in no campaign), `segment`, `state`, `blocked` (`yes`/`no`), `batch` (an
    import), `q` (name, phone, customer id or e-mail) and one information field (`field`,
    `op` = `contains`/`equals`/`range`/`empty`, `value`, `low`, `high`). `changed_since`
    keeps those whose fields changed (`updated_at`) or that changed state since then: a
    nightly sync asks with the time of its last run. Follow `next` for the next page (it
    continues `after` the last customer of this one): it is stable while customers are
    added. Needs *campaign setup* or *extended customer handling*.

    ```
    curl -H "Authorization: Bearer $TOKEN" \\
      "https://kundeflyt.example/api/v1/customers?crm=1&field=postcode&op=range&low=0001&high=1299"
    ```
    """
    user = user_of(request)
    check_may_handle_all(user)
    crm = CRM.objects.filter(data_owner__in=data_owners_visible_to(user), pk=query.crm).first()
    if crm is None:
        raise NotFound(_("No such CRM."), field="crm")
    filters = CustomerFilter.from_query(request.GET, list(crm.fields.all()))
    customers = customers_filtered(user, crm, filters)
    if query.changed_since is not None:
        since = query.changed_since
        customers = customers.filter(
            Q(updated_at__gte=since) | Q(placement__state_since__gte=since)
        )
    # The page first, then its placements: joined, PostgreSQL merged the page with every
    # placement of the CRM from its first customer on (90 ms at a million customers).
    found, following = page_of(request, customers.prefetch_related("placement__state"), query)
    access_record(user, Kind.API, [c.pk for c in found])
    page = CustomerPage(items=[customer_out(c) for c in found], next=following)
    return HttpResponse(page.model_dump_json(), content_type="application/json")


@router.get(
    "/customers/{customer_id}", response={200: CustomerOut, **REFUSALS}, summary="One customer"
)
def customer_get(
    request: HttpRequest, response: HttpResponse, customer_id: CustomerKey
) -> CustomerOut:
    """A customer the user may see, by our id, with where it is worked, and its `ETag` to
    change it with. Needs *customer handling*.

    ```
    curl -H "Authorization: Bearer $TOKEN" https://kundeflyt.example/api/v1/customers/4711
    ```
    """
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    found = with_status(customers_visible_to(user)).filter(pk=customer_id).first()
    if found is None:
        raise NotFound(_("No such customer."), field="customer")
    access_record(user, Kind.API, [found.pk])
    response["ETag"] = etag(customer_version(found))
    return customer_out(found)


class ByCustomerId(Schema):
    crm: Id
    customer_id: Annotated[str, Field(min_length=1, max_length=64)]


class ByPhone(Schema):
    crm: Id
    phone: Annotated[str, Field(min_length=1, max_length=40)]


def _found(user: User, customers: QuerySet[Customer]) -> list[CustomerOut]:
    found = list(with_status(customers).order_by("pk")[:LARGEST_PAGE])
    access_record(user, Kind.API, [c.pk for c in found])
    return [customer_out(c) for c in found]


@router.get(
    "/customers-lookup/by-customer-id",
    response={200: list[CustomerOut], **REFUSALS},
    summary="Find a customer by the CRM's customer id",
)
def customers_by_customer_id(request: HttpRequest, query: Query[ByCustomerId]) -> list[CustomerOut]:
    """The CRM's customer with this customer id, if the user may see it: a list of one, or
    empty. Needs *customer handling*.

    ```
    curl -H "Authorization: Bearer $TOKEN" \\
      "https://kundeflyt.example/api/v1/customers-lookup/by-customer-id?crm=1&customer_id=K-1001"
    ```
    """
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    if "\x00" in query.customer_id:
        return []  # no customer id holds a NUL
    customers = customers_visible_to(user).filter(crm_id=query.crm)
    return _found(user, customers.filter(customer_id=query.customer_id.strip()))


@router.get(
    "/customers-lookup/by-phone",
    response={200: list[CustomerOut], **REFUSALS},
    summary="Find customers by a phone number",
)
def customers_by_phone(request: HttpRequest, query: Query[ByPhone]) -> list[CustomerOut]:
    """The CRM's customers the user may see with this number in any of their phones,
    written in any form (`912 34 567`, `+47 91234567`, `004791234567`); empty when the text
    is no phone number. Needs *customer handling*.

    ```
    curl -H "Authorization: Bearer $TOKEN" \\
      "https://kundeflyt.example/api/v1/customers-lookup/by-phone?crm=1&phone=912%2034%20567"
    ```
    """
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    phone = phone_search_variants(query.phone.replace("\x00", ""))
    if phone is None:
        return []
    customers = customers_visible_to(user).filter(crm_id=query.crm)
    return _found(user, customers.filter(Q(phone1=phone) | Q(phone2=phone) | Q(phone3=phone)))


Text = Annotated[str, Field(max_length=FIELD_TEXT)]


class CustomerIn(Schema):
    crm: Id
    customer_id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Text = ""
    phone1: Text = ""
    phone2: Text = ""
    phone3: Text = ""
    email: Text = ""
    fields: dict[str, Any] = {}
    campaign: Id | None = None  # placed there, available, when given
    segment: Id | None = None  # …in this segment; without one the segments' field rules decide


class CustomerChanges(Schema):
    """Only what is sent is changed; `fields` changes only the information fields it names."""

    customer_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    name: Text | None = None
    phone1: Text | None = None
    phone2: Text | None = None
    phone3: Text | None = None
    email: Text | None = None
    fields: dict[str, Any] | None = None


def _answer(customer: Customer, status: int) -> Answer:
    found = with_status(Customer.objects.filter(pk=customer.pk)).get()
    return Answer(
        status,
        customer_out(found).model_dump(mode="json"),
        {
            "ETag": etag(customer_version(found)),
            "Location": reverse("api:customer_get", kwargs={"customer_id": found.pk}),
        },
    )


@router.post(
    "/customers", response={201: CustomerOut, **WRITE_REFUSALS}, summary="Create a customer"
)
def customer_new(
    request: HttpRequest, response: HttpResponse, body: CustomerIn, idempotency_key: Key = None
) -> Status[dict[str, Any]]:
    """A new customer in the CRM, checked exactly as the card checks it: the customer id
    unique in the CRM, phones in any form stored in E.164, the CRM's own `fields` by their
    types. With `campaign` it is placed there, available, in `segment` or in the segment
    whose field rule takes it. Send an `Idempotency-Key` to retry safely: the same key
    answers the first answer again, and never creates twice. Needs *customer handling*.

    ```
    curl -X POST -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: $(uuidgen)" \\
      -H "Content-Type: application/json" https://kundeflyt.example/api/v1/customers \\
      -d '{"crm": 1, "customer_id": "K-1001", "name": "Kari Nordmann", "phone1": "912 34 567"}'
    ```
    """
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    crm = CRM.objects.filter(data_owner__in=data_owners_visible_to(user), pk=body.crm).first()
    if crm is None:
        raise NotFound(_("No such CRM."), field="crm")
    campaign = None
    if body.campaign is not None:
        campaign = campaigns_visible_to(user).filter(crm=crm, pk=body.campaign).first()
        if campaign is None:
            raise NotFound(_("No such campaign in this CRM."), field="campaign")
    segment = None
    if body.segment is not None:
        segment = Segment.objects.filter(campaign=campaign, pk=body.segment).first()
        if campaign is None or segment is None:
            raise NotFound(_("No such segment in this campaign."), field="segment")
    values: dict[str, Any] = body.model_dump(exclude={"crm", "campaign", "segment"})
    values["source"] = Customer.Source.API

    def create(keep: Keep) -> Answer:
        with transaction.atomic():
            if campaign is None:
                made = customer_create(user, crm=crm, **values)
            else:
                made = customer_add(user, campaign=campaign, segment=segment, **values)
            answer = _answer(made, 201)
            keep(answer)
        return answer

    return once(request, user, idempotency_key, create).give(response)


@router.patch(
    "/customers/{customer_id}",
    response={200: CustomerOut, **VERSIONED_WRITE_REFUSALS},
    summary="Change a customer's fields",
)
def customer_change(
    request: HttpRequest,
    response: HttpResponse,
    customer_id: CustomerKey,
    body: CustomerChanges,
    if_match: IfMatch = None,
) -> Status[dict[str, Any]]:
    """Change what is sent, checked as the card checks it, and audited. Send the `ETag` the
    customer was read with as `If-Match`: if anyone changed the customer since, the answer
    is 412 and nothing is changed; read it again and decide. Needs *customer handling*;
    the customer id only with *campaign setup*.

    ```
    curl -X PATCH -H "Authorization: Bearer $TOKEN" -H 'If-Match: "…"' \\
      -H "Content-Type: application/json" https://kundeflyt.example/api/v1/customers/42 \\
      -d '{"fields": {"postcode": "0150"}}'
    ```
    """
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    customer = customers_visible_to(user).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("No such customer."), field="customer")
    version = sent_version(if_match, _("Send the customer's ETag as If-Match."))
    sent = body.model_dump(exclude_unset=True)
    own = sent.pop("fields", None) or {}
    clash = sorted(set(own) & set(STANDARD_FIELDS))
    if clash:
        raise DomainError(
            _("“%(key)s” is not a field of this CRM.") % {"key": clash[0]}, field=clash[0]
        )
    changed = customer_update(user, customer=customer, changes=sent | own, version=version)
    return _answer(changed, 200).give(response)


class MarketingConsentIn(Schema):
    since: dt.date | None  # the day the consent was given; null withdraws it
    source: Text = ""  # how it was given, e.g. "web form 2026-03-01"


@router.put(
    "/customers/{customer_id}/marketing-consent",
    response={200: CustomerOut, **WRITE_REFUSALS},
    summary="Record or withdraw a customer's consent to marketing",
)
def customer_marketing_consent(
    request: HttpRequest, response: HttpResponse, customer_id: CustomerKey, body: MarketingConsentIn
) -> Status[dict[str, Any]]:
    """Consumers get marketing by SMS and e-mail only with their prior consent
    (markedsføringsloven § 15). Record the day it was given and how (`source` is required
    then), or send `since: null` to withdraw it. Audited. Needs *customer handling*.

    ```
    curl -X PUT -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\
      https://kundeflyt.example/api/v1/customers/42/marketing-consent \\
      -d '{"since": "2026-03-01", "source": "web form"}'
    ```
    """
    changed = marketing_consent_set(
        user_of(request), customer_id=customer_id, on=body.since, source=body.source
    )
    return _answer(changed, 200).give(response)
