"""What a user may see (DESIGN.md rule 9), in one place for pages, admin, API and exports.

Data owners are granted to users and teams; a campaign is seen by those granted its data owner
when it is open to everyone or to the user or their team; a customer is seen through the
campaign it is placed in, or, placed nowhere, through its data owner. Processes and
administrators see everything. Whatever is not visible is refused as if it did not exist.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require, sees_everything
from kundeflyt.campaigns.models import Campaign
from kundeflyt.common.actors import Process
from kundeflyt.common.errors import DomainError, NotAllowed, NotFound
from kundeflyt.crm.models import Customer, DataOwner

Actor = User | Process


def data_owners_visible_to(actor: Actor) -> QuerySet[DataOwner]:
    owners = DataOwner.objects.all()
    if sees_everything(actor):
        return owners
    assert isinstance(actor, User)
    granted = Q(users=actor)
    if actor.team_id:
        granted |= Q(teams=actor.team_id)
    return owners.filter(pk__in=DataOwner.objects.filter(granted).values("pk"))


def campaigns_visible_to(actor: Actor) -> QuerySet[Campaign]:
    """Campaigns of granted data owners that are open to everyone or to the user or team."""
    campaigns = Campaign.objects.all()
    if sees_everything(actor):
        return campaigns
    assert isinstance(actor, User)
    member = Q(visible_to_all=True) | Q(users=actor)
    if actor.team_id:
        member |= Q(teams=actor.team_id)
    return campaigns.filter(
        crm__data_owner__in=data_owners_visible_to(actor),
        pk__in=Campaign.objects.filter(member).values("pk"),
    )


def campaigns_open_to(actor: Actor) -> QuerySet[Campaign]:
    """Visible campaigns whose visibility period includes today."""
    today = timezone.localdate()
    return campaigns_visible_to(actor).filter(
        Q(visible_from__isnull=True) | Q(visible_from__lte=today),
        Q(visible_until__isnull=True) | Q(visible_until__gte=today),
    )


def customers_visible_to(actor: Actor) -> QuerySet[Customer]:
    """Customers in campaigns the actor may see; customers in no campaign are seen by those
    granted their data owner."""
    if sees_everything(actor):
        return Customer.objects.all()
    return Customer.objects.filter(
        Q(placement__campaign__in=campaigns_visible_to(actor))
        | Q(placement__isnull=True, crm__data_owner__in=data_owners_visible_to(actor))
    )


def check_may_see_customer(actor: Actor, customer_id: int) -> None:
    """Refuse as if the customer did not exist, so that URLs reveal nothing."""
    if not customers_visible_to(actor).filter(pk=customer_id).exists():
        raise NotFound(_("No such customer."), field="customer")


def check_may_see_customers_of(actor: Actor, campaign_id: int) -> None:
    """Refuse a customer of a campaign the actor may not see, as if it did not exist."""
    if not campaigns_visible_to(actor).filter(pk=campaign_id).exists():
        raise NotFound(_("No such customer."), field="customer")


def check_may_work(actor: Actor, campaign: Campaign) -> None:
    """Refuse unless the actor may handle customers in this campaign today."""
    require(actor, Perm.CUSTOMER_HANDLING)
    if not campaigns_visible_to(actor).filter(pk=campaign.pk).exists():
        raise NotAllowed(
            _("You do not have access to the campaign “%(campaign)s”.") % {"campaign": campaign},
            field="campaign",
        )
    if not campaign.is_visible_on(timezone.localdate()):
        raise DomainError(
            _("The campaign “%(campaign)s” is not open now.") % {"campaign": campaign},
            field="campaign",
            code="campaign_closed",
        )
