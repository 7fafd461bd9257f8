"""Exports as rows, always given the requesting user: what they may see and which columns
their permissions show are decided here (DESIGN.md rule 9), never in a view.

One module per kind: ``customers`` and ``registrations``; what they share in ``common``; a
user's own exports in ``mine``.
"""

from kundeflyt.exports.selectors.common import CHUNK, Listing
from kundeflyt.exports.selectors.customers import (
    campaign_customers_export,
    check_may_export_customers,
    crm_customers_export,
    customers_listing,
    may_export_customers,
)
from kundeflyt.exports.selectors.mine import export_of, export_progress, exports_of
from kundeflyt.exports.selectors.registrations import (
    BASES,
    REGISTERED,
    REPORTS,
    RegistrationFilter,
    products_and_meetings,
    registrations_export,
    registrations_matching,
)

__all__ = [
    "BASES",
    "CHUNK",
    "REGISTERED",
    "REPORTS",
    "Listing",
    "RegistrationFilter",
    "campaign_customers_export",
    "check_may_export_customers",
    "crm_customers_export",
    "customers_listing",
    "export_of",
    "export_progress",
    "exports_of",
    "may_export_customers",
    "products_and_meetings",
    "registrations_export",
    "registrations_matching",
]
