"""A consumer CRM to import into: its fields, a campaign with two segments, a campaign-setup
user granted its data owner (``place``; ``build_place`` makes the same)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.crm.models import CRM, FieldDefinition
from tests.factories import CampaignFactory, CRMFactory, SegmentFactory, UserFactory

HEADER = ["Kundenr", "Fornavn", "Etternavn", "Mobil", "E-post", "Postnummer", "Fødselsdato"]


@dataclass
class Place:
    crm: CRM
    campaign: Campaign
    oslo: Segment
    rest: Segment
    setup: User
    agent: User

    def field(self, key: str) -> FieldDefinition:
        return self.crm.fields.get(key=key)


@pytest.fixture
def place(db: None) -> Place:
    return build_place()


def build_place() -> Place:
    crm = CRMFactory(kind=CRM.Kind.B2C, name="Privat")
    FieldDefinition.objects.create(
        crm=crm, key="postcode", label="Postnummer", type="digits", position=1
    )
    FieldDefinition.objects.create(crm=crm, key="city", label="Poststed", type="text", position=2)
    FieldDefinition.objects.create(
        crm=crm, key="birth_date", label="Fødselsdato", type="date", position=3
    )
    FieldDefinition.objects.create(
        crm=crm, key="gender", label="Kjønn", type="choice", choices=["Kvinne", "Mann"], position=4
    )
    FieldDefinition.objects.create(crm=crm, key="notes", label="Notater", type="text", position=5)
    FieldDefinition.objects.create(
        crm=crm, key="consumption", label="Forbruk kWh", type="number", position=6
    )
    campaign = CampaignFactory(crm=crm, name="Strøm privat")
    oslo = SegmentFactory(campaign=campaign, name="Oslo", priority=1)
    rest = SegmentFactory(campaign=campaign, name="Resten", priority=2)
    setup = UserFactory(username="sigrid", perms=[Perm.CAMPAIGN_SETUP, Perm.CUSTOMER_HANDLING])
    agent = UserFactory(username="agent")
    crm.data_owner.users.add(setup, agent)
    return Place(crm, campaign, oslo, rest, setup, agent)
