from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kundeflyt.common.actors import ActorMixin


class AuditEntry(ActorMixin):
    """Every change other than a registered outcome: who, when, what, before and after."""

    at = models.DateTimeField(_("time"), db_index=True)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    object_type = models.CharField(_("object type"), max_length=60)
    object_id = models.CharField(_("object id"), max_length=64)
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="audit_entries",
    )
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "at"], name="audit_customer_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}:{self.object_id}"


class ScheduledRun(models.Model):
    """One firing of a scheduled job. Every worker process runs the scheduler, so the first
    to write a job's slot enqueues it and the others skip it: a job runs once per slot however
    many workers run, and none keeps state of its own."""

    job = models.CharField(_("job"), max_length=60)
    slot = models.DateTimeField(_("due at"))
    enqueued_at = models.DateTimeField(_("started"))

    class Meta:
        verbose_name = _("scheduled run")
        verbose_name_plural = _("scheduled runs")
        ordering = ["-slot", "job"]
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="scheduled_run_once")]

    def __str__(self) -> str:
        return f"{self.job} {self.slot:%Y-%m-%d %H:%M}"


class ConfigVersion(models.Model):
    """One row whose number every change of configuration replaces (see
    ``kundeflyt.common.configuration``): processes cache what they read under it."""

    n = models.BigIntegerField(_("version"))

    class Meta:
        verbose_name = _("configuration version")
        verbose_name_plural = _("configuration versions")

    def __str__(self) -> str:
        return str(self.n)
