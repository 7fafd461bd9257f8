"""Working customers: every write of placements, events and what they make, one module per
family of operations. Callers import from the package.

- ``selection``: taking, renewing and releasing the current customer (rule 1)
- ``presenting``: the next customer of a campaign (rule 3)
- ``outcomes``: registering outcomes (rule 2, rule 10)
- ``supervision``: moves and follow-ups (rule 4, D9, D10)
- ``corrections``: corrections and report facts (rule 5, D14–D16)
- ``placing``: putting customers into campaigns
- ``placements``: the lock, holder checks and the audited update they all share
"""

from kundeflyt.handling.services.bulk import BulkAction, BulkResult, BulkTarget, customers_bulk
from kundeflyt.handling.services.corrections import (
    correction_cancel,
    correction_send,
    correction_start,
    event_report_facts_change,
)
from kundeflyt.handling.services.giving_out import GiveOut, customers_give_out, selection_save
from kundeflyt.handling.services.outcomes import (
    AfterSave,
    MeetingInput,
    ProductInput,
    outcome_register,
)
from kundeflyt.handling.services.placing import (
    customer_add,
    placement_create,
    placements_create,
    segment_for,
    segment_rules,
)
from kundeflyt.handling.services.presenting import customer_present_next
from kundeflyt.handling.services.selection import (
    Selection,
    customer_release,
    customer_select,
    selection_renew,
    selection_stop,
)
from kundeflyt.handling.services.supervision import (
    customer_move,
    customer_place,
    follow_up_hand_over,
    follow_up_set,
    follow_ups_reassign,
    lost_customers_repair,
)

__all__ = [
    "AfterSave",
    "BulkAction",
    "BulkResult",
    "BulkTarget",
    "GiveOut",
    "MeetingInput",
    "ProductInput",
    "Selection",
    "correction_cancel",
    "correction_send",
    "correction_start",
    "customer_add",
    "customer_move",
    "customer_place",
    "customer_present_next",
    "customer_release",
    "customer_select",
    "customers_bulk",
    "customers_give_out",
    "event_report_facts_change",
    "follow_up_hand_over",
    "follow_up_set",
    "follow_ups_reassign",
    "lost_customers_repair",
    "outcome_register",
    "placement_create",
    "placements_create",
    "segment_for",
    "segment_rules",
    "selection_renew",
    "selection_save",
    "selection_stop",
]
