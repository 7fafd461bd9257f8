"""Retention (GDPR Art. 5(1)(e)): per CRM, customers with no activity for its number of months
are erased by the nightly job (``kundeflyt/schedule.py``). Activity is the last registration,
field edit or placement change, or a follow-up still open. A period takes effect only once a
privacy officer has seen the list the first run would erase (the dry run) and confirmed it;
changing the period asks for that again."""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import Actor, data_owners_visible_to
from kundeflyt.common.actors import Process
from kundeflyt.common.audit import audit
from kundeflyt.common.bounds import bounded_int
from kundeflyt.common.errors import Conflict, DomainError, NotFound
from kundeflyt.crm.models import CRM, RETENTION_MONTHS_MAX, Customer
from kundeflyt.handling.models import Event, Placement
from kundeflyt.privacy.models import Right
from kundeflyt.privacy.services import customer_anonymise

logger = logging.getLogger(__name__)
RETENTION = Process("retention")
SAMPLE = 50  # the customers a dry run names


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day ``months`` earlier (the month's last day where it is shorter)."""
    local = timezone.localtime(moment)
    index = local.year * 12 + local.month - 1 - months
    year, month = divmod(index, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day)


def retention_candidates(crm: CRM, now: dt.datetime) -> QuerySet[Customer]:
    """The CRM's customers its retention period has run out for, oldest first."""
    assert crm.retention_months
    cutoff = months_before(now, crm.retention_months)
    recent = Event.objects.filter(customer=OuterRef("pk"), registered_at__gte=cutoff)
    busy = Placement.objects.filter(
        Q(changed_at__gte=cutoff)
        | Q(follow_up_at__isnull=False)
        | Q(holder__isnull=False)
        | Q(correction__isnull=False),
        pk=OuterRef("pk"),
    )
    return (
        Customer.objects.filter(
            crm=crm, anonymised_at__isnull=True, created_at__lt=cutoff, updated_at__lt=cutoff
        )
        .exclude(Exists(recent))
        .exclude(Exists(busy))
        .order_by("pk")
    )


@dataclass
class RetentionPlan:
    crm: CRM
    due: int  # customers the next run erases
    sample: list[Customer]


def retention_plans(actor: Actor, now: dt.datetime | None = None) -> list[RetentionPlan]:
    """Every CRM of the officer's data owners, with what its next run would erase."""
    require(actor, Perm.PRIVACY_OFFICER)
    now = now or timezone.now()
    crms = CRM.objects.filter(data_owner__in=data_owners_visible_to(actor)).select_related(
        "data_owner"
    )
    plans = []
    for crm in crms.order_by("data_owner__name", "kind"):
        if not crm.retention_months:
            plans.append(RetentionPlan(crm, 0, []))
            continue
        due = retention_candidates(crm, now)
        plans.append(RetentionPlan(crm, due.count(), list(due[:SAMPLE])))
    return plans


def _crm_of(actor: Actor, crm_id: int) -> CRM:
    require(actor, Perm.PRIVACY_OFFICER)
    crm = (
        CRM.objects.select_for_update()
        .filter(pk=crm_id, data_owner__in=data_owners_visible_to(actor))
        .first()
    )
    if crm is None:
        raise NotFound(_("No such CRM."), field="crm")
    return crm


@transaction.atomic(durable=True)
def retention_set(actor: Actor, *, crm_id: int, months: Any) -> CRM:
    """Set (or, with nothing, remove) the CRM's retention period. A new period waits for a
    privacy officer to confirm its dry run."""
    crm = _crm_of(actor, crm_id)
    wanted = None
    if months not in (None, ""):
        wanted = bounded_int(months, field="months", minimum=1, maximum=RETENTION_MONTHS_MAX)
    if wanted == crm.retention_months:
        return crm
    before = {"retention_months": crm.retention_months}
    CRM.objects.filter(pk=crm.pk).update(retention_months=wanted, retention_confirmed_at=None)
    audit(actor, "crm.retention", crm, before=before, after={"retention_months": wanted})
    crm.refresh_from_db()
    return crm


@transaction.atomic(durable=True)
def retention_confirm(actor: Actor, *, crm_id: int) -> CRM:
    """The officer has seen who the run would erase: from now on it runs every night."""
    crm = _crm_of(actor, crm_id)
    if not crm.retention_months:
        raise DomainError(_("Set a retention period first."), field="months")
    if crm.retention_confirmed_at is not None:
        raise Conflict(_("The retention period is already confirmed."), field="crm")
    now = timezone.now()
    CRM.objects.filter(pk=crm.pk).update(retention_confirmed_at=now)
    audit(actor, "crm.retention_confirm", crm, after={"retention_months": crm.retention_months})
    crm.refresh_from_db()
    return crm


def retention_run(now: dt.datetime | None = None) -> dict[int, int]:
    """The nightly job: erase, CRM by CRM, the customers whose confirmed retention period has
    run out, each in its own transaction (an erasure that loses a race is skipped). Returns
    the number erased per CRM."""
    now = now or timezone.now()
    erased: dict[int, int] = {}
    confirmed = CRM.objects.filter(
        retention_months__isnull=False, retention_confirmed_at__isnull=False
    )
    for crm in confirmed.order_by("pk"):
        reason = _("No activity for %(n)s months.") % {"n": crm.retention_months}
        for pk in list(retention_candidates(crm, now).values_list("pk", flat=True)):
            try:
                customer_anonymise(RETENTION, customer_id=pk, reason=reason, right=Right.RETENTION)
            except DomainError as error:  # worked or erased meanwhile
                logger.info("retention skipped customer %s: %s", pk, error.message)
                continue
            erased[crm.pk] = erased.get(crm.pk, 0) + 1
    return erased
