"""A consumer CRM to import into: its fields, a campaign with two segments, a campaign-setup
user granted its data owner, and helpers to upload and run files (``place``; the browser
test builds the same with ``build_place``)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.crm.models import CRM, FieldDefinition
from kundeflyt.imports import services
from kundeflyt.imports.models import ImportBatch
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

    def upload(
        self, content: bytes, name: str = "kunder.csv", actor: User | None = None
    ) -> ImportBatch:
        return services.import_upload(
            actor or self.setup, crm=self.crm, file_name=name, content=io.BytesIO(content)
        )

    def run(self, batch: ImportBatch, actor: User | None = None, **options: Any) -> ImportBatch:
        """Start with the automatic mapping (or ``mapping=``); the test run's task backend
        runs it at once."""
        mapping = options.pop("mapping", None) or services.mapping_of(batch)
        batch = services.import_start(actor or self.setup, batch=batch, mapping=mapping, **options)
        batch.refresh_from_db()
        return batch

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
