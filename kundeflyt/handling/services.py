"""Working customers: placing, taking, presenting, registering outcomes, moving, follow-ups.

Concurrency policy: a claim is a conditional UPDATE that must change exactly one row (it holds
on SQLite, whose transactions are IMMEDIATE, and on PostgreSQL); the presenter on PostgreSQL
first picks a candidate with ``SELECT … FOR UPDATE SKIP LOCKED`` so that many agents asking
at once never wait on each other. Every other transition locks the placement row first and
checks under the lock. No I/O happens inside a locked block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, has_perm, require
from kundeflyt.campaigns.models import Campaign, ExtraField, OutcomeOption, Product, Segment
from kundeflyt.campaigns.selectors import campaigns_visible_to, check_may_work
from kundeflyt.common.actors import PRESENTER, Process, actor_fields
from kundeflyt.common.audit import audit
from kundeflyt.common.errors import Conflict, DomainError, NotAllowed, NotFound
from kundeflyt.common.fields import clean_field_value
from kundeflyt.crm.models import Customer
from kundeflyt.flows.models import FollowUpRule, Outcome, ProductRule, StateKind
from kundeflyt.handling.models import CorrectionRequest, Event, Meeting, Placement, ProductLine
from kundeflyt.reports.rollup import rollup_event

Actor = User | Process


class AfterSave(StrEnum):
    """What the agent gets after saving an outcome (DESIGN.md rule 2)."""

    NEXT_FROM_LIST = "list"
    MY_WORK = "my_work"
    STAY = "stay"


@dataclass(frozen=True)
class Selection:
    """A user's hold on a customer. ``token`` fences writes from an earlier holder."""

    placement: Placement
    token: int

    @property
    def customer_id(self) -> int:
        return self.placement.pk


@dataclass(frozen=True)
class ProductInput:
    product_id: int
    quantity: int = 1
    unit_price: Decimal | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MeetingInput:
    starts_at: dt.datetime
    duration_minutes: int = 60
    place: str = ""
    with_whom: str = ""


