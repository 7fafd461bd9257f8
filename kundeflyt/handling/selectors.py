"""Reads of customers in their campaigns, always given the user so visibility holds."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.campaigns.selectors import campaigns_visible_to, data_owners_visible_to
from kundeflyt.common.actors import Process
from kundeflyt.common.errors import NotFound
from kundeflyt.crm.models import Customer
from kundeflyt.handling.models import Placement


def customers_visible_to(actor: User | Process) -> QuerySet[Customer]:
    """Customers in campaigns the actor may see; customers in no campaign are seen by those
    granted their data owner."""
    return Customer.objects.filter(
        Q(placement__campaign__in=campaigns_visible_to(actor))
        | Q(placement__isnull=True, crm__data_owner__in=data_owners_visible_to(actor))
    )


def check_may_see_customer(actor: User | Process, customer: Customer) -> None:
    """Refuse as if the customer did not exist, so that URLs reveal nothing."""
    if not customers_visible_to(actor).filter(pk=customer.pk).exists():
        raise NotFound(_("No such customer."), field="customer")


def current_selection(user: User) -> Placement | None:
    """The user's current customer, if their lease has not lapsed."""
    return (
        Placement.objects.select_related("customer", "campaign", "segment", "state")
        .filter(holder=user, lease_expires_at__gt=timezone.now())
        .first()
    )


def holder_of(customer_id: int) -> User | None:
    """Who has the customer open in the customer screen right now, if anyone."""
    placement = (
        Placement.objects.select_related("holder")
        .filter(pk=customer_id, lease_expires_at__gt=timezone.now())
        .first()
    )
    return placement.holder if placement else None
