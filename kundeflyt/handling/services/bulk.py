"""Bulk actions on lists (issue 10, item 6): one service applied to many customers, each in
its own transaction with its own audit row, and a summary of what was done and refused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import customers_visible_to
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.errors import DomainError, NotAllowed
from kundeflyt.crm.services import blocked_number_add
from kundeflyt.handling.services.placements import Actor
from kundeflyt.handling.services.selection import customer_release
from kundeflyt.handling.services.supervision import customer_move, follow_up_hand_over

BULK_MAX = 5_000


class BulkAction(StrEnum):
    MOVE = "move"
    RESPONSIBLE = "responsible"
    RELEASE = "release"
    BLOCK = "block"


@dataclass
class BulkResult:
    done: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class BulkTarget:
    """What the action needs: a campaign or segment to move to, a responsible user."""

    campaign: Campaign | None = None
    segment: Segment | None = None
    responsible: User | None = None


def check_bulk(actor: Actor, action: BulkAction, count: int) -> None:
    """Refuse the whole action before anything is done: the permission it needs, the size."""
    if action == BulkAction.BLOCK:
        require(actor, Perm.ADMINISTRATOR)
    else:
        require(actor, Perm.EXTENDED_CUSTOMER_HANDLING)
    if count > BULK_MAX:
        raise DomainError(
            _("Choose at most %(n)s customers at a time.") % {"n": BULK_MAX}, field="customers"
        )


def customers_bulk(
    actor: Actor, *, action: BulkAction, customer_ids: Sequence[int], target: BulkTarget
) -> BulkResult:
    """Apply ``action`` to each customer through its own service, in key order; a refusal of
    one customer is listed and the rest go on."""
    ids = sorted(set(customer_ids))
    check_bulk(actor, action, len(ids))
    result = BulkResult()
    for customer_id in ids:
        try:
            match action:
                case BulkAction.MOVE:
                    customer_move(
                        actor,
                        customer_id=customer_id,
                        campaign=target.campaign,
                        segment=target.segment,
                    )
                case BulkAction.RESPONSIBLE:
                    follow_up_hand_over(
                        actor, customer_id=customer_id, responsible=target.responsible
                    )
                case BulkAction.RELEASE:
                    customer_release(actor, customer_id=customer_id)
                case BulkAction.BLOCK:
                    _block(actor, customer_id)
        except NotAllowed:
            raise
        except DomainError as error:
            result.refused.append((customer_id, error.message))
            continue
        result.done += 1
    return result


def _block(actor: Actor, customer_id: int) -> None:
    customer = customers_visible_to(actor).filter(pk=customer_id).first()
    if customer is None:
        raise DomainError(_("No such customer."), field="customer")
    if not customer.phones:
        raise DomainError(_("The customer has no phone number to block."), field="customer")
    for phone in customer.phones:
        blocked_number_add(actor, phone=phone, reason=_("Blocked from a list"))