def _lease_until(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(seconds=settings.SELECTION_LEASE_SECONDS)


def _set_by(actor: Actor) -> dict[str, Any]:
    return actor_fields(actor, prefix="set_by")


def _placement_snapshot(placement: Placement) -> dict[str, Any]:
    return {
        "campaign": placement.campaign_id,
        "segment": placement.segment_id,
        "state": placement.state_id,
        "follow_up_at": placement.follow_up_at,
        "follow_up_user": placement.follow_up_user_id,
        "holder": placement.holder_id,
    }


def _locked_placement(customer_id: int) -> Placement:
    """The placement row, locked for the rest of the transaction.

    The bare row is locked first and read with its relations after: PostgreSQL re-checks a
    ``FOR UPDATE`` row that changed while it waited against the joined rows it had read
    before, so a concurrent move (new campaign and state) made the row vanish and the caller
    report "not in any campaign" instead of seeing the move."""
    locked = Placement.objects.select_for_update().filter(pk=customer_id)
    if not list(locked.values_list("pk", flat=True)):
        raise NotFound(_("The customer is not in any campaign."), field="customer")
    return Placement.objects.select_related(
        "campaign", "state", "customer", "holder", "segment"
    ).get(pk=customer_id)


def _free_or_mine(user: User, now: dt.datetime) -> Q:
    return Q(holder__isnull=True) | Q(holder=user) | Q(lease_expires_at__lte=now)


# A placement nobody holds: set on release, and on any change that cuts a lapsed selection so
# that a late registration from it is refused (fencing).
NO_HOLDER: dict[str, Any] = {"holder": None, "selected_at": None, "lease_expires_at": None}


def _refuse_if_held(placement: Placement, actor: Actor, now: dt.datetime) -> None:
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


def _release_others(user: User, *, keep: int | None = None) -> None:
    """Rule 1: taking a customer drops whatever the user held before (audited as a release)."""
    mine = Placement.objects.filter(holder=user)
    if keep is not None:
        mine = mine.exclude(pk=keep)
    released = list(mine.values_list("pk", flat=True))
    if not released:
        return
    Placement.objects.filter(pk__in=released, holder=user).update(**NO_HOLDER)
    for pk in released:
        audit(
            user,
            "customer.release",
            Placement(pk=pk),
            before={"holder": user.pk},
            after={"holder": None},
            customer_id=pk,
        )


def _claim(user: User, placement_id: int, now: dt.datetime, extra: Q | None = None) -> int:
    """Conditional UPDATE: the row becomes the user's only if nobody else holds it."""
    condition = _free_or_mine(user, now) & Q(pk=placement_id)
    if extra is not None:
        condition &= extra
    try:
        with transaction.atomic():
            return Placement.objects.filter(condition).update(
                holder=user,
                selected_at=now,
                lease_expires_at=_lease_until(now),
                lease_token=F("lease_token") + 1,
                version=F("version") + 1,
            )
    except IntegrityError:
        # The partial unique index on holder: the same user took another customer meanwhile.
        raise Conflict(_("You already have a current customer."), field="customer") from None


# --- Placing -------------------------------------------------------------------------------


def placement_create(
    actor: Actor, *, customer: Customer, campaign: Campaign, segment: Segment | None = None
) -> Placement:
    """Put a customer that is in no campaign into ``campaign``, available there. Called inside
    the creator's transaction (customer creation, import)."""
    if campaign.crm_id != customer.crm_id:
        raise DomainError(
            _("The campaign belongs to another CRM than the customer."), field="campaign"
        )
    if segment is not None and segment.campaign_id != campaign.pk:
        raise DomainError(_("The segment belongs to another campaign."), field="segment")
    now = timezone.now()
    placement = Placement.objects.create(
        customer=customer,
        campaign=campaign,
        segment=segment,
        state=campaign.flow.entry_state(),
        state_since=now,
        waiting_since=now,
        **_set_by(actor),
    )
    audit(
        actor,
        "placement.create",
        placement,
        after=_placement_snapshot(placement),
        customer_id=customer.pk,
    )
    return placement


# --- Taking and releasing ------------------------------------------------------------------


@transaction.atomic(durable=True)
def customer_select(user: User, *, customer_id: int, manual: bool = True) -> Selection:
    """Take a customer as the user's current one (rule 1). Refused when someone else holds it
    (naming them), the campaign is not visible or open, the customer is blocked or final, or,
    for manual taking, the campaign is predictive."""
    now = timezone.now()
    placement = (
        Placement.objects.select_related(
            "campaign", "state", "customer", "holder", "correction__to_user"
        )
        .filter(pk=customer_id)
        .first()
    )
    if placement is None or not (
        campaigns_visible_to(user).filter(pk=placement.campaign_id).exists()
    ):
        raise NotFound(_("No such customer."), field="customer")
    check_may_work(user, placement.campaign)
    correction = placement.correction
    if correction is not None and correction.status == CorrectionRequest.Status.OPEN:
        if correction.to_user_id != user.pk:
            raise Conflict(
                _("The customer waits for correction by %(user)s.") % {"user": correction.to_user},
                field="customer",
                code="correction",
            )
        # A correction is opened from My work or customer details whatever the campaign's
        # mode, and may start from a final state (the registration being corrected).
        manual = False
    if manual and placement.campaign.is_predictive:
        raise DomainError(
            _(
                "The campaign “%(campaign)s” presents customers itself; they cannot be taken "
                "by hand."
            )
            % {"campaign": placement.campaign},
            field="customer",
            code="predictive",
        )
    if placement.customer.is_blocked:
        raise DomainError(
            _("The customer's number is on the block list."), field="customer", code="blocked"
        )
    if placement.is_final and correction is None:
        raise DomainError(
            _("The customer is in the final state “%(state)s”.") % {"state": placement.state},
            field="customer",
            code="final",
        )
    if (
        placement.holder_id == user.pk
        and placement.lease_expires_at
        and (placement.lease_expires_at > now)
    ):
        # Taking one's own current customer again (a second tab) keeps the same selection.
        Placement.objects.filter(pk=customer_id).update(lease_expires_at=_lease_until(now))
        return Selection(placement, placement.lease_token)
    _release_others(user, keep=customer_id)
    still = Q(campaign=placement.campaign_id)
    if correction is None:
        still &= Q(is_final=False)
    changed = _claim(user, customer_id, now, still)
    if not changed:
        holder = Placement.objects.select_related("holder").get(pk=customer_id).holder
        raise Conflict(
            _("%(user)s has this customer open right now.") % {"user": holder or _("Someone")},
            field="customer",
            code="held",
        )
    placement.refresh_from_db()
    audit(user, "customer.select", placement, after={"holder": user.pk}, customer_id=customer_id)
    return Selection(placement, placement.lease_token)


@transaction.atomic(durable=True)
def selection_renew(user: User, *, customer_id: int, token: int) -> dt.datetime:
    """Keep the lease while the customer screen is open; refused once it was lost."""
    now = timezone.now()
    until = _lease_until(now)
    changed = Placement.objects.filter(pk=customer_id, holder=user, lease_token=token).update(
        lease_expires_at=until
    )
    if not changed:
        raise Conflict(
            _("You no longer have this customer open."), field="customer", code="lease_lost"
        )
    return until


@transaction.atomic(durable=True)
def customer_release(actor: Actor, *, customer_id: int) -> None:
    """Let go of a selected customer. Releasing another user's selection needs *extended
    customer handling*."""
    placement = _locked_placement(customer_id)
    if placement.holder_id is None:
        return
    own = isinstance(actor, User) and placement.holder_id == actor.pk
    if not own:
        require(actor, Perm.EXTENDED_CUSTOMER_HANDLING)
        if not campaigns_visible_to(actor).filter(pk=placement.campaign_id).exists():
            raise NotFound(_("No such customer."), field="customer")
    before = {"holder": placement.holder_id}
    Placement.objects.filter(pk=customer_id).update(**NO_HOLDER, version=F("version") + 1)
    audit(
        actor,
        "customer.release",
        placement,
        before=before,
        after={"holder": None},
        customer_id=customer_id,
    )


@transaction.atomic(durable=True)
def selection_stop(user: User) -> None:
    """*Stop working*: drop the user's current customer, if any."""
    _release_others(user)


# --- Presenting the next customer ----------------------------------------------------------


def _candidates(
    user: User, campaign: Campaign, segment: Segment | None, now: dt.datetime
) -> list[QuerySet[Placement]]:
    """Rule 3, in order: my due personal follow-ups, due shared follow-ups, then available
    customers by segment priority, attempt rules and waiting time."""
    base = Placement.objects.filter(
        Q(holder__isnull=True) | Q(lease_expires_at__lte=now),
        campaign=campaign,
        is_final=False,
        correction__isnull=True,
        customer__is_blocked=False,
    )
    if segment is not None:
        base = base.filter(segment=segment)
    available = base.filter(follow_up_at__isnull=True, state__kind=StateKind.AVAILABLE)
    if campaign.max_attempts:
        available = available.filter(attempts__lt=campaign.max_attempts)
    if campaign.min_minutes_between_attempts:
        gap = now - dt.timedelta(minutes=campaign.min_minutes_between_attempts)
        available = available.filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=gap))
    # One query per segment in priority order, so that each is answered from the
    # (segment, waiting_since) index instead of sorting the whole campaign; unsegmented last.
    segments = (
        [segment] if segment is not None else list(campaign.segments.order_by("priority", "pk"))
    )
    queues = [available.filter(segment=s).order_by("waiting_since", "pk") for s in segments]
    if segment is None:
        queues.append(available.filter(segment__isnull=True).order_by("waiting_since", "pk"))
    return [
        base.filter(follow_up_user=user, follow_up_at__lte=now).order_by("follow_up_at", "pk"),
        base.filter(follow_up_user__isnull=True, follow_up_at__lte=now).order_by(
            F("segment__priority").asc(nulls_last=True), "follow_up_at", "pk"
        ),
        *queues,
    ]


