"""Reading through the API: the setup a token's user sees, a CRM's customers a page at a
time with the pages' filters, one customer by id, customer id or phone; bad input gets a
problem, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kundeflyt.accounts.permissions import Perm
from kundeflyt.crm.services import customer_create
from tests.api.conftest import Api, Tenants, grant, token_for
from tests.world import SETUP

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(client: Client, tenants: Tenants) -> Api:
    user = grant(tenants.world.supervisor, Perm.CAMPAIGN_SETUP)
    return Api(client, token_for(user))


def test_the_setup_is_what_the_user_sees(boss: Api, tenants: Tenants) -> None:
    world = tenants.world
    owners = boss.get("/data-owners").json()
    crms = boss.get("/crms").json()
    campaigns = boss.get("/campaigns").json()

    assert [o["id"] for o in owners] == [world.crm.data_owner_id]
    assert [c["id"] for c in crms] == [world.crm.pk]
    assert {f["key"] for f in crms[0]["fields"]} == {"org_number", "employees", "industry"}
    assert [c["id"] for c in campaigns] == [world.campaign.pk]
    assert [s["name"] for s in campaigns[0]["segments"]] == ["Varme", "Kalde"]
    assert "no_answer" in {o["key"] for o in campaigns[0]["outcomes"]}


def test_customers_come_a_page_at_a_time_stable_while_customers_are_added(
    boss: Api, tenants: Tenants
) -> None:
    world = tenants.world
    for n in range(120):
        world.customer(n, fields={"employees": n})
    seen: list[int] = []

    first = boss.get("/customers", crm=world.crm.pk).json()
    seen += [c["id"] for c in first["items"]]
    customer_create(SETUP, crm=world.crm, customer_id="late", name="Sen kunde")
    page = first
    while page["next"]:
        page = boss.client.get(page["next"], headers=boss.headers).json()
        seen += [c["id"] for c in page["items"]]

    assert len(first["items"]) == 50
    assert len(seen) == len(set(seen)) == 121  # the late one at the end, none twice
    assert first["items"][0]["status"]["campaign"] == world.campaign.pk


def test_the_pages_filters_choose_the_customers(boss: Api, tenants: Tenants) -> None:
    world = tenants.world
    for n, employees in enumerate([5, 60, 250]):
        world.customer(n, fields={"employees": employees})
    customer_create(SETUP, crm=world.crm, customer_id="L1", name="Løs", fields={"employees": 80})

    def ids(**filters: Any) -> set[str]:
        answer = boss.get("/customers", crm=world.crm.pk, **filters)
        assert answer.status_code == 200, answer.content
        return {c["customer_id"] for c in answer.json()["items"]}

    assert ids(field="employees", op="range", low="50") == {"1", "2", "L1"}
    assert ids(campaign="none") == {"L1"}
    assert ids(q="Løs") == {"L1"}


def test_one_customer_by_id_customer_id_or_phone(boss: Api, tenants: Tenants) -> None:
    world = tenants.world
    customer = world.customer(7, phone1="+4791234567")

    assert boss.get(f"/customers/{customer.pk}").json()["customer_id"] == "7"
    by_id = boss.get("/customers-lookup/by-customer-id", crm=world.crm.pk, customer_id="7")
    by_phone = boss.get("/customers-lookup/by-phone", crm=world.crm.pk, phone="912 34 567")
    by_id, by_phone = by_id.json(), by_phone.json()
    assert [c["id"] for c in by_id] == [c["id"] for c in by_phone] == [customer.pk]
    # Another data owner's customer does not exist here, whatever the door.
    hidden = tenants.other_customer
    assert boss.get(f"/customers/{hidden.pk}").status_code == 404
    assert boss.get("/customers", crm=hidden.crm_id).status_code == 404
    assert boss.get("/customers-lookup/by-phone", crm=hidden.crm_id, phone="91234567").json() == []
    assert boss.get("/customers-lookup/by-phone", crm=world.crm.pk, phone="ring meg").json() == []


def test_an_agent_may_read_a_customer_but_not_list_a_crm(client: Client, tenants: Tenants) -> None:
    world = tenants.world
    customer = world.customer(1)
    agent = Api(client, token_for(world.agent))

    assert agent.get(f"/customers/{customer.pk}").status_code == 200
    refused = agent.get("/customers", crm=world.crm.pk)
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("params", "field", "status"),
    [
        # Outside the schema: 422.
        ({"limit": "0"}, "limit", 422),
        ({"limit": "501"}, "limit", 422),
        ({"after": "x"}, "after", 422),
        # Within the schema, refused by the filters, as the pages refuse them: 400.
        ({"campaign": "abc"}, "campaign", 400),
        ({"field": "nope"}, "field", 400),
        ({"field": "employees", "op": "range", "low": "1e999999"}, "low", 400),
    ],
)
def test_bad_list_input_names_its_field(
    boss: Api, tenants: Tenants, params: dict[str, str], field: str, status: int
) -> None:
    answer = boss.get("/customers", crm=tenants.world.crm.pk, **params)

    assert answer.status_code == status, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["field"] == field


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    crm=st.one_of(st.integers(), st.text(max_size=30)),
    limit=st.one_of(st.integers(), st.text(max_size=10)),
    after=st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=20)),
    phone=st.text(max_size=50),
    customer=st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=20)),
)
def test_no_input_gets_a_server_error(
    boss: Api, tenants: Tenants, crm: Any, limit: Any, after: Any, phone: str, customer: Any
) -> None:
    for path, params in [
        ("/customers", {"crm": crm, "limit": limit, "after": after}),
        ("/customers-lookup/by-phone", {"crm": crm, "phone": phone}),
        ("/customers-lookup/by-customer-id", {"crm": crm, "customer_id": phone}),
        (f"/customers/{customer}", {}),
    ]:
        answer = boss.get(path, **{k: str(v) for k, v in params.items()})
        assert answer.status_code < 500, (path, params, answer.content)
        if answer.status_code >= 400:
            assert answer["Content-Type"] in (
                "application/problem+json",
                "text/html; charset=utf-8",
            )


def test_a_sync_gets_the_customers_changed_since_its_last_run(boss: Api, tenants: Tenants) -> None:
    import datetime as dt

    from django.utils import timezone

    from kundeflyt.crm.models import Customer
    from kundeflyt.crm.services import customer_update
    from kundeflyt.handling.models import Placement
    from kundeflyt.handling.services import AfterSave, customer_select, outcome_register

    world = tenants.world
    customers = [world.customer(n) for n in range(4)]
    long_ago = timezone.now() - dt.timedelta(days=2)
    Customer.objects.update(updated_at=long_ago)
    Placement.objects.update(state_since=long_ago)
    last_run = timezone.now() - dt.timedelta(days=1)
    customer_update(SETUP, customer=customers[1], changes={"name": "Nytt navn"})
    selection = customer_select(world.agent, customer_id=customers[2].pk)
    outcome_register(  # a final outcome: the customer changes state
        world.agent,
        customer_id=customers[2].pk,
        token=selection.token,
        outcome_id=world.outcome("refused").pk,
        comment="Nei takk",
        then=AfterSave.MY_WORK,
    )

    found = boss.get("/customers", crm=world.crm.pk, changed_since=last_run.isoformat()).json()

    assert [c["id"] for c in found["items"]] == [customers[1].pk, customers[2].pk]
    assert found["items"][0]["name"] == "Nytt navn"
    assert found["items"][1]["status"]["state_key"] != "available"
