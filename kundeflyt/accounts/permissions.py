"""The product's permissions and the one check services use."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kundeflyt.common.actors import Process
from kundeflyt.common.errors import NotAllowed

if TYPE_CHECKING:
    from kundeflyt.accounts.models import User


class Perm(StrEnum):
    ADMINISTRATOR = "administrator"
    CAMPAIGN_SETUP = "campaign_setup"
    REPORTING = "reporting"
    INDIVIDUAL_RESULTS = "individual_results"
    REVENUE = "revenue"
    CUSTOMER_HANDLING = "customer_handling"
    EXTENDED_CUSTOMER_HANDLING = "extended_customer_handling"
    SMS = "sms"
    BULK_SMS = "bulk_sms"
    CORRECT_REGISTRATIONS = "correct_registrations"
    API_ACCESS = "api_access"
    PRIVACY_OFFICER = "privacy_officer"


def has_perm(actor: User | Process, perm: Perm) -> bool:
    """Processes act with the rights they were started with; users need the permission."""
    if isinstance(actor, Process):
        return True
    return actor.is_active and actor.has_perm(f"accounts.{perm.value}")


def require(actor: User | Process, perm: Perm) -> None:
    if not has_perm(actor, perm):
        from kundeflyt.accounts.models import User

        label = dict(User._meta.permissions).get(perm.value, perm.value)
        raise NotAllowed(_("You do not have the permission “%(perm)s”.") % {"perm": label})


def sees_everything(actor: User | Process) -> bool:
    """Processes and superusers see every data owner and campaign. Everyone else, an
    administrator too, sees the data owners granted to them or their team (the tenancy
    boundary, in the screens as in the admin)."""
    return isinstance(actor, Process) or actor.is_superuser


def users_with_perm(perm: Perm) -> QuerySet[User]:
    """Active users holding ``perm`` directly, through a group, or as superusers."""
    from kundeflyt.accounts.models import User

    grant = Q(
        user_permissions__content_type__app_label="accounts", user_permissions__codename=perm.value
    )
    by_group = Q(
        groups__permissions__content_type__app_label="accounts",
        groups__permissions__codename=perm.value,
    )
    ids = User.objects.filter(grant | by_group | Q(is_superuser=True)).values("pk")
    return User.objects.filter(is_active=True, pk__in=ids)
