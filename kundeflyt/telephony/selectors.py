"""What users see of calls and SMS, always through what they may see."""

from __future__ import annotations

from django.db.models import QuerySet

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import check_may_see_customer, data_owners_visible_to
from kundeflyt.telephony.models import Backend, Sms

CUSTOMER_SMS_SHOWN = 20
OUTBOX_SHOWN = 100


def customer_sms(user: User, customer_id: int, *, shown: int = CUSTOMER_SMS_SHOWN) -> list[Sms]:
    """The customer's latest messages, both ways, with who sent them."""
    check_may_see_customer(user, customer_id)
    return list(
        Sms.objects.filter(customer_id=customer_id)
        .select_related("user")
        .order_by("-created_at", "-pk")[:shown]
    )


def console_outbox(user: User) -> QuerySet[Sms]:
    """What the console provider "sent" and "received" for the user's data owners: the demo's
    and a test system's phone."""
    require(user, Perm.CAMPAIGN_SETUP)
    return (
        Sms.objects.filter(backend=Backend.CONSOLE, data_owner__in=data_owners_visible_to(user))
        .select_related("customer", "user", "data_owner")
        .order_by("-created_at", "-pk")
    )