@transaction.atomic(durable=True)
def customer_present_next(
    user: User, *, campaign: Campaign, segment: Segment | None = None, skip: Sequence[int] = ()
) -> Selection | None:
    """Give the user the next customer of the campaign (or segment), or None when nobody is
    waiting. Every customer goes to exactly one user however many ask at once. The current
    customer and those in ``skip`` (the one just saved) are not presented again at once."""
    check_may_work(user, campaign)
    if segment is not None and segment.campaign_id != campaign.pk:
        raise DomainError(_("The segment belongs to another campaign."), field="segment")
    now = timezone.now()
    # Asking for the next customer skips the current one, which goes back to the queue.
    skipped = [*skip, *Placement.objects.filter(holder=user).values_list("pk", flat=True)]
    _release_others(user)
    skip_locked = connection.features.has_select_for_update_skip_locked
    for queryset in _candidates(user, campaign, segment, now):
        queryset = queryset.exclude(pk__in=skipped)
        if skip_locked:
            queryset = queryset.select_for_update(skip_locked=True, of=("self",))
        for _attempt in range(3):
            candidate = queryset.values_list("pk", flat=True).first()
            if candidate is None:
                break
            if _claim(user, candidate, now, Q(is_final=False)):
                placement = Placement.objects.select_related(
                    "customer", "campaign", "segment", "state"
                ).get(pk=candidate)
                audit(
                    PRESENTER if campaign.is_predictive else user,
                    "customer.present",
                    placement,
                    after={"holder": user.pk},
                    customer_id=candidate,
                )
                return Selection(placement, placement.lease_token)
    return None


