"""An SMS-sending world: the test world's campaign with SMS on, an agent who may send, and a
customer that agent has open in the customer screen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.crm.models import Customer
from kundeflyt.handling.services import customer_select
from kundeflyt.telephony.models import Purpose, Sms, SmsTemplate
from kundeflyt.telephony.services import sms_send
from tests.factories import UserFactory
from tests.world import World, world  # noqa: F401 (a fixture)

PHONE = "+4791234567"


@dataclass
class Texting:
    world: World
    agent: User
    customer: Customer
    offer: SmsTemplate  # marketing
    receipt: SmsTemplate  # a service message


@pytest.fixture
def texting(world: World) -> Texting:  # noqa: F811
    world.campaign.sms_enabled = True
    world.campaign.sms_sender = "Nordlys"
    world.campaign.save()
    agent = UserFactory(
        username="texter", first_name="Siri", perms=[Perm.CUSTOMER_HANDLING, Perm.SMS]
    )
    world.crm.data_owner.users.add(agent)
    customer = world.customer(1, phone1=PHONE, phone2="+4741234567")
    offer = SmsTemplate.objects.create(
        campaign=world.campaign,
        name="Tilbud",
        purpose=Purpose.MARKETING,
        text="Hei {navn}! Fastpris i tre år. Svar STOPP for å melde deg av. Hilsen {selger}",
    )
    receipt = SmsTemplate.objects.create(
        campaign=world.campaign,
        name="Avtalen",
        purpose=Purpose.SERVICE,
        text="Hei {navn}, her er avtalen ({org_number}).",
    )
    customer_select(agent, customer_id=customer.pk)
    return Texting(world, agent, customer, offer, receipt)


@pytest.fixture
def send(texting: Texting, django_capture_on_commit_callbacks: Any) -> Callable[..., Sms]:
    """``sms_send`` as the agent, with what follows the commit (the worker's attempt) run."""

    def sending(**kwargs: Any) -> Sms:
        kwargs.setdefault("customer_id", texting.customer.pk)
        kwargs.setdefault("phone", PHONE)
        with django_capture_on_commit_callbacks(execute=True):
            sms = sms_send(kwargs.pop("user", texting.agent), **kwargs)
        sms.refresh_from_db()
        return sms

    return sending


Send = Callable[..., Sms]
