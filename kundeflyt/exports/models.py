"""Exports: who took which customers or registrations out of the system, when, and the file
of a large one, written in the background and downloadable by its maker until it expires."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Export(models.Model):
    """One export. Small ones stream at once and are only recorded; large ones run as a
    background task that writes ``file_name`` under ``DATA_DIR / "exports"``. The file is
    deleted when it expires; the record stays, so an export of personal data is never
    unaccounted for."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        REGISTRATIONS = "registrations", _("Registrations")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    class Status(models.TextChoices):
        STREAMED = "streamed", _("Downloaded at once")
        WAITING = "waiting", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    user = models.ForeignKey(
        "accounts.User", verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    format = models.CharField(_("format"), max_length=4, choices=Format.choices)
    # The query string of the export page, read again by the task as the user.
    query = models.TextField(_("filters"), blank=True, max_length=4000)
    language = models.CharField(_("language"), max_length=8)
    description = models.CharField(_("what"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    rows_total = models.PositiveBigIntegerField(_("rows"), default=0)
    rows_done = models.PositiveBigIntegerField(_("rows written"), default=0)
    created_at = models.DateTimeField(_("started"))
    started_at = models.DateTimeField(_("running since"), null=True, blank=True)
    # Moves with every thousand rows written: a running export that stops moving has lost
    # its worker (stopped or restarted), and is marked failed by export_files_purge.
    progress_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("download until"), null=True, blank=True)
    file_name = models.CharField(_("file"), max_length=100, blank=True)
    download_name = models.CharField(_("file name"), max_length=200, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "created_at"], name="export_user_time"),
            models.Index(
                fields=["expires_at"],
                condition=models.Q(status="done"),
                name="export_files_to_expire",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.format} ({self.user_id}, {self.created_at:%Y-%m-%d %H:%M})"

    @property
    def in_background(self) -> bool:
        return self.status != self.Status.STREAMED

    @property
    def working(self) -> bool:
        return self.status in (self.Status.WAITING, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        if not self.rows_total:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, self.rows_done * 100 // self.rows_total)
