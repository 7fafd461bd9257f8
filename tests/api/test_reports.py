"""Reports as JSON: the same numbers as the report pages, for what the user may count."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kundeflyt.accounts.permissions import Perm
from kundeflyt.handling.services import AfterSave, customer_select, outcome_register
from kundeflyt.reports.selectors import REPORTS, ReportFilter
from tests.api.conftest import Api, Tenants, grant, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def reporter(client: Client, tenants: Tenants) -> Api:
    return Api(client, token_for(grant(tenants.world.supervisor, Perm.INDIVIDUAL_RESULTS)))


def plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal | dt.date) else value


@pytest.mark.parametrize("key", sorted(REPORTS))
def test_each_report_has_the_numbers_of_its_page(reporter: Api, tenants: Tenants, key: str) -> None:
    world = tenants.world
    for n, outcome in enumerate(["no_answer", "no_answer", "refused"]):
        customer = world.customer(n)
        selection = customer_select(world.agent, customer_id=customer.pk)
        outcome_register(
            world.agent,
            customer_id=customer.pk,
            token=selection.token,
            outcome_id=world.outcome(outcome).pk,
            comment="Nei",
            then=AfterSave.MY_WORK,
        )
    today = timezone.localdate()
    supervisor = grant(world.supervisor, Perm.INDIVIDUAL_RESULTS)

    answer = reporter.get(f"/reports/{key}", **{"from": today, "to": today})
    page = REPORTS[key](supervisor, ReportFilter(first=today, last=today))

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["key"] == key and body["date_from"] == today.isoformat()
    assert [t["key"] for t in body["tables"]] == [t.key for t in page.tables]
    for got, table in zip(body["tables"], page.tables, strict=True):
        expected = json.loads(json.dumps([[plain(v) for v in r] for r in table.rows], default=str))
        assert got["rows"] == expected
    if key == "activity":
        assert any(row for table in body["tables"] for row in table["rows"])


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"from": "2026-11-30", "to": "2026-11-01"}, 400, "to"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, 400, "to"),
        ({"from": "2026-11-01", "to": "2026-11-30", "campaign": 2**62}, 400, "campaign"),
        ({"from": "2026-11-01"}, 422, "to"),
    ],
)
def test_bad_periods_and_filters_name_their_field(
    reporter: Api, params: dict[str, Any], status: int, field: str
) -> None:
    answer = reporter.get("/reports/activity", **params)

    assert answer.status_code == status, answer.content
    assert answer.json()["field"] == field


def test_an_agent_and_another_data_owner_see_no_numbers(client: Client, tenants: Tenants) -> None:
    agent = Api(client, token_for(tenants.world.agent))
    outsider = Api(client, token_for(grant(tenants.other_user, Perm.REPORTING)))
    period = {"from": "2026-11-01", "to": "2026-11-30"}

    assert agent.get("/reports/activity", **period).status_code == 403
    campaign = {"campaign": tenants.world.campaign.pk, **period}
    assert outsider.get("/reports/activity", **campaign).status_code == 400
