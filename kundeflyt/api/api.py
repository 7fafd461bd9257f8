"""The integration API, version 1: ``/api/v1/``, its OpenAPI schema at
``/api/v1/openapi.json`` and its docs page at ``/api/v1/docs``."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation

from kundeflyt.api import problems
from kundeflyt.api.auth import TokenAuth, TokenRate
from kundeflyt.api.problems import PROBLEM
from kundeflyt.api.routes import (
    customers,
    imports,
    placements,
    registrations,
    reports,
    sales,
    setup,
    webhooks,
    work,
)


class KundeflytAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        """The operation's own name (`customers_list`), for the code clients generate."""
        return operation.view_func.__name__

    def get_openapi_schema(self, **kwargs: Any) -> OpenAPISchema:
        """Refusals are documented as what they are: ``application/problem+json``."""
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for code, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if int(code) >= 400 and "application/json" in content:
                        answer["content"] = {PROBLEM: content["application/json"]}
        return schema


api = KundeflytAPI(
    title="Kundeflyt API",
    version="1",
    description=(
        "Everything a client's CRM needs from Kundeflyt. Every request carries a personal "
        "API token (`Authorization: Bearer …`) and acts as its user: the same permissions, "
        "the same data owners, the same rules as the pages. Refusals are "
        "`application/problem+json` with the field at fault and the reason."
    ),
    auth=TokenAuth(),
    throttle=[TokenRate()],
    urls_namespace="api",
)
problems.install(api)
api.add_router("", setup.router)
api.add_router("", customers.router)
api.add_router("", placements.router)
api.add_router("", registrations.router)
api.add_router("", sales.router)
api.add_router("", work.router)
api.add_router("", reports.router)
api.add_router("", imports.router)
api.add_router("", webhooks.router)
