"""What every writer of placements shares: the lock, the holder checks, and one update helper
that writes the audit row with it.

Concurrency policy: a claim is a conditional UPDATE that must change exactly one row (it holds
on SQLite, whose transactions are IMMEDIATE, and on PostgreSQL); the presenter on PostgreSQL
first picks a candidate with ``SELECT … FOR UPDATE SKIP LOCKED`` so that many agents asking
at once never wait on each other. Every other transition locks the placement row first and
checks under the lock. No I/O happens inside a locked block.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, has_perm
from kundeflyt.accounts.visibility import campaigns_visible_to
from kundeflyt.campaigns.models import Campaign
from kundeflyt.common.actors import Process, actor_fields
from kundeflyt.common.audit import audit
from kundeflyt.common.errors import Conflict, DomainError, NotFound
from kundeflyt.handling.models import Placement
from kundeflyt.handling.selectors.names import names

Actor = User | Process

# A placement nobody holds: set on release, and on any change that cuts a lapsed selection so
# that a late registration from it is refused (fencing).
NO_HOLDER: dict[str, Any] = {"holder": None, "selected_at": None, "lease_expires_at": None}


def lease_until(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(seconds=settings.SELECTION_LEASE_SECONDS)


def set_by(actor: Actor) -> dict[str, Any]:
    return actor_fields(actor, prefix="set_by")


def placement_snapshot(placement: Placement) -> dict[str, Any]:
    return {
        "campaign": placement.campaign_id,
        "segment": placement.segment_id,
        "state": placement.state_id,
        "follow_up_at": placement.follow_up_at,
        "follow_up_user": placement.follow_up_user_id,
        "holder": placement.holder_id,
        "correction": placement.correction_id,
    }


def locked_placement(customer_id: int, actor: object = None, *, named: bool = False) -> Placement:
    """The placement row, locked for the rest of the transaction.

    Only the row itself is read under the lock: PostgreSQL re-checks a ``FOR UPDATE`` row
    that changed while it waited against the joined rows as they were before it waited, so a
    join on the campaign or state made a concurrently moved row vanish, and a joined customer
    would be the one from before a concurrent erasure or block. Campaign (with its CRM),
    state, segment and holder come from the configuration's names (``actor`` may carry its
    version), at no query; the customer is read when asked for, after the lock. ``named``
    reads it with the lock instead, as it was then: for a caller that only names it."""
    locked = Placement.objects.select_for_update(of=("self",)).filter(pk=customer_id)
    placement = (locked.select_related("customer") if named else locked).first()
    if placement is None:
        raise NotFound(_("The customer is not in any campaign."), field="customer")
    names(actor).attach(placement, "campaign", "state", "segment", "holder")
    return placement


def new_version(now: dt.datetime) -> dict[str, Any]:
    """What every change of a placement writes beside it: the next version, for optimistic
    writes, and when it came (``changed_at``, what a sync of follow-ups asks for)."""
    return {"version": F("version") + 1, "changed_at": now}


def placement_update(
    actor: Actor,
    placement: Placement,
    action: str,
    changes: dict[str, Any],
    *,
    details: dict[str, Any] | None = None,
) -> Placement:
    """Write ``changes`` to a locked placement with a new version, and the audit row that
    names the actor with the placement before and after (and ``details`` of the action, such
    as a correction's reason). Returns the placement as stored."""
    before = placement_snapshot(placement)
    Placement.objects.filter(pk=placement.pk).update(**changes, **new_version(timezone.now()))
    placement = Placement.objects.select_related(
        "campaign__crm", "state", "customer", "holder", "segment"
    ).get(pk=placement.pk)
    audit(
        actor,
        action,
        placement,
        before=before,
        after=placement_snapshot(placement) | (details or {}),
        customer_id=placement.pk,
    )
    return placement


def refuse_if_held(placement: Placement, actor: Actor, now: dt.datetime) -> None:
    """Refuse while another user has the customer open with a live lease, naming them."""
    if (
        placement.holder_id is not None
        and not (isinstance(actor, User) and placement.holder_id == actor.pk)
        and placement.lease_expires_at is not None
        and placement.lease_expires_at > now
    ):
        raise Conflict(
            _("%(user)s has this customer open right now.") % {"user": placement.holder},
            field="customer",
            code="held",
        )


def check_may_be_responsible(
    user: User, campaign: Campaign, *, field: str = "follow_up_user"
) -> None:
    """A follow-up or a correction goes only to an active user who may work the campaign:
    anyone else would never be presented it (rule 10)."""
    if not (
        user.is_active
        and has_perm(user, Perm.CUSTOMER_HANDLING)
        and campaigns_visible_to(user).filter(pk=campaign.pk).exists()
    ):
        raise DomainError(
            _("%(user)s cannot work the campaign “%(campaign)s”.")
            % {"user": user, "campaign": campaign},
            field=field,
        )
