"""What users see of calls and SMS, always through what they may see."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import (
    campaigns_visible_to,
    check_may_see_customer,
    data_owners_visible_to,
)
from kundeflyt.common.errors import NotFound
from kundeflyt.telephony.models import Backend, Call, Sms

CUSTOMER_SMS_SHOWN = 20
OUTBOX_SHOWN = 100


@dataclass(frozen=True)
class CustomerSms:
    customer_id: int
    messages: list[Sms]

    @property
    def waiting(self) -> bool:
        """Whether one is still on its way (the list asks again until none is)."""
        return any(not m.is_final for m in self.messages)


def customer_sms(user: User, customer_id: int, *, shown: int = CUSTOMER_SMS_SHOWN) -> CustomerSms:
    """The customer's latest messages, both ways, with who sent them."""
    check_may_see_customer(user, customer_id)
    messages = (
        Sms.objects.filter(customer_id=customer_id)
        .select_related("user")
        .order_by("-created_at", "-pk")[:shown]
    )
    return CustomerSms(customer_id, list(messages))


def console_outbox(user: User) -> QuerySet[Sms]:
    """What the console provider "sent" and "received" for the user's data owners: the demo's
    and a test system's phone."""
    require(user, Perm.CAMPAIGN_SETUP)
    # A campaign's messages to those who may see the campaign; messages from numbers of no
    # customer to those who see the data owner.
    seen = Q(campaign__in=campaigns_visible_to(user)) | Q(
        campaign__isnull=True, customer__isnull=True
    )
    owners = data_owners_visible_to(user)
    return (
        Sms.objects.filter(seen, backend=Backend.CONSOLE, data_owner__in=owners)
        .select_related("customer", "user", "data_owner")
        .order_by("-created_at", "-pk")
    )


CUSTOMER_CALLS_SHOWN = 20


def customer_calls(
    user: User, customer_id: int, *, shown: int = CUSTOMER_CALLS_SHOWN
) -> list[Call]:
    """The customer's latest calls, with the agent and the registration they led to."""
    check_may_see_customer(user, customer_id)
    return list(
        Call.objects.filter(customer_id=customer_id)
        .select_related("user", "event__outcome")
        .order_by("-created_at", "-pk")[:shown]
    )


def my_call(user: User, call_id: int | None) -> Call | None:
    """One of the user's own calls, as the screen's call panel shows it; without an id, the
    one that goes on (a screen opened again shows it, to follow it or hang up)."""
    if call_id is None:
        from kundeflyt.telephony.calls import ongoing

        return ongoing(user, timezone.now()).order_by("-created_at").first()
    call = Call.objects.filter(pk=call_id, user=user).first()
    if call is None:
        raise NotFound(_("No such call."), field="call")
    return call
