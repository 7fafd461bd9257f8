"""A small world for service tests: one data owner, a B2B campaign, agents, a supervisor."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.actors import Process
from kundeflyt.crm.models import CRM, Customer, FieldDefinition
from kundeflyt.flows.models import Outcome
from kundeflyt.handling.services import customer_add
from tests.factories import CampaignFactory, CRMFactory, SegmentFactory, UserFactory

SETUP = Process("test-setup")


@dataclass
class World:
    crm: CRM
    campaign: Campaign
    hot: Segment
    cold: Segment
    agent: User
    agent2: User
    supervisor: User

    def outcome(self, key: str, campaign: Campaign | None = None) -> Outcome:
        return Outcome.objects.get(flow=(campaign or self.campaign).flow, key=key)

    def customer(
        self,
        n: int | str,
        *,
        segment: Segment | None = None,
        campaign: Campaign | None = None,
        **kwargs: object,
    ) -> Customer:
        return customer_add(
            SETUP,
            customer_id=str(n),
            name=f"Kunde {n}",
            campaign=campaign or self.campaign,
            segment=segment,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture
def world(db: None) -> World:
    crm = CRMFactory(kind=CRM.Kind.B2B, name="Bedrift")
    FieldDefinition.objects.create(
        crm=crm, key="org_number", label="Org.nr.", type="org_number", unique=True
    )
    FieldDefinition.objects.create(crm=crm, key="employees", label="Ansatte", type="number")
    FieldDefinition.objects.create(
        crm=crm, key="industry", label="Bransje", type="choice", choices=["Bygg", "Handel", "IT"]
    )
    campaign = CampaignFactory(crm=crm, name="Strøm bedrift")
    hot = SegmentFactory(campaign=campaign, name="Varme", priority=1)
    cold = SegmentFactory(campaign=campaign, name="Kalde", priority=2)
    agent = UserFactory(username="agent", first_name="Kari", last_name="Nordmann")
    agent2 = UserFactory(username="agent2", first_name="Ola", last_name="Hansen")
    supervisor = UserFactory(
        username="supervisor",
        perms=[
            Perm.CUSTOMER_HANDLING,
            Perm.EXTENDED_CUSTOMER_HANDLING,
            Perm.CORRECT_REGISTRATIONS,
            Perm.REPORTING,
        ],
    )
    crm.data_owner.users.add(agent, agent2, supervisor)
    return World(crm, campaign, hot, cold, agent, agent2, supervisor)
