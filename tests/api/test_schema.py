"""schemathesis against the live OpenAPI schema: every operation, generated input, as a user
with a token and data of two data owners; never a server error, and every answer is one the
schema declares."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from kundeflyt.accounts.permissions import Perm
from tests.api.conftest import Tenants, grant, token_for

pytestmark = pytest.mark.django_db


# The schema as the API serves it (building it reads no data). Input the schema allows: the
# test sends its token itself, which a negative case (one without the token) cannot take
# away; tests/api/test_read.py sends input outside the schema, and the test below no token.
# A write may refuse input the schema allows: a number that is no phone, a value of the
# wrong type for the CRM's field (400), a version that is not the customer's (412) or none
# (428). Reads may not, but for a report's period.
WRITE_REFUSALS = ["2xx", "400", "401", "403", "404", "409", "412", "422", "428"]
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json",
    get_wsgi_application(),
    config=SchemathesisConfig.from_dict(
        {
            "generation": {"mode": "positive"},
            "operations": [
                {
                    "include-method": method,
                    "checks": {"positive_data_acceptance": {"expected-statuses": WRITE_REFUSALS}},
                }
                for method in ("POST", "PATCH", "PUT", "DELETE")
            ]
            + [
                {  # a period that ends before it starts, or is longer than three years
                    "include-path-regex": "/reports/",
                    "checks": {"positive_data_acceptance": {"expected-statuses": WRITE_REFUSALS}},
                }
            ],
        }
    ),
)


@pytest.fixture(autouse=True)
def keep_the_test_connection() -> Iterator[None]:
    """schemathesis calls the WSGI application itself: Django's request signals would close
    the test's database connection after each call, as the test client keeps them from."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(tenants: Tenants) -> dict[str, str]:
    world = tenants.world
    for n in range(3):
        world.customer(n, phone1=f"+479123456{n}", fields={"employees": n})
    user = grant(world.supervisor, Perm.CAMPAIGN_SETUP)
    return {"Authorization": f"Bearer {token_for(user)}"}


# The fixtures' data and token serve every generated request alike: nothing a read changes.
FIXTURES_SHARED = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@schema.parametrize()
@FIXTURES_SHARED
def test_every_operation_answers_within_its_schema(case: Any, bearer: dict[str, str]) -> None:
    case.call_and_validate(headers=bearer)


@schema.parametrize()
@FIXTURES_SHARED
def test_without_a_token_every_operation_answers_401(case: Any) -> None:
    response = case.call()
    assert response.status_code == 401, (case.path, response.text)


def test_operations_chained_by_their_links_answer_within_their_schemas(
    bearer: dict[str, str], tenants: Tenants
) -> None:
    """Stateful: schemathesis chains operations through the links it infers from the schema
    (customers listed, then one read, changed, moved, taken and registered on; a webhook's
    deliveries, then one sent again), each answer checked as above. The chains start in the
    world's CRM and campaign, so that they reach its customers."""
    world = tenants.world
    real = {"crm": world.crm.pk, "campaign": world.campaign.pk}

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        # Each scenario starts from the same data: what one chain created or took is rolled
        # back before the next, so that Hypothesis, replaying a scenario, sees the answers it
        # saw the first time (otherwise its draws differ and it reports the test as flaky).
        def setup(self) -> None:
            self.savepoint = transaction.savepoint()

        def teardown(self) -> None:
            transaction.savepoint_rollback(self.savepoint)

        def before_call(self, case: Any) -> None:
            # On the case, not the call: the check that auth is not ignored takes it away.
            case.headers = {**(case.headers or {}), **bearer}
            for part in (case.query, case.body):
                if isinstance(part, dict):
                    part.update({k: v for k, v in real.items() if k in part})

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            # A link schemathesis infers may carry a customer's `customer_id` (the CRM's
            # text) into a `{customer_id}` path (ours, a number): a 422 the schema names is
            # then right, not a rejected valid request.
            case.validate_response(
                response, excluded_checks=[positive_data_acceptance], recorder=self.recorder
            )

    Workflow.run(
        settings=settings(
            max_examples=min(settings().max_examples, 25),
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )


def test_the_docs_page_shows_an_example_for_every_operation() -> None:
    from kundeflyt.api.api import api

    operations = [
        (method, path, operation.get("description") or "")
        for path, methods in api.get_openapi_schema()["paths"].items()
        for method, operation in methods.items()
    ]
    without = [f"{m.upper()} {p}" for m, p, text in operations if "curl " not in text]
    assert not without, without
