"""Taking and letting go of a customer (rule 1): a selection is a lease with a fencing token."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import (
    campaigns_visible_to,
    check_may_see_customers_of,
    check_may_work,
)
from kundeflyt.campaigns.calling_hours import check_open_for_calls
from kundeflyt.common.audit import audit
from kundeflyt.common.errors import Conflict, DomainError, NotFound
from kundeflyt.handling.models import CorrectionRequest, Placement
from kundeflyt.handling.services.placements import (
    NO_HOLDER,
    Actor,
    lease_until,
    locked_placement,
    new_version,
    placement_update,
)
from kundeflyt.privacy.register import check_not_reserved, check_register_fresh


@dataclass(frozen=True)
class Selection:
    """A user's hold on a customer. ``token`` fences writes from an earlier holder."""

    placement: Placement
    token: int

    @property
    def customer_id(self) -> int:
        return self.placement.pk


def _free_or_mine(user: User, now: dt.datetime) -> Q:
    return Q(holder__isnull=True) | Q(holder=user) | Q(lease_expires_at__lte=now)


def release_others(user: User, *, keep: int | None = None) -> list[int]:
    """Rule 1: taking a customer drops whatever the user held before (audited as a release).
    Returns the customers let go."""
    mine = Placement.objects.filter(holder=user)
    if keep is not None:
        mine = mine.exclude(pk=keep)
    released = list(mine.values_list("pk", flat=True))
    if not released:
        return released
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
    return released


def claim(
    user: User,
    placement_id: int,
    now: dt.datetime,
    extra: Q | None = None,
    *,
    savepoint: bool = True,
) -> int:
    """Conditional UPDATE: the row becomes the user's only if nobody else holds it. Without
    ``savepoint`` a refusal leaves the caller's transaction to be rolled back, as the
    presenter's is anyway when it raises."""
    condition = _free_or_mine(user, now) & Q(pk=placement_id)
    if extra is not None:
        condition &= extra
    try:
        with transaction.atomic(savepoint=savepoint):
            return Placement.objects.filter(condition).update(
                holder=user,
                selected_at=now,
                lease_expires_at=lease_until(now),
                lease_token=F("lease_token") + 1,
                **new_version(now),
            )
    except IntegrityError:
        # The partial unique index on holder: the same user took another customer meanwhile.
        raise Conflict(_("You already have a current customer."), field="customer") from None


def select(user: User, *, customer_id: int, manual: bool) -> Selection:
    """``customer_select`` inside a caller's transaction (correcting oneself takes the
    customer in the same transaction as it starts the correction)."""
    now = timezone.now()
    placement = (
        Placement.objects.select_related(
            "campaign__crm", "state", "customer", "holder", "correction__to_user"
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
    if placement.customer.anonymised_at is not None:
        raise DomainError(
            _("The customer has been anonymised."), field="customer", code="anonymised"
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
        Placement.objects.filter(pk=customer_id).update(lease_expires_at=lease_until(now))
        return Selection(placement, placement.lease_token)
    if manual:
        # DESIGN.md rule 11: no consumer is taken to be called outside the calling hours. A
        # correction is a registration, not a call, and goes on at any time; so does the
        # customer the user already has open.
        check_open_for_calls(placement.campaign, now)
        check_register_fresh(placement.campaign, now)
        check_not_reserved(placement.campaign, placement.customer)
    release_others(user, keep=customer_id)
    still = Q(campaign=placement.campaign_id)
    if correction is None:
        still &= Q(is_final=False)
    changed = claim(user, customer_id, now, still)
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
def customer_select(user: User, *, customer_id: int, manual: bool = True) -> Selection:
    """Take a customer as the user's current one (rule 1). Refused when someone else holds it
    (naming them), the campaign is not visible or open, the customer is blocked or final, or,
    for manual taking, the campaign is predictive or outside its calling hours (rule 11)."""
    return select(user, customer_id=customer_id, manual=manual)


@transaction.atomic(durable=True)
def selection_renew(user: User, *, customer_id: int, token: int) -> dt.datetime:
    """Keep the lease while the customer screen is open; refused once it was lost."""
    until = lease_until(timezone.now())
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
    placement = locked_placement(customer_id, actor)
    check_may_see_customers_of(actor, placement.campaign_id)
    if placement.holder_id is None:
        return
    if not (isinstance(actor, User) and placement.holder_id == actor.pk):
        require(actor, Perm.EXTENDED_CUSTOMER_HANDLING)
    placement_update(actor, placement, "customer.release", NO_HOLDER)


@transaction.atomic(durable=True)
def selection_stop(user: User) -> None:
    """*Stop working*: drop the user's current customer, if any."""
    release_others(user)
