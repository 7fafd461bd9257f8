"""Segments defined by a field rule (issue 10, rule 4): a customer placed in a campaign
without a named segment lands in the first segment, by priority, whose rule it matches."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from kundeflyt.campaigns.models import Segment
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import Customer, FieldDefinition
from kundeflyt.crm.services import customer_create
from kundeflyt.handling.models import Placement
from kundeflyt.handling.services import customer_move, placements_create
from tests.factories import CampaignFactory
from tests.world import SETUP, World


@pytest.fixture
def ruled(world: World) -> dict[str, Segment]:
    FieldDefinition.objects.create(crm=world.crm, key="postcode", label="Postnr.", type="digits")
    big = Segment.objects.create(
        campaign=world.campaign,
        name="Store",
        priority=1,
        rule_field="employees",
        rule_op="range",
        rule_low="50",
    )
    oslo = Segment.objects.create(
        campaign=world.campaign,
        name="Oslo",
        priority=2,
        rule_field="postcode",
        rule_op="range",
        rule_low="0001",
        rule_high="1299",
    )
    return {"big": big, "oslo": oslo}


def test_a_placed_customer_lands_in_the_first_segment_whose_rule_it_matches(
    world: World, ruled: dict[str, Segment]
) -> None:
    both = world.customer(1, fields={"employees": 120, "postcode": "0150"})
    oslo = world.customer(2, fields={"employees": 8, "postcode": "0150"})
    neither = world.customer(3, fields={"employees": 8, "postcode": "5003"})
    named = world.customer(4, fields={"employees": 120}, segment=world.cold)

    def segment_of(customer: Customer) -> Segment | None:
        return Placement.objects.get(pk=customer.pk).segment

    assert segment_of(both) == ruled["big"]  # priority decides
    assert segment_of(oslo) == ruled["oslo"]
    assert segment_of(neither) is None
    assert segment_of(named) == world.cold  # a named segment wins


def test_a_move_to_another_campaign_lands_by_the_rules_there(
    world: World, ruled: dict[str, Segment]
) -> None:
    other = CampaignFactory(crm=world.crm, name="Vinter")
    customer = world.customer(1, campaign=other, fields={"employees": 300})
    customer_move(world.supervisor, customer_id=customer.pk, campaign=world.campaign)
    assert Placement.objects.get(pk=customer.pk).segment == ruled["big"]


def test_many_customers_are_placed_at_once_with_one_audit_row(
    world: World, ruled: dict[str, Segment]
) -> None:
    customers = [
        customer_create(SETUP, crm=world.crm, customer_id=f"B{n}", fields={"employees": n * 30})
        for n in range(4)
    ]

    placed = placements_create(SETUP, customers=customers, campaign=world.campaign)

    placements = Placement.objects.filter(customer__in=customers).order_by("customer_id")
    assert placed == 4
    assert [p.segment for p in placements] == [None, None, ruled["big"], ruled["big"]]
    assert all(not p.is_final and p.holder is None and p.attempts == 0 for p in placements)
    assert all(p.state == world.campaign.flow.entry_state() for p in placements)
    entry = AuditEntry.objects.get(action="placement.create_batch")
    assert entry.after["customers"] == [c.pk for c in customers]


def test_a_rule_on_an_unknown_field_or_with_bad_bounds_is_refused(world: World) -> None:
    with pytest.raises(ValidationError) as unknown:
        Segment(campaign=world.campaign, name="X", rule_field="nope").full_clean()
    assert "rule_field" in unknown.value.message_dict
    with pytest.raises(ValidationError) as bad:
        Segment(
            campaign=world.campaign,
            name="Y",
            rule_field="employees",
            rule_op="range",
            rule_low="mange",
        ).full_clean()
    assert "rule_low" in bad.value.message_dict
