"""Presenting the next customer (rule 3): every customer to exactly one user."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.visibility import check_may_work
from kundeflyt.campaigns.calling_hours import check_open_for_calls
from kundeflyt.campaigns.config import campaign_config
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.actors import PRESENTER
from kundeflyt.common.audit import audit
from kundeflyt.common.errors import DomainError
from kundeflyt.flows.models import StateKind
from kundeflyt.handling.models import Placement
from kundeflyt.handling.selectors.work import placement_as_shown
from kundeflyt.handling.services.selection import Selection, claim, release_others
from kundeflyt.privacy.register import callable_despite_register, check_register_fresh


def _presentable(campaign: Campaign) -> QuerySet[Placement]:
    """The campaign's customers anyone may be presented, follow-ups included: not final, in
    no correction, not blocked or erased, and callable despite the register (rule 11)."""
    return Placement.objects.filter(
        callable_despite_register(campaign),
        campaign=campaign,
        is_final=False,
        correction__isnull=True,
        customer__is_blocked=False,
        customer__anonymised_at__isnull=True,
    )


def queue(campaign: Campaign, now: dt.datetime) -> QuerySet[Placement]:
    """The campaign's available customers that the attempt rules let be called now."""
    available = _presentable(campaign).filter(
        follow_up_at__isnull=True, state__kind=StateKind.AVAILABLE
    )
    if campaign.max_attempts:
        available = available.filter(attempts__lt=campaign.max_attempts)
    if campaign.min_minutes_between_attempts:
        gap = now - dt.timedelta(minutes=campaign.min_minutes_between_attempts)
        available = available.filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=gap))
    return available


def _candidates(
    user: User, campaign: Campaign, segment: Segment | None, now: dt.datetime
) -> list[QuerySet[Placement]]:
    """Rule 3, in order: my due personal follow-ups, due shared follow-ups, then available
    customers by segment priority, attempt rules and waiting time."""
    free = Q(holder__isnull=True) | Q(lease_expires_at__lte=now)
    base = _presentable(campaign).filter(free)
    available = queue(campaign, now).filter(free)
    if segment is not None:
        base = base.filter(segment=segment)
    # One query per segment in priority order, so that each is answered from the
    # (segment, waiting_since) index instead of sorting the whole campaign; unsegmented last.
    segments = [segment] if segment is not None else campaign_config(campaign, user).segments
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
    user: User,
    *,
    campaign: Campaign,
    segment: Segment | None = None,
    skip: Sequence[int] = (),
    released: bool = False,
) -> Selection | None:
    """Give the user the next customer of the campaign (or segment), or None when nobody is
    waiting. Every customer goes to exactly one user however many ask at once. The current
    customer and those in ``skip`` (the one just saved) are not presented again at once.
    A campaign the marketing law binds presents no one outside its calling hours (rule 11).
    ``released``: the caller has just let the user's customer go (a save), so there is
    nothing to release; had the user taken another since, in another tab, the claim is
    refused by the one-customer-per-user index and nothing changes."""
    check_may_work(user, campaign)
    if segment is not None and segment.campaign_id != campaign.pk:
        raise DomainError(_("The segment belongs to another campaign."), field="segment")
    now = timezone.now()
    check_open_for_calls(campaign, now)  # DESIGN.md rule 11: only in the calling hours
    check_register_fresh(campaign, now)  # and on a register screened within the month
    # Asking for the next customer skips the current one, which goes back to the queue.
    skipped = [*skip, *([] if released else release_others(user))]
    skip_locked = connection.features.has_select_for_update_skip_locked
    for queryset in _candidates(user, campaign, segment, now):
        queryset = queryset.exclude(pk__in=skipped)
        if skip_locked:
            queryset = queryset.select_for_update(skip_locked=True, of=("self",))
        for _attempt in range(3):
            candidate = queryset.values_list("pk", flat=True).first()
            if candidate is None:
                break
            # No savepoint: a refusal (the user took another customer meanwhile, in another
            # tab) raises, and this whole transaction, release included, is rolled back.
            if claim(user, candidate, now, Q(is_final=False), savepoint=False):
                # Read as the screen reads it: the save shows it at once.
                placement = placement_as_shown(user, candidate)
                audit(
                    PRESENTER if campaign.is_predictive else user,
                    "customer.present",
                    placement,
                    after={"holder": user.pk},
                    customer_id=candidate,
                )
                return Selection(placement, placement.lease_token)
    return None
