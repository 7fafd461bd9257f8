"""Corrections and report facts (rule 5, D14–D16): nothing is destroyed, the wrong event leaves
the reports and the right one enters them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import campaigns_visible_to
from kundeflyt.common.actors import actor_fields
from kundeflyt.common.audit import audit
from kundeflyt.common.bounds import LONG_TEXT, bounded_text, check_moment
from kundeflyt.common.errors import Conflict, DomainError, NotFound
from kundeflyt.flows.models import Outcome
from kundeflyt.handling.models import CorrectionRequest, Event, Placement
from kundeflyt.handling.services.placements import (
    NO_HOLDER,
    Actor,
    check_may_be_responsible,
    locked_placement,
    placement_update,
    refuse_if_held,
)
from kundeflyt.handling.services.selection import Selection, select
from kundeflyt.reports.rollup import rollup_event


def open_correction(placement: Placement, user: User) -> CorrectionRequest | None:
    """The correction the user must register on this customer, if any."""
    if placement.correction_id is None:
        return None
    correction = (
        CorrectionRequest.objects.select_related(
            "event__from_state", "event__segment", "event__counts_for_user"
        )
        .filter(pk=placement.correction_id, status=CorrectionRequest.Status.OPEN)
        .first()
    )
    return correction if correction and correction.to_user_id == user.pk else None


def is_latest(event: Event) -> bool:
    latest = (
        Event.objects.filter(customer_id=event.customer_id, is_corrected=False)
        .order_by("-registered_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return latest == event.pk


def replace(old: Event, new: Event, correction: CorrectionRequest) -> None:
    """The old event leaves the reports and points to the new one; both stay in history."""
    if not Event.objects.filter(pk=old.pk, is_corrected=False).update(is_corrected=True):
        raise Conflict(_("That registration has already been corrected."), field="event")
    rollup_event(old, -1)  # with its facts as they were: it counted until now
    old.is_corrected = True
    CorrectionRequest.objects.filter(pk=correction.pk).update(status=CorrectionRequest.Status.DONE)


def _event_for_correction(actor: Actor, event_id: int) -> tuple[Event, Placement]:
    require(actor, Perm.CORRECT_REGISTRATIONS)
    event = (
        Event.objects.select_related("campaign", "from_state", "outcome", "actor_user")
        .filter(pk=event_id, campaign__in=campaigns_visible_to(actor))
        .first()
    )
    if event is None:
        raise NotFound(_("No such registration."), field="event")
    if event.is_corrected:
        raise Conflict(
            _("That registration has already been corrected."), field="event", code="corrected"
        )
    placement = locked_placement(event.customer_id, actor)
    refuse_if_held(placement, actor, timezone.now())
    if placement.campaign_id != event.campaign_id:
        raise DomainError(
            _(
                "The customer has moved on to “%(campaign)s”; registrations of an earlier "
                "campaign cannot be corrected there."
            )
            % {"campaign": placement.campaign},
            field="event",
        )
    if CorrectionRequest.objects.filter(event=event, status=CorrectionRequest.Status.OPEN).exists():
        raise Conflict(
            _("That registration is already waiting for correction."), field="event", code="pending"
        )
    if placement.correction_id is not None:
        raise Conflict(
            _("The customer already waits for another correction."), field="event", code="pending"
        )
    return event, placement


def _await_correction(
    actor: Actor,
    placement: Placement,
    correction: CorrectionRequest,
    action: str,
    details: dict[str, Any],
) -> None:
    """The customer waits for the correction; a lapsed selection is cut, so that a late
    registration from it is refused (fencing)."""
    placement_update(
        actor,
        placement,
        action,
        {"correction": correction, **NO_HOLDER},
        details={"event": correction.event_id, **details},
    )


@transaction.atomic(durable=True)
def correction_send(
    actor: Actor,
    *,
    event_id: int,
    to_user: User,
    reason: str,
    allowed_outcome_ids: Sequence[int],
    as_original: bool = True,
) -> CorrectionRequest:
    """D14: send a registration back to a user with a reason; the customer waits in their
    My work, and they may register only the allowed outcomes."""
    event, placement = _event_for_correction(actor, event_id)
    reason = bounded_text(reason, field="reason", max_length=LONG_TEXT)
    if not reason:
        raise DomainError(_("Write why the registration must be corrected."), field="reason")
    allowed = list(Outcome.objects.filter(pk__in=allowed_outcome_ids, flow=event.campaign.flow_id))
    if not allowed or len(allowed) != len(set(allowed_outcome_ids)):
        raise DomainError(
            _("Tick the outcomes that may be used, from the campaign's flow."),
            field="allowed_outcomes",
        )
    check_may_be_responsible(to_user, placement.campaign, field="to_user")
    correction = CorrectionRequest.objects.create(
        event=event,
        to_user=to_user,
        reason=reason,
        created_at=timezone.now(),
        as_original=as_original,
        **actor_fields(actor),
    )
    correction.allowed_outcomes.set(allowed)
    _await_correction(
        actor,
        placement,
        correction,
        "correction.send",
        {
            "to_user": to_user.pk,
            "reason": reason,
            "allowed_outcomes": [o.pk for o in allowed],
            "as_original": as_original,
        },
    )
    return correction


@transaction.atomic(durable=True)
def correction_start(user: User, *, event_id: int, as_original: bool) -> Selection:
    """D15: correct a registration oneself, without telling anyone: the customer becomes the
    user's current one, to register the right outcome from the state the wrong one started
    in. Both happen or neither does."""
    event, placement = _event_for_correction(user, event_id)
    allowed = list(
        Outcome.objects.filter(flow=event.campaign.flow_id, from_states=event.from_state)
    )
    correction = CorrectionRequest.objects.create(
        event=event,
        to_user=user,
        reason="",
        created_at=timezone.now(),
        as_original=as_original,
        **actor_fields(user),
    )
    correction.allowed_outcomes.set(allowed)
    _await_correction(user, placement, correction, "correction.start", {"as_original": as_original})
    return select(user, customer_id=event.customer_id, manual=False)


@transaction.atomic(durable=True)
def correction_cancel(actor: Actor, *, correction_id: int) -> None:
    """Withdraw a correction nobody has registered yet; the customer is free again, in the
    state and with the follow-up it had (rule 10 holds as before the correction)."""
    require(actor, Perm.CORRECT_REGISTRATIONS)
    correction = (
        CorrectionRequest.objects.filter(
            pk=correction_id,
            status=CorrectionRequest.Status.OPEN,
            event__campaign__in=campaigns_visible_to(actor),
        )
        .select_related("event")
        .first()
    )
    if correction is None:
        raise NotFound(_("No open correction."), field="correction")
    placement = locked_placement(correction.event.customer_id, actor)
    CorrectionRequest.objects.filter(pk=correction.pk).update(
        status=CorrectionRequest.Status.CANCELLED
    )
    placement_update(
        actor,
        placement,
        "correction.cancel",
        {"correction": None},
        details={"event": correction.event_id},
    )


@transaction.atomic(durable=True)
def event_report_facts_change(
    actor: Actor,
    *,
    event_id: int,
    included_in_reports: bool,
    counts_for_user: User | None,
    counts_at: dt.datetime,
) -> Event:
    """D16: whether and for whom and when a registration counts in reports; the event itself
    and the customer's history are untouched."""
    require(actor, Perm.CORRECT_REGISTRATIONS)
    event = (
        Event.objects.select_for_update(of=("self",))
        .filter(pk=event_id, campaign__in=campaigns_visible_to(actor))
        .first()
    )
    if event is None:
        raise NotFound(_("No such registration."), field="event")
    if counts_for_user is not None and not counts_for_user.is_active:
        raise DomainError(_("Choose an active user."), field="counts_for_user")
    check_moment(counts_at, field="counts_at")
    before = {
        "included_in_reports": event.included_in_reports,
        "counts_for_user": event.counts_for_user_id,
        "counts_at": event.counts_at,
    }
    after = {
        "included_in_reports": included_in_reports,
        "counts_for_user": counts_for_user.pk if counts_for_user else None,
        "counts_at": counts_at,
    }
    if before == after:
        return event
    rollup_event(event, -1)
    Event.objects.filter(pk=event.pk).update(
        included_in_reports=included_in_reports,
        counts_for_user=counts_for_user,
        counts_at=counts_at,
    )
    event.refresh_from_db()
    rollup_event(event, +1)
    audit(
        actor,
        "event.report_facts",
        event,
        before=before,
        after=after,
        customer_id=event.customer_id,
    )
    return event
