"""The integration API, version 1: ``/api/v1/``, its OpenAPI schema at
``/api/v1/openapi.json`` and its docs page at ``/api/v1/docs``."""

from __future__ import annotations

from ninja import NinjaAPI

from kundeflyt.api import problems
from kundeflyt.api.auth import TokenAuth
from kundeflyt.api.routes import customers, setup

api = NinjaAPI(
    title="Kundeflyt API",
    version="1",
    description=(
        "Everything a client's CRM needs from Kundeflyt. Every request carries a personal "
        "API token (`Authorization: Bearer …`) and acts as its user: the same permissions, "
        "the same data owners, the same rules as the pages. Refusals are "
        "`application/problem+json` with the field at fault and the reason."
    ),
    auth=TokenAuth(),
    urls_namespace="api",
)
problems.install(api)
api.add_router("", setup.router)
api.add_router("", customers.router)
