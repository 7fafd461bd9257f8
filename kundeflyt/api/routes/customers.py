"""Customers: a CRM's customers by the filters of the customer pages, a page at a time, and
one customer by our id, by the CRM's customer id or by a phone number in any form."""

from __future__ import annotations

from typing import Annotated

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import customers_visible_to, data_owners_visible_to
from kundeflyt.api.auth import user_of
from kundeflyt.api.paging import LARGEST_PAGE, Paging, page_of
from kundeflyt.api.problems import REFUSALS
from kundeflyt.api.schemas import CustomerOut, CustomerPage, Id, StatusOut
from kundeflyt.common.errors import NotFound
from kundeflyt.common.phones import phone_search_variants
from kundeflyt.crm.models import CRM, Customer
from kundeflyt.handling.selectors import CustomerFilter, check_may_handle_all, customers_filtered

router = Router(tags=["customers"])


class ListQuery(Paging):
    crm: Id


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
        created_at=customer.created_at,
        status=status,
    )


def _with_status(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    return customers.select_related("placement__state")


@router.get(
    "/customers", response={200: CustomerPage, **REFUSALS}, summary="A CRM's customers, filtered"
)
def customers_list(request: HttpRequest, query: Query[ListQuery]) -> CustomerPage:
    """The CRM's customers in the order they came in, `limit` at a time (50 by default, at
    most 500), with the filters of the customer pages: `campaign` (an id, or `none` for
    customers in no campaign), `segment`, `state`, `blocked` (`yes`/`no`), `batch` (an
    import), `q` (name, phone, customer id or e-mail) and one information field (`field`,
    `op` = `contains`/`equals`/`range`/`empty`, `value`, `low`, `high`). Follow `next` for
    the next page (it continues `after` the last customer of this one): it is stable while
    customers are added. Needs *campaign setup* or
    *extended customer handling*.

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
    found, following = page_of(request, _with_status(customers_filtered(user, crm, filters)), query)
    return CustomerPage(items=[customer_out(c) for c in found], next=following)


@router.get(
    "/customers/{customer_id}", response={200: CustomerOut, **REFUSALS}, summary="One customer"
)
def customer_get(request: HttpRequest, customer_id: Id) -> CustomerOut:
    """A customer the user may see, by our id, with where it is worked. Needs *customer
    handling*."""
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    found = _with_status(customers_visible_to(user)).filter(pk=customer_id).first()
    if found is None:
        raise NotFound(_("No such customer."), field="customer")
    return customer_out(found)


class ByCustomerId(Schema):
    crm: Id
    customer_id: Annotated[str, Field(min_length=1, max_length=64)]


class ByPhone(Schema):
    crm: Id
    phone: Annotated[str, Field(min_length=1, max_length=40)]


def _found(customers: QuerySet[Customer]) -> list[CustomerOut]:
    return [customer_out(c) for c in _with_status(customers).order_by("pk")[:LARGEST_PAGE]]


@router.get(
    "/customers-lookup/by-customer-id",
    response={200: list[CustomerOut], **REFUSALS},
    summary="Find a customer by the CRM's customer id",
)
def customers_by_customer_id(request: HttpRequest, query: Query[ByCustomerId]) -> list[CustomerOut]:
    """The CRM's customer with this customer id, if the user may see it: a list of one, or
    empty. Needs *customer handling*."""
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    if "\x00" in query.customer_id:
        return []  # no customer id holds a NUL
    customers = customers_visible_to(user).filter(crm_id=query.crm)
    return _found(customers.filter(customer_id=query.customer_id.strip()))


@router.get(
    "/customers-lookup/by-phone",
    response={200: list[CustomerOut], **REFUSALS},
    summary="Find customers by a phone number",
)
def customers_by_phone(request: HttpRequest, query: Query[ByPhone]) -> list[CustomerOut]:
    """The CRM's customers the user may see with this number in any of their phones,
    written in any form (`912 34 567`, `+47 91234567`, `004791234567`); empty when the text
    is no phone number. Needs *customer handling*."""
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    phone = phone_search_variants(query.phone.replace("\x00", ""))
    if phone is None:
        return []
    customers = customers_visible_to(user).filter(crm_id=query.crm)
    return _found(customers.filter(Q(phone1=phone) | Q(phone2=phone) | Q(phone3=phone)))
