"""Registering outcomes (rule 2): the event, the placement, the follow-up, the products and the
meeting in one transaction, by the holder only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import check_may_see_customers_of
from kundeflyt.campaigns.calling_hours import check_follow_up_time, retry_time
from kundeflyt.campaigns.config import CampaignConfig, campaign_config
from kundeflyt.campaigns.models import Campaign, ExtraField
from kundeflyt.common.bounds import (
    EARLIEST,
    LONG_TEXT,
    MEETING_MINUTES_MAX,
    QUANTITY_MAX,
    SHORT_TEXT,
    bounded_money,
    bounded_text,
    check_moment,
)
from kundeflyt.common.errors import Conflict, DomainError
from kundeflyt.common.fields import clean_field_value
from kundeflyt.flows.models import FollowUpRule, Outcome, ProductRule, State
from kundeflyt.handling.models import CorrectionRequest, Event, Meeting, Placement, ProductLine
from kundeflyt.handling.services.corrections import is_latest, open_correction, replace
from kundeflyt.handling.services.placements import (
    NO_HOLDER,
    check_may_be_responsible,
    lease_until,
    locked_placement,
    new_version,
    set_by,
)
from kundeflyt.handling.transitions import after_outcome
from kundeflyt.reports.rollup import rollup_event
from kundeflyt.webhooks.models import EventType
from kundeflyt.webhooks.services import Message, webhook_emit


class AfterSave(StrEnum):
    """What the agent gets after saving an outcome (DESIGN.md rule 2)."""

    NEXT_FROM_LIST = "list"
    MY_WORK = "my_work"
    STAY = "stay"


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


def _check_holder(placement: Placement, user: User, token: int) -> None:
    if placement.holder_id != user.pk or placement.lease_token != token:
        # Refused: before saying who has it, make sure the user may know it exists (the
        # check costs nothing on the way to a saved registration).
        check_may_see_customers_of(user, placement.campaign_id)
        holder = placement.holder
        if holder is not None and holder.pk != user.pk:
            message = _(
                "%(user)s has taken over this customer; your registration was not saved."
            ) % {"user": holder}
        else:
            message = _("You no longer have this customer open; your registration was not saved.")
        raise Conflict(message, field="customer", code="lease_lost")


def _clean_extra(
    fields: Sequence[ExtraField], values: dict[str, Any], *, prefix: str = ""
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
    if follow_up_at is not None:
        check_moment(follow_up_at, field="follow_up_at")
        check_follow_up_time(campaign, follow_up_at)  # DESIGN.md rule 11
    if follow_up_at is None and follow_up_user is not None:
        raise DomainError(
            _("Choose a follow-up time for the responsible user."), field="follow_up_at"
        )
    if follow_up_user is not None:
        check_may_be_responsible(follow_up_user, campaign)


def _product_lines(
    outcome: Outcome, campaign: Campaign, config: CampaignConfig, products: list[ProductInput]
) -> list[dict[str, Any]]:
    if outcome.products == ProductRule.NONE:
        if products:
            raise DomainError(
                _("“%(outcome)s” registers no products.") % {"outcome": outcome}, field="products"
            )
        return []
    if not products:
        raise DomainError(_("Add at least one product."), field="products")
    catalogue = {p.pk: p for p in config.products}
    lines = []
    for index, line in enumerate(products):
        product = catalogue.get(line.product_id)
        if product is None:
            raise DomainError(
                _("The product is not in this campaign's catalogue."),
                field=f"products.{index}.product",
            )
        if not 1 <= line.quantity <= QUANTITY_MAX:
            raise DomainError(
                _("The quantity must be from 1 to %(n)s.") % {"n": QUANTITY_MAX},
                field=f"products.{index}.quantity",
            )
        price = product.price if line.unit_price is None else line.unit_price
        price = bounded_money(price, field=f"products.{index}.unit_price")
        lines.append(
            {
                "product": product,
                "quantity": line.quantity,
                "unit_price": price,
                "currency": campaign.currency,
                "status": outcome.products,
                "extra_values": _clean_extra(
                    config.product_fields, line.extra, prefix=f"products.{index}."
                ),
            }
        )
    return lines


def _check_meeting(
    outcome: Outcome, meeting: MeetingInput | None, earliest: dt.datetime
) -> MeetingInput | None:
    if not outcome.books_meeting:
        if meeting is not None:
            raise DomainError(
                _("“%(outcome)s” books no meeting.") % {"outcome": outcome}, field="meeting"
            )
        return None
    if meeting is None:
        raise DomainError(_("Book the meeting: choose its time."), field="meeting.starts_at")
    if not 1 <= meeting.duration_minutes <= MEETING_MINUTES_MAX:
        raise DomainError(
            _("A meeting lasts from 1 to %(n)s minutes.") % {"n": MEETING_MINUTES_MAX},
            field="meeting.duration_minutes",
        )
    check_moment(meeting.starts_at, field="meeting.starts_at", earliest=earliest)
    return MeetingInput(
        starts_at=meeting.starts_at,
        duration_minutes=meeting.duration_minutes,
        place=bounded_text(meeting.place, field="meeting.place", max_length=SHORT_TEXT),
        with_whom=bounded_text(meeting.with_whom, field="meeting.with_whom", max_length=SHORT_TEXT),
    )


def _offered_outcome(
    config: CampaignConfig, correction: CorrectionRequest | None, from_state: State, outcome_id: int
) -> Outcome:
    """The outcome, if the flow offers it from ``from_state`` (or the correction allows it)."""
    if correction is not None:
        outcome = (
            correction.allowed_outcomes.filter(pk=outcome_id).select_related("to_state").first()
        )
        refusal = _("That outcome is not allowed for this correction.")
    else:
        outcome = config.outcome_from(outcome_id, from_state.pk)
        refusal = _("That outcome is not offered from the state “%(state)s”.") % {
            "state": from_state
        }
    if outcome is None:
        raise DomainError(refusal, field="outcome")
    return outcome


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
    also: Callable[[Event], None] | None = None,
) -> Event:
    """Rule 2: only the holder registers, only an outcome the flow offers from the current
    state; the event, placement, follow-up, products and meeting are written together.
    ``follow_up_user`` None with a time makes a shared follow-up. Rule 10: an attempt moves
    a follow-up instead of clearing it (see ``transitions.after_outcome``). ``also`` writes
    more in the same transaction once the event is saved (the API keeps its answer to an
    ``Idempotency-Key`` there, so that a retry can never register twice)."""
    require(user, Perm.CUSTOMER_HANDLING)
    now = timezone.now()
    placement = locked_placement(customer_id, user, named=True)  # the customer: for the message
    _check_holder(placement, user, token)
    campaign = placement.campaign
    correction = open_correction(placement, user)
    corrected = correction.event if correction else None
    # Rule 5: correcting the latest outcome starts again from the state before it; correcting
    # an older one rewrites history and reports but leaves the current state alone.
    rewinds = corrected is not None and is_latest(corrected)
    from_state = corrected.from_state if corrected is not None else placement.state
    config = campaign_config(campaign, user)
    outcome = _offered_outcome(config, correction, from_state, outcome_id)
    options = config.options.get(outcome.pk, ())
    if options and option_id not in {o.pk for o in options}:
        raise DomainError(
            _("Choose an option for “%(outcome)s”.") % {"outcome": outcome}, field="option"
        )
    if not options and option_id is not None:
        raise DomainError(_("“%(outcome)s” has no options.") % {"outcome": outcome}, field="option")
    comment = bounded_text(comment, field="comment", max_length=LONG_TEXT)
    if outcome.comment_required and not comment:
        raise DomainError(
            _("“%(outcome)s” needs a comment.") % {"outcome": outcome}, field="comment"
        )
    extra_values = _clean_extra(config.outcome_fields.get(outcome.pk, ()), extra or {})
    _check_follow_up(outcome, campaign, follow_up_at, follow_up_user, now)
    lines = _product_lines(outcome, campaign, config, products or [])
    as_original = correction is not None and correction.as_original
    # A meeting is booked ahead, except when a correction registers as the original user
    # at the original time: then it may lie where the original registration put it.
    meeting = _check_meeting(outcome, meeting, EARLIEST if as_original else now)

    event = Event.objects.create(
        customer=placement.customer,  # so that the caller can name the customer saved
        campaign=campaign,
        segment=corrected.segment if corrected is not None else placement.segment,
        outcome=outcome,
        option_id=option_id,
        from_state=from_state,
        to_state=outcome.to_state or from_state,
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
    _emit(event, campaign, config, lines, meeting)
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
    rollup_event(event, +1, meetings=int(meeting is not None), product_lines=len(lines))

    if correction is not None and corrected is not None:
        replace(corrected, event, correction)
    changes: dict[str, Any] = {}
    if corrected is None or rewinds:
        changes |= after_outcome(
            placement,
            outcome=outcome,
            from_state=from_state,
            at=now,
            follow_up_at=follow_up_at,
            follow_up_user=follow_up_user,
            retry_at=retry_time(campaign, now),
        )
        changes |= set_by(user)
    if correction is not None:
        changes["correction"] = None
    if then == AfterSave.STAY:
        changes["lease_expires_at"] = lease_until(now)
    else:
        changes |= NO_HOLDER
    changes |= new_version(now)
    Placement.objects.filter(pk=customer_id).update(**changes)
    if also is not None:
        also(event)
    return event


def _emit(
    event: Event,
    campaign: Campaign,
    config: CampaignConfig,
    lines: list[dict[str, Any]],
    meeting: MeetingInput | None,
) -> None:
    """The webhooks of a registration: what was registered, sold and booked."""
    about = {"registration": event.pk, "customer": event.customer_id, "campaign": campaign.pk}
    kind = EventType.REGISTRATION_CORRECTED if event.corrects_id else EventType.REGISTRATION_CREATED
    registered = {
        "outcome": event.outcome.key,
        "registered_at": event.registered_at.isoformat(),
        "corrects": event.corrects_id,
    }
    messages: list[Message] = [(kind, about | registered)]
    sold = [
        {"product": line["product"].pk, "quantity": line["quantity"]}
        for line in lines
        if line["status"] == ProductLine.Status.SOLD
    ]
    if sold:
        messages.append((EventType.PRODUCT_SOLD, about | {"products": sold}))
    if meeting is not None:
        starts = meeting.starts_at.isoformat()
        messages.append((EventType.MEETING_BOOKED, about | {"starts_at": starts}))
    webhook_emit(campaign.crm_id, *messages, subscriptions=config.webhooks)
