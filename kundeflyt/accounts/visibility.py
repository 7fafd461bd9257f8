"""What a user may see (DESIGN.md rule 9), in one place for pages, admin, API and exports.

Data owners are granted to users and teams; a campaign is seen by those granted its data owner
when it is open to everyone or to the user or their team; a customer is seen through the
campaign it is placed in, or, placed nowhere, through its data owner. Processes and
superusers see everything; everyone else, an administrator too, sees only the data owners
granted to them or their team. Whatever is not visible is refused as if it did not exist.

The admin applies the same boundary to what a staff user administers (`administered`, below).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.models import Group, Permission
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import Team, User
from kundeflyt.accounts.permissions import Perm, has_perm, require, sees_everything
from kundeflyt.campaigns.models import Campaign
from kundeflyt.common.actors import Process
from kundeflyt.common.configuration import cached, config_version
from kundeflyt.common.errors import DomainError, NotAllowed, NotFound
from kundeflyt.crm.models import Customer, DataOwner
from kundeflyt.flows.models import Flow

Actor = User | Process
M = TypeVar("M", bound=Model)


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
    return campaigns.filter(pk__in=visible_campaign_ids(actor))


def visible_campaign_ids(user: User) -> frozenset[int]:
    """The ids of the campaigns the user sees, read once per process and configuration
    version: grants, memberships and teams are configuration (``common.configuration``), and
    every page and save asks."""

    def load() -> frozenset[int]:
        member = Q(visible_to_all=True) | Q(users=user)
        if user.team_id:
            member |= Q(teams=user.team_id)
        found = Campaign.objects.filter(
            crm__data_owner__in=data_owners_visible_to(user),
            pk__in=Campaign.objects.filter(member).values("pk"),
        )
        return frozenset(found.values_list("pk", flat=True))

    return cached(("visible campaigns", user.pk), config_version(user), load)


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
    seen = sees_everything(actor) or (
        isinstance(actor, User) and campaign.pk in visible_campaign_ids(actor)
    )
    if not seen:
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


# --- What a staff user may administer (the admin) ------------------------------------------
#
# The admin answers to rule 9 as the screens do: only a superuser sees every data owner. A user
# with *administrator* or *campaign setup* administers the data owners granted to them or their
# team, and every row that belongs to those data owners. `administered` is the admin's
# `.restrict(user, action)`: every model admin, choice, list filter, search and action goes
# through it.
#
# Some rows belong to no one data owner. Flows and roles (groups) are shared: they are seen when
# unused or used by what the user administers, and changed only when nothing outside it uses
# them. Users and teams are seen through their grants, and changed only when every grant is
# administered (a superuser, or a user holding a permission the staff user lacks, is only seen).
# Nobody gives a permission they do not hold, and only a superuser gives *administrator*. The
# block list is one list for all data owners (rule 11). Audit rows without a customer are the
# superuser's.

VIEW = "view"
CHANGE = "change"

# The path from each model to its data owner.
OWNER_PATHS: dict[str, str] = {
    "crm.dataowner": "pk",
    "crm.crm": "data_owner",
    "crm.fielddefinition": "crm__data_owner",
    "crm.customer": "crm__data_owner",
    "campaigns.campaign": "crm__data_owner",
    "campaigns.segment": "campaign__crm__data_owner",
    "campaigns.campaignlink": "campaign__crm__data_owner",
    "campaigns.outcomeoption": "campaign__crm__data_owner",
    "campaigns.extrafield": "campaign__crm__data_owner",
    "campaigns.product": "campaign__crm__data_owner",
    # Customers never cross data owners: a customer's rows belong to its CRM's owner.
    "handling.placement": "customer__crm__data_owner",
    "handling.event": "customer__crm__data_owner",
    "handling.productline": "customer__crm__data_owner",
    "handling.meeting": "customer__crm__data_owner",
    "handling.correctionrequest": "event__customer__crm__data_owner",
    "common.auditentry": "customer__crm__data_owner",
    "telephony.provideraccount": "data_owner",
    "telephony.smstemplate": "campaign__crm__data_owner",
}

# Rows every staff user the admin lets in may see: one list for every data owner.
SHARED_BY_ALL = {"crm.blockednumber"}

# Login lockouts (django-axes) and two-factor devices (django-otp) belong to a user: they are
# seen with the user, and unlocked or reset only by those who may change the user.
LOGIN_RECORDS = {"axes.accessattempt", "axes.accesslog", "axes.accessfailurelog"}
TWO_FACTOR_DEVICES = {
    "otp_totp.totpdevice": "user",
    "otp_static.staticdevice": "user",
    "otp_static.statictoken": "device__user",
}


def data_owners_administered_by(user: User) -> QuerySet[DataOwner]:
    """A superuser administers every data owner; a user with *administrator* or *campaign
    setup*, the data owners granted to them or their team; anyone else, none."""
    owners = DataOwner.objects.all()
    if not user.is_active:
        return owners.none()
    if user.is_superuser:
        return owners
    if not (has_perm(user, Perm.ADMINISTRATOR) or has_perm(user, Perm.CAMPAIGN_SETUP)):
        return owners.none()
    granted = Q(users=user)
    if user.team_id:
        granted |= Q(teams=user.team_id)
    return owners.filter(pk__in=DataOwner.objects.filter(granted).values("pk"))


def permissions_held_by(user: User) -> QuerySet[Permission]:
    """The permissions the user holds, by any backend."""
    if user.is_active and user.is_superuser:
        return Permission.objects.all()
    cache = "_kundeflyt_held_permissions"
    if not hasattr(user, cache):
        held = [
            permission.pk
            for permission in Permission.objects.select_related("content_type")
            if user.has_perm(f"{permission.content_type.app_label}.{permission.codename}")
        ]
        setattr(user, cache, held)
    return Permission.objects.filter(pk__in=getattr(user, cache))


def permissions_given_by(user: User) -> QuerySet[Permission]:
    """What the user may give anyone: the permissions they hold, but *administrator* only if
    they are a superuser, because it opens the admin of every app of the data owners granted
    (and every product permission with it)."""
    held = permissions_held_by(user)
    if user.is_active and user.is_superuser:
        return held
    return held.exclude(content_type__app_label="accounts", codename=Perm.ADMINISTRATOR.value)


def users_administered_by(user: User, action: str = VIEW) -> QuerySet[User]:
    """Users granted, directly or through their team, an administered data owner. Changed only
    when every grant is administered, they are no superuser, and they hold no permission the
    staff user lacks (else a new password would hand the staff user more than it has)."""
    users = User.objects.all()
    if user.is_active and user.is_superuser:
        return users
    owners = data_owners_administered_by(user)
    direct = DataOwner.users.through.objects
    by_team = DataOwner.teams.through.objects
    seen = users.filter(
        Q(pk__in=direct.filter(dataowner__in=owners).values("user"))
        | Q(team__in=by_team.filter(dataowner__in=owners).values("team"))
    )
    if action == VIEW:
        return seen
    lacking = Permission.objects.exclude(pk__in=permissions_held_by(user))
    return (
        seen.filter(is_superuser=False)
        .exclude(pk__in=direct.exclude(dataowner__in=owners).values("user"))
        .exclude(team__in=by_team.exclude(dataowner__in=owners).values("team"))
        .exclude(user_permissions__in=lacking)
        .exclude(groups__permissions__in=lacking)
    )


def teams_administered_by(user: User, action: str = VIEW) -> QuerySet[Team]:
    """Teams granted an administered data owner, or with a member the user may see. Changed
    (and given to users) only when every grant, member and campaign of the team is theirs."""
    teams = Team.objects.all()
    if user.is_active and user.is_superuser:
        return teams
    owners = data_owners_administered_by(user)
    grants = DataOwner.teams.through.objects
    seen_users = users_administered_by(user)
    seen = teams.filter(
        Q(pk__in=grants.filter(dataowner__in=owners).values("team"))
        | Q(pk__in=seen_users.filter(team__isnull=False).values("team"))
    )
    if action == VIEW:
        return seen
    unseen_members = User.objects.filter(team__isnull=False).exclude(pk__in=seen_users)
    others_campaigns = Campaign.teams.through.objects.exclude(campaign__crm__data_owner__in=owners)
    return (
        seen.exclude(pk__in=grants.exclude(dataowner__in=owners).values("team"))
        .exclude(pk__in=unseen_members.values("team"))
        .exclude(pk__in=others_campaigns.values("team"))
    )


def groups_administered_by(user: User, action: str = VIEW) -> QuerySet[Group]:
    """Roles shared by data owners: seen (and given) when they give nothing the user may not
    give, and are unused or held by a user they see; changed only when every member is a user
    they may change."""
    groups = Group.objects.all()
    if user.is_active and user.is_superuser:
        return groups
    lacking = Permission.objects.exclude(pk__in=permissions_given_by(user))
    members = User.groups.through.objects
    seen = groups.exclude(permissions__in=lacking).filter(
        ~Q(pk__in=members.values("group"))
        | Q(pk__in=members.filter(user__in=users_administered_by(user)).values("group"))
    )
    if action == VIEW:
        return seen
    changeable = users_administered_by(user, CHANGE)
    return seen.exclude(pk__in=members.exclude(user__in=changeable).values("group"))


def flows_administered_by(user: User, action: str = VIEW) -> QuerySet[Flow]:
    """Flows are shared: seen when unused or used by an administered campaign; changed only
    when no campaign of another data owner uses them (a change would change its work)."""
    flows = Flow.objects.all()
    if user.is_active and user.is_superuser:
        return flows
    owners = data_owners_administered_by(user)
    campaigns = Campaign.objects.all()
    seen = flows.filter(
        ~Q(pk__in=campaigns.values("flow"))
        | Q(pk__in=campaigns.filter(crm__data_owner__in=owners).values("flow"))
    )
    if action == VIEW:
        return seen
    return seen.exclude(pk__in=campaigns.exclude(crm__data_owner__in=owners).values("flow"))


def administered(user: User, rows: QuerySet[M], action: str = VIEW) -> QuerySet[M]:
    """The rows the staff user may see (``VIEW``) or change (``CHANGE``) in the admin.

    A model this module does not know is shown to superusers only, so that a new model admin
    shows nothing until its data owner is named here.
    """
    if user.is_active and user.is_superuser:
        return rows
    label = rows.model._meta.label_lower
    if label in SHARED_BY_ALL:
        return rows
    if label in OWNER_PATHS:
        owners = data_owners_administered_by(user)
        return rows.filter(**{f"{OWNER_PATHS[label]}__in": owners})
    scoped: dict[str, Callable[[User, str], QuerySet[Any]]] = {
        "accounts.user": users_administered_by,
        "accounts.team": teams_administered_by,
        "auth.group": groups_administered_by,
        "flows.flow": flows_administered_by,
    }
    if label in scoped:
        return rows.filter(pk__in=scoped[label](user, action).values("pk"))
    if label in ("flows.state", "flows.outcome"):
        return rows.filter(flow__in=flows_administered_by(user, action))
    if label in LOGIN_RECORDS:
        # Login lockouts name a username: the user's own, or one nobody has (a superuser's).
        return rows.filter(username__in=users_administered_by(user, action).values("username"))
    if label == "api.apitoken":
        # A token is the user's: those who administer the user see and revoke it.
        return rows.filter(user__in=users_administered_by(user, action))
    if label in TWO_FACTOR_DEVICES:
        return rows.filter(
            **{f"{TWO_FACTOR_DEVICES[label]}__in": users_administered_by(user, action)}
        )
    if label == "auth.permission":
        return rows.filter(pk__in=permissions_given_by(user))
    return rows.none()
