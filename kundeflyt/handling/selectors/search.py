"""Finding customers by what an agent has at hand."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from kundeflyt.accounts.visibility import Actor, customers_visible_to
from kundeflyt.common.phones import phone_search_variants
from kundeflyt.crm.models import Customer


def customers_matching(actor: Actor, query: str) -> QuerySet[Customer]:
    """Visible customers matching ``query`` by phone (any format), customer id, name, e-mail,
    campaign or data owner, best matches first: exact id or phone, then names that start with
    the words, then partial matches."""
    query = query.strip()
    exact = Q(customer_id__iexact=query) | Q(email__iexact=query)
    phone = phone_search_variants(query)
    if phone:
        exact |= Q(phone1=phone) | Q(phone2=phone) | Q(phone3=phone)
    match = (
        exact
        | Q(name__icontains=query)
        | Q(customer_id__icontains=query)
        | Q(placement__campaign__name__icontains=query)
        | Q(crm__data_owner__name__icontains=query)
    )
    rank = Case(
        When(exact, then=Value(0)),
        When(name__istartswith=query, then=Value(1)),
        When(name__icontains=query, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return (
        customers_visible_to(actor).filter(match).annotate(rank=rank).order_by("rank", "name", "pk")
    )