# --- Registering outcomes ------------------------------------------------------------------


def _check_holder(placement: Placement, user: User, token: int) -> None:
    if placement.holder_id != user.pk or placement.lease_token != token:
        holder = placement.holder
        if holder is not None and holder.pk != user.pk:
            message = _(
                "%(user)s has taken over this customer; your registration was not saved."
            ) % {"user": holder}
        else:
            message = _("You no longer have this customer open; your registration was not saved.")
        raise Conflict(message, field="customer", code="lease_lost")


def _clean_extra(
    campaign: Campaign, fields: QuerySet[ExtraField], values: dict[str, Any], *, prefix: str = ""
) -> dict[str, Any]:
    by_key = {f.key: f for f in fields}
    unknown = sorted(set(values) - set(by_key))
    if unknown:
        raise DomainError(
            _("“%(key)s” is not a field here.") % {"key": unknown[0]}, field=prefix + unknown[0]
        )
    return {
        f.key: clean_field_value(
            f.type,
            values.get(f.key),
            field=prefix + f.key,
            label=f.label,
            required=f.required,
            choices=f.choices,
        )
        for f in by_key.values()
    }


def _check_follow_up(
    outcome: Outcome,
    campaign: Campaign,
    follow_up_at: dt.datetime | None,
    follow_up_user: User | None,
    now: dt.datetime,
) -> None:
    if outcome.follow_up == FollowUpRule.NONE and follow_up_at is not None:
        raise DomainError(
            _("“%(outcome)s” offers no follow-up.") % {"outcome": outcome}, field="follow_up_at"
        )
    if outcome.follow_up == FollowUpRule.REQUIRED and follow_up_at is None:
        raise DomainError(
            _("“%(outcome)s” needs a follow-up time.") % {"outcome": outcome},
            field="follow_up_at",
        )
    if follow_up_at is not None and follow_up_at <= now:
        raise DomainError(_("The follow-up time must be in the future."), field="follow_up_at")
    if follow_up_at is None and follow_up_user is not None:
        raise DomainError(
            _("Choose a follow-up time for the responsible user."), field="follow_up_at"
        )
    if follow_up_user is not None:
        _check_may_be_responsible(follow_up_user, campaign)


