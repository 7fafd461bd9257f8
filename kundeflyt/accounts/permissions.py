"""The product's permissions and the one check services use."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

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
    CORRECT_REGISTRATIONS = "correct_registrations"


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
    """Administrators and processes see every data owner and campaign."""
    return isinstance(actor, Process) or actor.is_superuser or has_perm(actor, Perm.ADMINISTRATOR)
