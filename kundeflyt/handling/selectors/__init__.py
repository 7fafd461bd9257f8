"""Reads of customers in their campaigns, always given the user so that visibility holds, one
module per page or purpose. Callers import from the package.

- ``work``: the current customer, My work, the side panel
- ``screen``: the customer screen, its card and outcome panel
- ``details``: customer details, presence and the audit trail in words
- ``lists``: the one filter set of customer lists
- ``search``: finding customers
- ``reach``: rule 10, customers no one would be presented
- ``selected``: who has which customer open
"""

from kundeflyt.campaigns.config import campaign_workers
from kundeflyt.handling.selectors.customers import (
    CustomerFilter,
    check_may_handle_all,
    customers_filtered,
    imports_into,
)
from kundeflyt.handling.selectors.details import (
    AuditRow,
    CustomerDetails,
    Presence,
    audit_rows,
    customer_details,
    customer_presence,
)
from kundeflyt.handling.selectors.lists import FieldFilter, PlacementFilter, placements_filtered
from kundeflyt.handling.selectors.reach import REACH, placements_out_of_reach
from kundeflyt.handling.selectors.screen import (
    CardField,
    CustomerScreen,
    OutcomeChoice,
    OutcomePanel,
    card_fields,
    customer_events,
    customer_screen,
    display_value,
    offered_outcomes,
    outcome_panel,
)
from kundeflyt.handling.selectors.search import customers_matching
from kundeflyt.handling.selectors.selected import selected_customers
from kundeflyt.handling.selectors.work import (
    OVERDUE_SHOWN,
    MyWork,
    SidePanel,
    current_selection,
    my_follow_ups,
    my_overdue,
    my_work,
    side_panel,
)

__all__ = [
    "OVERDUE_SHOWN",
    "REACH",
    "AuditRow",
    "CardField",
    "CustomerDetails",
    "CustomerFilter",
    "CustomerScreen",
    "FieldFilter",
    "MyWork",
    "OutcomeChoice",
    "OutcomePanel",
    "PlacementFilter",
    "Presence",
    "SidePanel",
    "audit_rows",
    "campaign_workers",
    "card_fields",
    "check_may_handle_all",
    "current_selection",
    "customer_details",
    "customer_events",
    "customer_presence",
    "customer_screen",
    "customers_filtered",
    "customers_matching",
    "display_value",
    "imports_into",
    "my_follow_ups",
    "my_overdue",
    "my_work",
    "offered_outcomes",
    "outcome_panel",
    "placements_filtered",
    "placements_out_of_reach",
    "selected_customers",
    "side_panel",
]