def _check_may_be_responsible(
    user: User, campaign: Campaign, *, field: str = "follow_up_user"
) -> None:
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


def _product_lines(
    outcome: Outcome, campaign: Campaign, products: list[ProductInput]
) -> list[dict[str, Any]]:
    if outcome.products == ProductRule.NONE:
        if products:
            raise DomainError(
                _("“%(outcome)s” registers no products.") % {"outcome": outcome}, field="products"
            )
        return []
    if not products:
        raise DomainError(_("Add at least one product."), field="products")
    catalogue = {p.pk: p for p in Product.objects.filter(campaign=campaign, active=True)}
    fields = ExtraField.objects.filter(campaign=campaign, applies_to=ExtraField.AppliesTo.PRODUCT)
    lines = []
    for index, line in enumerate(products):
        product = catalogue.get(line.product_id)
        if product is None:
            raise DomainError(
                _("The product is not in this campaign's catalogue."),
                field=f"products.{index}.product",
            )
        if line.quantity < 1:
            raise DomainError(
                _("The quantity must be at least 1."), field=f"products.{index}.quantity"
            )
        price = product.price if line.unit_price is None else line.unit_price
        if price < 0:
            raise DomainError(
                _("The price cannot be negative."), field=f"products.{index}.unit_price"
            )
        lines.append(
            {
                "product": product,
                "quantity": line.quantity,
                "unit_price": price,
                "currency": campaign.currency,
                "status": outcome.products,
                "extra_values": _clean_extra(
                    campaign, fields, line.extra, prefix=f"products.{index}."
                ),
            }
        )
    return lines


def _check_meeting(outcome: Outcome, meeting: MeetingInput | None) -> None:
    if not outcome.books_meeting:
        if meeting is not None:
            raise DomainError(
                _("“%(outcome)s” books no meeting.") % {"outcome": outcome}, field="meeting"
            )
        return
    if meeting is None:
        raise DomainError(_("Book the meeting: choose its time."), field="meeting.starts_at")
    if meeting.duration_minutes < 1:
        raise DomainError(
            _("The meeting must last at least one minute."), field="meeting.duration_minutes"
        )


def _open_correction(placement: Placement, user: User) -> CorrectionRequest | None:
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


