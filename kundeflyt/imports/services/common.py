"""What the import services share: who may import where, and the batch's actor."""

from __future__ import annotations

from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import campaigns_visible_to, data_owners_visible_to
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.common.actors import Process
from kundeflyt.common.errors import DomainError, NotFound
from kundeflyt.crm.models import CRM
from kundeflyt.imports.models import ImportBatch

Actor = User | Process

# The command line imports as this process (DESIGN.md: a process names the actor).
IMPORTER = Process("import")


def check_may_import(actor: Actor, crm: CRM) -> None:
    """*Campaign setup* (which covers import) and a CRM of a data owner the actor sees; any
    other CRM is refused as if it did not exist."""
    require(actor, Perm.CAMPAIGN_SETUP)
    if not data_owners_visible_to(actor).filter(pk=crm.data_owner_id).exists():
        raise NotFound(_("No such CRM."), field="crm")


def check_target(
    actor: Actor, crm: CRM, campaign: Campaign | None, segment: Segment | None
) -> None:
    """The campaign must be one the actor sees, of the same CRM; the segment one of its."""
    if campaign is None:
        if segment is not None:
            raise DomainError(_("Choose the campaign of the segment."), field="campaign")
        return
    if campaign.crm_id != crm.pk or not campaigns_visible_to(actor).filter(pk=campaign.pk).exists():
        raise DomainError(_("Choose a campaign of this CRM."), field="campaign")
    if segment is not None and segment.campaign_id != campaign.pk:
        raise DomainError(_("The segment belongs to another campaign."), field="segment")


def actor_of(batch: ImportBatch) -> Actor:
    if batch.actor_user_id and batch.actor_user is not None:
        return batch.actor_user
    return Process(batch.actor_process or IMPORTER.name)
