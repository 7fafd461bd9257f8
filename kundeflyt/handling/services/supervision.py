"""Supervising: moving customers and changing their follow-ups (rule 4, D9, D10)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import (
    campaigns_visible_to,
    check_may_see_customers_of,
    customers_visible_to,
)
from kundeflyt.campaigns.calling_hours import check_follow_up_time
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.bounds import check_moment
from kundeflyt.common.errors import Conflict, DomainError, NotAllowed, NotFound, Stale
from kundeflyt.handling.models import CorrectionRequest, Placement
from kundeflyt.handling.selectors.reach import placements_out_of_reach
from kundeflyt.handling.services.placements import (
    NO_HOLDER,
    Actor,
    check_may_be_responsible,
    locked_placement,
    placement_update,
    refuse_if_held,
    set_by,
)
from kundeflyt.handling.services.placing import placement_create, segment_for, segment_rules
from kundeflyt.handling.transitions import needs_follow_up
from kundeflyt.webhooks.models import EventType
from kundeflyt.webhooks.services import webhook_emit


def _check_supervise(actor: Actor, placement: Placement, now: dt.datetime) -> None:
    require(actor, Perm.EXTENDED_CUSTOMER_HANDLING)
    check_may_see_customers_of(actor, placement.campaign_id)
    refuse_if_held(placement, actor, now)


def _check_version(placement: Placement, version: int | None) -> None:
    if version is not None and version != placement.version:
        raise Stale(_("The customer's status changed since you read it. Read it again."))


@transaction.atomic(durable=True)
def customer_move(
    actor: Actor,
    *,
    customer_id: int,
    campaign: Campaign | None = None,
    segment: Segment | None = None,
    version: int | None = None,
) -> Placement:
    """Rule 4: to another campaign of the same CRM the customer becomes available there and
    loses its follow-up (and a correction it waited for is withdrawn); it lands in the named
    segment of that campaign, or the one whose rule takes it, or unsegmented. To another
    segment of the same campaign its state stays. With ``version`` (the placement's, as the
    mover read it) the move is made only if nothing changed the placement since."""
    now = timezone.now()
    placement = locked_placement(customer_id, actor)
    _check_supervise(actor, placement, now)
    _check_version(placement, version)
    return move(actor, placement, campaign=campaign, segment=segment, now=now)


@transaction.atomic(durable=True)
def customer_place(
    actor: Actor, *, customer_id: int, campaign: Campaign, segment: Segment | None = None
) -> Placement:
    """Rule 4 for a customer in no campaign: into ``campaign``, available, in ``segment`` or
    the one whose rule takes it. A customer already placed is moved instead
    (``customer_move``), and a blocked number is never placed."""
    require(actor, Perm.EXTENDED_CUSTOMER_HANDLING)
    visible = customers_visible_to(actor)
    customer = visible.select_for_update(of=("self",)).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("No such customer."), field="customer")
    if Placement.objects.filter(pk=customer_id).exists():
        raise Conflict(_("The customer is in a campaign already: move it."), field="customer")
    if customer.is_blocked:
        raise DomainError(_("A customer with a blocked number is never placed."), field="customer")
    if not campaigns_visible_to(actor).filter(pk=campaign.pk).exists():
        raise NotAllowed(_("You do not have access to the target campaign."), field="campaign")
    placement = placement_create(actor, customer=customer, campaign=campaign, segment=segment)
    to = {"campaign": campaign.pk, "segment": placement.segment_id}
    webhook_emit(
        campaign.crm_id,
        (EventType.CUSTOMER_MOVED, {"customer": customer_id, "from": None, "to": to}),
    )
    return placement


def move(
    actor: Actor,
    placement: Placement,
    *,
    campaign: Campaign | None,
    segment: Segment | None,
    now: dt.datetime,
) -> Placement:
    """``customer_move`` on a placement the caller has locked and checked (a give-out moves
    many in one batch)."""
    changes: dict[str, Any] = dict(NO_HOLDER)
    if campaign is not None and campaign.pk != placement.campaign_id:
        if campaign.crm_id != placement.customer.crm_id:
            raise DomainError(
                _("Customers can only be moved within their own CRM and data owner."),
                field="campaign",
            )
        if not campaigns_visible_to(actor).filter(pk=campaign.pk).exists():
            raise NotAllowed(_("You do not have access to the target campaign."), field="campaign")
        if segment is not None and segment.campaign_id != campaign.pk:
            raise DomainError(_("The segment belongs to another campaign."), field="segment")
        if segment is None:
            segment = segment_for(placement.customer.fields, segment_rules(campaign))
        if placement.correction_id is not None:
            # The registration can no longer be corrected in its campaign (rule 5).
            CorrectionRequest.objects.filter(pk=placement.correction_id).update(
                status=CorrectionRequest.Status.CANCELLED
            )
        changes |= {
            "campaign": campaign,
            "segment": segment,
            "state": campaign.flow.entry_state(),
            "state_since": now,
            "is_final": False,
            "follow_up_at": None,
            "follow_up_user": None,
            "attempts": 0,
            "last_attempt_at": None,
            "waiting_since": now,
            "correction": None,
            **set_by(actor),
        }
    elif segment is not None or campaign is None:
        if segment is not None and segment.campaign_id != placement.campaign_id:
            raise DomainError(_("The segment belongs to another campaign."), field="segment")
        if segment is None and placement.segment_id is None:
            raise DomainError(_("Choose a campaign or a segment to move to."), field="segment")
        changes["segment"] = segment
    else:
        raise DomainError(_("The customer is already in that campaign."), field="campaign")
    moved_from = {"campaign": placement.campaign_id, "segment": placement.segment_id}
    placement = placement_update(actor, placement, "customer.move", changes)
    to = {"campaign": placement.campaign_id, "segment": placement.segment_id}
    webhook_emit(
        placement.campaign.crm_id,
        (EventType.CUSTOMER_MOVED, {"customer": placement.pk, "from": moved_from, "to": to}),
    )
    return placement


@transaction.atomic(durable=True)
def follow_up_set(
    actor: Actor,
    *,
    customer_id: int,
    follow_up_at: dt.datetime | None,
    responsible: User | None,
    version: int | None = None,
) -> Placement:
    """D9: when the customer is followed up and by whom (None: shared), in one change.

    Clearing the time (and with it the responsible user) puts a customer in an available state
    back in the campaign's queue; it is refused for a customer in a follow-up or in-progress
    state, which is worked only through its follow-up (rule 10). A new time in a campaign the
    marketing law binds falls in its calling hours (rule 11). With ``version`` (the
    placement's, as read) the change is made only if nothing changed the placement since."""
    now = timezone.now()
    placement = locked_placement(customer_id, actor)
    _check_supervise(actor, placement, now)
    _check_version(placement, version)
    if placement.is_final:
        raise DomainError(_("A customer in a final state gets no follow-up."), field="follow_up_at")
    if follow_up_at is None:
        if needs_follow_up(placement.state):
            raise DomainError(
                _(
                    "A customer in “%(state)s” is worked through its follow-up: choose a new "
                    "time instead of clearing it."
                )
                % {"state": placement.state},
                field="follow_up_at",
            )
        responsible = None
    elif follow_up_at <= now:
        raise DomainError(_("The follow-up time must be in the future."), field="follow_up_at")
    else:
        check_moment(follow_up_at, field="follow_up_at")
        if follow_up_at != placement.follow_up_at:  # handing over keeps the time it had
            check_follow_up_time(placement.campaign, follow_up_at)  # DESIGN.md rule 11
    if responsible is not None and responsible.pk != placement.follow_up_user_id:
        check_may_be_responsible(responsible, placement.campaign)
    changes = {"follow_up_at": follow_up_at, "follow_up_user": responsible}
    if (follow_up_at, responsible.pk if responsible else None) == (
        placement.follow_up_at,
        placement.follow_up_user_id,
    ):
        return placement
    action = "followup.clear" if follow_up_at is None else "followup.change"
    return placement_update(actor, placement, action, changes)


@transaction.atomic(durable=True)
def follow_up_hand_over(actor: Actor, *, customer_id: int, responsible: User | None) -> Placement:
    """Give a customer's follow-up to another user (None: shared), its time unchanged, even
    when it is overdue (a bulk action on a list)."""
    now = timezone.now()
    placement = locked_placement(customer_id, actor)
    _check_supervise(actor, placement, now)
    if placement.follow_up_at is None or placement.is_final:
        raise DomainError(_("The customer has no follow-up to hand over."), field="customer")
    if responsible is not None:
        check_may_be_responsible(responsible, placement.campaign)
    if (responsible.pk if responsible else None) == placement.follow_up_user_id:
        return placement
    return placement_update(actor, placement, "followup.reassign", {"follow_up_user": responsible})


@transaction.atomic(durable=True)
def follow_ups_reassign(
    actor: Actor,
    *,
    campaign: Campaign,
    to_user: User | None,
    from_user: User | None = None,
) -> int:
    """Hand the campaign's personal follow-ups of ``from_user``, or of every archived user
    when None (presented to no one else: rule 10), to ``to_user``, or make them shared.
    Each is audited; a customer someone has open right now is refused before anything
    changes. Returns how many were handed over."""
    require(actor, Perm.EXTENDED_CUSTOMER_HANDLING)
    check_may_see_customers_of(actor, campaign.pk)
    if to_user is not None:
        check_may_be_responsible(to_user, campaign, field="to_user")
    now = timezone.now()
    placements = Placement.objects.filter(campaign=campaign, is_final=False)
    if from_user is None:
        placements = placements.filter(follow_up_user__is_active=False)
    else:
        placements = placements.filter(follow_up_user=from_user)
    if to_user is not None:
        placements = placements.exclude(follow_up_user=to_user)
    ids = list(placements.order_by("pk").values_list("pk", flat=True))
    for customer_id in ids:  # locked in key order, as every bulk change is
        placement = locked_placement(customer_id, actor)
        refuse_if_held(placement, actor, now)
        placement_update(actor, placement, "followup.reassign", {"follow_up_user": to_user})
    return len(ids)


@transaction.atomic(durable=True)
def lost_customers_repair(actor: Actor) -> int:
    """Rule 10 for what was lost before it was kept: each lost customer becomes a shared
    follow-up due now (and one pointing at a correction no one will register is freed of
    it), audited. Returns how many were repaired."""
    require(actor, Perm.ADMINISTRATOR)
    now = timezone.now()
    ids = list(placements_out_of_reach("lost").order_by("pk").values_list("pk", flat=True))
    for customer_id in ids:  # locked in key order, as every bulk change is
        placement = locked_placement(customer_id, actor)
        changes: dict[str, Any] = {}
        if placement.correction_id is not None:
            changes["correction"] = None
        if placement.follow_up_at is None and needs_follow_up(placement.state):
            changes |= {"follow_up_at": now, "follow_up_user": None}
        placement_update(actor, placement, "placement.repair", changes)
    return len(ids)
