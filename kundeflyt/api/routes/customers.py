"""Customers: a CRM's customers by the filters of the customer pages, a page at a time, and
one customer by our id, by the CRM's customer id or by a phone number in any form."""

from __future__ import annotations

import base64
import binascii

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import customers_visible_to, data_owners_visible_to
from kundeflyt.api.auth import user_of
from kundeflyt.api.schemas import CustomerOut, CustomerPage, Id, StatusOut
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.common.phones import normalise_phone
from kundeflyt.crm.models import CRM, Customer
from kundeflyt.handling.selectors import CustomerFilter, check_may_handle_all, customers_filtered

router = Router(tags=["customers"])

PAGE = 50
LARGEST_PAGE = 500


class ListQuery(Schema):
    crm: Id
    limit: int = PAGE
    cursor: str = ""


def _cursor(after: int) -> str:
    return base64.urlsafe_b64encode(f"c:{after}".encode()).decode().rstrip("=")


def _after(cursor: str) -> int:
    """The primary key a cursor continues after; a cursor we did not make is refused."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith("c:") or not text[2:].isdigit() or len(text) > 22:
        raise DomainError(_("This cursor is not one the API gave."), field="cursor")
    return int(text[2:])


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


@router.get("/customers", response=CustomerPage, summary="A CRM's customers, filtered")
def customers_list(request: HttpRequest, query: Query[ListQuery]) -> CustomerPage:
    """The CRM's customers in the order they came in, `limit` at a time (50 by default, at
    most 500), with the filters of the customer pages: `campaign` (an id, or `none` for
    customers in no campaign), `segment`, `state`, `blocked` (`yes`/`no`), `batch` (an
    import), `q` (name, phone, customer id or e-mail) and one information field (`field`,
    `op` = `contains`/`equals`/`range`/`empty`, `value`, `low`, `high`). Follow `next` for
    the next page: it is stable while customers are added. Needs *campaign setup* or
    *extended customer handling*.

    ```
    curl -H "Authorization: Bearer $TOKEN" \\
      "https://kundeflyt.example/api/v1/customers?crm=1&field=postcode&op=range&low=0001&high=1299"
    ```
    """
    user = user_of(request)
    check_may_handle_all(user)
    if not 1 <= query.limit <= LARGEST_PAGE:
        raise DomainError(
            _("Ask for between 1 and %(n)s customers a page.") % {"n": LARGEST_PAGE},
            field="limit",
        )
    crm = CRM.objects.filter(data_owner__in=data_owners_visible_to(user), pk=query.crm).first()
    if crm is None:
        raise NotFound(_("No such CRM."), field="crm")
    filters = CustomerFilter.from_query(request.GET, list(crm.fields.all()))
    found = list(
        _with_status(customers_filtered(user, crm, filters))
        .filter(pk__gt=_after(query.cursor))
        .order_by("pk")[: query.limit + 1]
    )
    more = len(found) > query.limit
    found = found[: query.limit]
    following = None
    if more:
        params = request.GET.copy()
        params["cursor"] = _cursor(found[-1].pk)
        following = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
    return CustomerPage(items=[customer_out(c) for c in found], next=following)


@router.get("/customers/{customer_id}", response=CustomerOut, summary="One customer")
def customer_get(request: HttpRequest, customer_id: Id) -> CustomerOut:
    """A customer the user may see, by our id, with where it is worked. Needs *customer
    handling*."""
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    found = _with_status(customers_visible_to(user)).filter(pk=customer_id).first()
    if found is None:
        raise NotFound(_("No such customer."), field="customer")
    return customer_out(found)


class LookupQuery(Schema):
    crm: Id
    customer_id: str = ""
    phone: str = ""


@router.get("/customers-lookup", response=list[CustomerOut], summary="Find customers")
def customers_lookup(request: HttpRequest, query: Query[LookupQuery]) -> list[CustomerOut]:
    """The CRM's customers the user may see with this `customer_id` (at most one), or with
    this `phone` in any of their numbers, written in any form (`912 34 567`,
    `+47 91234567`, `004791234567`). Needs *customer handling*."""
    user = user_of(request)
    require(user, Perm.CUSTOMER_HANDLING)
    customers = customers_visible_to(user).filter(crm_id=query.crm)
    if bool(query.customer_id) == bool(query.phone):
        raise DomainError(_("Give either a customer id or a phone number."), field="customer_id")
    if query.customer_id:
        if len(query.customer_id) > 64 or "\x00" in query.customer_id:
            raise DomainError(_("No customer id is that long."), field="customer_id")
        customers = customers.filter(customer_id=query.customer_id)
    else:
        if len(query.phone) > 40:
            raise DomainError(_("No phone number is that long."), field="phone")
        phone = normalise_phone(query.phone, field="phone")
        customers = (
            customers.filter(phone1=phone)
            | customers.filter(phone2=phone)
            | (customers.filter(phone3=phone))
        )
    return [customer_out(c) for c in _with_status(customers).order_by("pk")[:LARGEST_PAGE]]