def _is_latest(event: Event) -> bool:
    latest = (
        Event.objects.filter(customer_id=event.customer_id, is_corrected=False)
        .order_by("-registered_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return latest == event.pk


def _replace(old: Event, new: Event, correction: CorrectionRequest) -> None:
    """The old event leaves the reports and points to the new one; both stay in history."""
    if not Event.objects.filter(pk=old.pk, is_corrected=False).update(is_corrected=True):
        raise Conflict(_("That registration has already been corrected."), field="event")
    rollup_event(old, -1)  # with its facts as they were: it counted until now
    old.is_corrected = True
    CorrectionRequest.objects.filter(pk=correction.pk).update(status=CorrectionRequest.Status.DONE)


@transaction.atomic(durable=True)
def outcome_register(
    user: User,
    *,
    customer_id: int,
    token: int,
    outcome_id: int,
    option_id: int | None = None,
    comment: str = "",
    extra: dict[str, Any] | None = None,
    follow_up_at: dt.datetime | None = None,
    follow_up_user: User | None = None,
    products: list[ProductInput] | None = None,
    meeting: MeetingInput | None = None,
    then: AfterSave = AfterSave.STAY,
) -> Event:
    """Rule 2: only the holder registers, only an outcome the flow offers from the current
    state; the event, placement, follow-up, products and meeting are written together.
    ``follow_up_user`` None with a time makes a shared follow-up."""
    require(user, Perm.CUSTOMER_HANDLING)
    now = timezone.now()
    placement = _locked_placement(customer_id)
    _check_holder(placement, user, token)
    campaign = placement.campaign
    correction = _open_correction(placement, user)
    corrected = correction.event if correction else None
    # Rule 5: correcting the latest outcome starts again from the state before it; correcting
    # an older one rewrites history and reports but leaves the current state alone.
    rewinds = corrected is not None and _is_latest(corrected)
    from_state = corrected.from_state if corrected is not None else placement.state
    if correction is not None:
        outcome = (
            correction.allowed_outcomes.filter(pk=outcome_id).select_related("to_state").first()
        )
        refusal = _("That outcome is not allowed for this correction.")
    else:
        outcome = (
            Outcome.objects.filter(pk=outcome_id, flow=campaign.flow_id, from_states=from_state)
            .select_related("to_state")
            .first()
        )
        refusal = _("That outcome is not offered from the state “%(state)s”.") % {
            "state": from_state
        }
    if outcome is None:
        raise DomainError(refusal, field="outcome")
    options = list(OutcomeOption.objects.filter(campaign=campaign, outcome=outcome))
    if options and option_id not in {o.pk for o in options}:
        raise DomainError(
            _("Choose an option for “%(outcome)s”.") % {"outcome": outcome}, field="option"
        )
    if not options and option_id is not None:
        raise DomainError(_("“%(outcome)s” has no options.") % {"outcome": outcome}, field="option")
    comment = comment.strip()
    if outcome.comment_required and not comment:
        raise DomainError(
            _("“%(outcome)s” needs a comment.") % {"outcome": outcome}, field="comment"
        )
    extra_values = _clean_extra(
        campaign,
        ExtraField.objects.filter(
            campaign=campaign, applies_to=ExtraField.AppliesTo.OUTCOME, outcome=outcome
        ),
        extra or {},
    )
    _check_follow_up(outcome, campaign, follow_up_at, follow_up_user, now)
    lines = _product_lines(outcome, campaign, products or [])
    _check_meeting(outcome, meeting)

    to_state = outcome.to_state or from_state
    as_original = correction is not None and correction.as_original
    event = Event.objects.create(
        customer_id=customer_id,
        campaign=campaign,
        segment=corrected.segment if corrected is not None else placement.segment,
        outcome=outcome,
        option_id=option_id,
        from_state=from_state,
        to_state=to_state,
        actor_user=user,
        registered_at=now,
        comment=comment,
        extra_values=extra_values,
        follow_up_at=follow_up_at,
        follow_up_user=follow_up_user,
        counts_for_user=corrected.counts_for_user if as_original and corrected else user,
        counts_at=corrected.counts_at if as_original and corrected else now,
        corrects=corrected,
    )
    ProductLine.objects.bulk_create(
        ProductLine(customer_id=customer_id, campaign=campaign, event=event, **line)
        for line in lines
    )
    if meeting is not None:
        Meeting.objects.create(
            customer_id=customer_id,
            campaign=campaign,
            event=event,
            booked_by=user,
            starts_at=meeting.starts_at,
            duration_minutes=meeting.duration_minutes,
            place=meeting.place,
            with_whom=meeting.with_whom,
        )
    rollup_event(event, +1)

    if correction is not None and corrected is not None:
        _replace(corrected, event, correction)
    changes: dict[str, Any] = {"version": F("version") + 1}
    if corrected is None or rewinds:
        changes |= {"follow_up_at": follow_up_at, "follow_up_user": follow_up_user, **_set_by(user)}
        if outcome.is_progressive or to_state.pk != placement.state_id:
            changes |= {"state": to_state, "is_final": to_state.is_final, "attempts": 0}
            if to_state.pk != placement.state_id:
                changes["state_since"] = now
        else:
            changes |= {"attempts": F("attempts") + 1, "last_attempt_at": now, "waiting_since": now}
    if correction is not None:
        changes["correction"] = None
    if then == AfterSave.STAY:
        changes["lease_expires_at"] = _lease_until(now)
    else:
        changes |= NO_HOLDER
    Placement.objects.filter(pk=customer_id).update(**changes)
    return event


# --- Supervising: moves and follow-ups -----------------------------------------------------


def _check_supervise(actor: Actor, placement: Placement, now: dt.datetime) -> None:
    require(actor, Perm.EXTENDED_CUSTOMER_HANDLING)
    if not campaigns_visible_to(actor).filter(pk=placement.campaign_id).exists():
        raise NotFound(_("No such customer."), field="customer")
    _refuse_if_held(placement, actor, now)


@transaction.atomic(durable=True)
def customer_move(
    actor: Actor,
    *,
    customer_id: int,
    campaign: Campaign | None = None,
    segment: Segment | None = None,
) -> Placement:
    """Rule 4: to another campaign of the same CRM the customer becomes available and
    unsegmented and loses its follow-up; to another segment its state stays."""
    now = timezone.now()
    placement = _locked_placement(customer_id)
    _check_supervise(actor, placement, now)
    before = _placement_snapshot(placement)
    changes: dict[str, Any] = {"version": F("version") + 1, **NO_HOLDER}
    if campaign is not None and campaign.pk != placement.campaign_id:
        if campaign.crm_id != placement.customer.crm_id:
            raise DomainError(
                _("Customers can only be moved within their own CRM and data owner."),
                field="campaign",
            )
        if not campaigns_visible_to(actor).filter(pk=campaign.pk).exists():
            raise NotAllowed(_("You do not have access to the target campaign."), field="campaign")
        if segment is not None:
            raise DomainError(
                _(
                    "Leave the segment empty: a customer moved to another campaign arrives "
                    "unsegmented."
                ),
                field="segment",
            )
        entry = campaign.flow.entry_state()
        changes |= {
            "campaign": campaign,
            "segment": None,
            "state": entry,
            "state_since": now,
            "is_final": False,
            "follow_up_at": None,
            "follow_up_user": None,
            "attempts": 0,
            "last_attempt_at": None,
            "waiting_since": now,
            "correction": None,
            **_set_by(actor),
        }
    elif segment is not None or campaign is None:
        if segment is not None and segment.campaign_id != placement.campaign_id:
            raise DomainError(_("The segment belongs to another campaign."), field="segment")
        if segment is None and placement.segment_id is None:
            raise DomainError(_("Choose a campaign or a segment to move to."), field="segment")
        changes["segment"] = segment
    else:
        raise DomainError(_("The customer is already in that campaign."), field="campaign")
    Placement.objects.filter(pk=customer_id).update(**changes)
    placement = Placement.objects.select_related("campaign", "segment", "state").get(pk=customer_id)
    audit(
        actor,
        "customer.move",
        placement,
        before=before,
        after=_placement_snapshot(placement),
        customer_id=customer_id,
    )
    return placement


@transaction.atomic(durable=True)
def follow_up_change(
    actor: Actor,
    *,
    customer_id: int,
    follow_up_at: dt.datetime,
) -> Placement:
    """D9: change when the customer is followed up; the responsible user stays."""
    now = timezone.now()
    placement = _locked_placement(customer_id)
    _check_supervise(actor, placement, now)
    if placement.is_final:
        raise DomainError(_("A customer in a final state gets no follow-up."), field="follow_up_at")
    if follow_up_at <= now:
        raise DomainError(_("The follow-up time must be in the future."), field="follow_up_at")
    before = _placement_snapshot(placement)
    Placement.objects.filter(pk=customer_id).update(
        follow_up_at=follow_up_at, version=F("version") + 1
    )
    placement.refresh_from_db()
    audit(
        actor,
        "followup.change",
        placement,
        before=before,
        after=_placement_snapshot(placement),
        customer_id=customer_id,
    )
    return placement


@transaction.atomic(durable=True)
def follow_up_reassign(actor: Actor, *, customer_id: int, responsible: User | None) -> Placement:
    """D9: give the follow-up to another user (or make it shared) without changing its time."""
    now = timezone.now()
    placement = _locked_placement(customer_id)
    _check_supervise(actor, placement, now)
    if placement.follow_up_at is None:
        raise DomainError(_("The customer has no follow-up to hand over."), field="follow_up_user")
    if responsible is not None:
        _check_may_be_responsible(responsible, placement.campaign)
    before = _placement_snapshot(placement)
    Placement.objects.filter(pk=customer_id).update(
        follow_up_user=responsible, version=F("version") + 1
    )
    placement.refresh_from_db()
    audit(
        actor,
        "followup.reassign",
        placement,
        before=before,
        after=_placement_snapshot(placement),
        customer_id=customer_id,
    )
    return placement


# --- Corrections and report facts (rule 5, D14–D16) ----------------------------------------


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
    placement = _locked_placement(event.customer_id)
    _refuse_if_held(placement, actor, timezone.now())
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


def _await_correction(placement: Placement, correction: CorrectionRequest) -> None:
    """The customer waits for the correction; a lapsed selection is cut, so that a late
    registration from it is refused (fencing)."""
    Placement.objects.filter(pk=placement.pk).update(
        correction=correction, version=F("version") + 1, **NO_HOLDER
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
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Write why the registration must be corrected."), field="reason")
    allowed = list(Outcome.objects.filter(pk__in=allowed_outcome_ids, flow=event.campaign.flow_id))
    if not allowed or len(allowed) != len(set(allowed_outcome_ids)):
        raise DomainError(
            _("Tick the outcomes that may be used, from the campaign's flow."),
            field="allowed_outcomes",
        )
    _check_may_be_responsible(to_user, placement.campaign, field="to_user")
    correction = CorrectionRequest.objects.create(
        event=event,
        to_user=to_user,
        reason=reason,
        created_at=timezone.now(),
        as_original=as_original,
        **actor_fields(actor),
    )
    correction.allowed_outcomes.set(allowed)
    _await_correction(placement, correction)
    audit(
        actor,
        "correction.send",
        correction,
        customer_id=event.customer_id,
        after={
            "event": event.pk,
            "to_user": to_user.pk,
            "reason": reason,
            "allowed_outcomes": [o.pk for o in allowed],
            "as_original": as_original,
        },
    )
    return correction


@transaction.atomic(durable=True)
def correction_start(actor: User, *, event_id: int, as_original: bool) -> CorrectionRequest:
    """D15: correct a registration oneself, without telling anyone. The user then takes the
    customer and registers the right outcome from the state the wrong one started in."""
    event, placement = _event_for_correction(actor, event_id)
    allowed = list(
        Outcome.objects.filter(flow=event.campaign.flow_id, from_states=event.from_state)
    )
    correction = CorrectionRequest.objects.create(
        event=event,
        to_user=actor,
        reason="",
        created_at=timezone.now(),
        as_original=as_original,
        **actor_fields(actor),
    )
    correction.allowed_outcomes.set(allowed)
    _await_correction(placement, correction)
    audit(
        actor,
        "correction.start",
        correction,
        customer_id=event.customer_id,
        after={"event": event.pk, "as_original": as_original},
    )
    return correction


@transaction.atomic(durable=True)
def correction_cancel(actor: Actor, *, correction_id: int) -> None:
    """Withdraw a correction nobody has registered yet; the customer is free again."""
    require(actor, Perm.CORRECT_REGISTRATIONS)
    correction = (
        CorrectionRequest.objects.filter(pk=correction_id, status=CorrectionRequest.Status.OPEN)
        .select_related("event")
        .first()
    )
    if correction is None:
        raise NotFound(_("No open correction."), field="correction")
    _locked_placement(correction.event.customer_id)
    CorrectionRequest.objects.filter(pk=correction.pk).update(
        status=CorrectionRequest.Status.CANCELLED
    )
    Placement.objects.filter(correction=correction).update(
        correction=None, version=F("version") + 1
    )
    audit(
        actor,
        "correction.cancel",
        correction,
        customer_id=correction.event.customer_id,
        before={"status": "open"},
        after={"status": "cancelled"},
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
