"""How a registered outcome moves a placement: one pure function, used by ``outcome_register``
and by the demo builder alike, so that the two can never disagree.

Rule 10 (no customer is lost) is kept here: a customer left in a follow-up or in-progress
state always has a follow-up time, and an attempt never clears a follow-up, it moves it to
the next retry time.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from kundeflyt.flows.models import StateKind

if TYPE_CHECKING:
    from kundeflyt.accounts.models import User
    from kundeflyt.flows.models import Outcome, State
    from kundeflyt.handling.models import Placement


def needs_follow_up(state: State) -> bool:
    """Customers in these states are worked only through their follow-up (rule 10)."""
    return state.kind in (StateKind.FOLLOW_UP, StateKind.IN_PROGRESS)


def after_outcome(
    placement: Placement,
    *,
    outcome: Outcome,
    from_state: State,
    at: dt.datetime,
    follow_up_at: dt.datetime | None,
    follow_up_user: User | None,
    retry_at: dt.datetime,
) -> dict[str, Any]:
    """The placement's new column values after ``outcome`` was registered from
    ``from_state`` at ``at`` (``from_state`` differs from the placement's state only when a
    correction rewinds the latest outcome).

    A follow-up the outcome sets wins. Otherwise an attempt on a customer with a follow-up
    moves it to ``retry_at`` with the same responsible user, and a customer that lands in a
    follow-up or in-progress state without one gets a shared follow-up at ``retry_at``."""
    to_state = outcome.to_state or from_state
    changes: dict[str, Any] = {
        "follow_up_at": follow_up_at,
        "follow_up_user_id": follow_up_user.pk if follow_up_user else None,
    }
    attempt = not outcome.is_progressive and to_state.pk == placement.state_id
    if attempt:
        changes |= {
            "attempts": placement.attempts + 1,
            "last_attempt_at": at,
            "waiting_since": at,
        }
    else:
        changes |= {"state": to_state, "is_final": to_state.is_final, "attempts": 0}
        if to_state.pk != placement.state_id:
            changes["state_since"] = at
    if follow_up_at is None and not to_state.is_final:
        if attempt and placement.follow_up_at is not None:
            changes |= {"follow_up_at": retry_at, "follow_up_user_id": placement.follow_up_user_id}
        elif needs_follow_up(to_state):
            changes |= {"follow_up_at": retry_at, "follow_up_user_id": None}
    return changes
