"""Customer imports: the batch (what was imported, how, by whom, with what result), the file
it came from, the rows it refused and the mapping each CRM remembers.

Every value is bounded (rule 12): texts by ``max_length``, counters are positive integers, and
the JSON columns are written only by ``services`` after their sizes are checked.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kundeflyt.common.actors import ActorMixin

# The most columns a file may have, and the longest header, column name or value kept.
MAX_COLUMNS = 200
HEADER_LENGTH = 200
VALUE_LENGTH = 200
REASON_LENGTH = 500
ID_PREFIX_LENGTH = 20


class FileKind(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"
    ODS = "ods", "OpenDocument (ODS)"


class OnDuplicate(models.TextChoices):
    SKIP = "skip", _("Skip the row")
    EMPTY = "empty", _("Fill in the existing customer's empty fields")
    ALL = "all", _("Overwrite the existing customer's mapped fields")


class OnBlocked(models.TextChoices):
    CREATE = "create", _("Create the customer, but never place it")
    SKIP = "skip", _("Do not create the customer")


class ImportBatch(ActorMixin):
    """One import of one file into one CRM. The actor is who started it (a user, or the
    process ``import`` for the command line). It keeps the record of what the import did,
    also after an undo."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Not started")
        QUEUED = "queued", _("Waiting to run")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")
        UNDONE = "undone", _("Undone")

    crm = models.ForeignKey(
        "crm.CRM", verbose_name=_("CRM"), on_delete=models.PROTECT, related_name="import_batches"
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    # The file.
    file_name = models.CharField(_("file name"), max_length=255)
    file_sha256 = models.CharField(_("SHA-256"), max_length=64)
    file_size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    file_kind = models.CharField(_("file type"), max_length=4, choices=FileKind.choices)
    sheet = models.CharField(_("sheet"), max_length=HEADER_LENGTH, blank=True)
    encoding = models.CharField(_("character set"), max_length=20, blank=True)
    delimiter = models.CharField(_("separator"), max_length=1, blank=True)
    header_row = models.PositiveIntegerField(_("header row"), default=1)
    columns = models.JSONField(_("columns"), default=list, blank=True)
    # The first values of each column (at most three of 40 characters), shown when mapping.
    samples = models.JSONField(_("first values"), default=list, blank=True)
    # How: the mapping (column position → target field), and the options.
    mapping = models.JSONField(_("mapping"), default=dict, blank=True)
    rest_field = models.CharField(
        _("unmapped columns go to"),
        max_length=60,
        blank=True,
        help_text=_("A text field of the CRM; empty drops the unmapped columns."),
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    segment = models.ForeignKey(
        "campaigns.Segment",
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    on_duplicate = models.CharField(
        _("duplicates"), max_length=5, choices=OnDuplicate.choices, default=OnDuplicate.SKIP
    )
    match_phone = models.BooleanField(_("a shared phone number makes a duplicate"), default=False)
    id_prefix = models.CharField(
        _("prefix of generated customer ids"),
        max_length=ID_PREFIX_LENGTH,
        blank=True,
        help_text=_("Empty: rows without a customer id are rejected."),
    )
    on_blocked = models.CharField(
        _("blocked numbers"), max_length=6, choices=OnBlocked.choices, default=OnBlocked.CREATE
    )
    # Progress and result.
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    rows_total = models.PositiveIntegerField(_("rows in the file"), default=0)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    placed_count = models.PositiveIntegerField(_("placed in the campaign"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    duplicate_count = models.PositiveIntegerField(_("skipped as duplicates"), default=0)
    blocked_count = models.PositiveIntegerField(_("on the block list"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected"), default=0)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    failure = models.CharField(_("why it failed"), max_length=REASON_LENGTH, blank=True)
    # Undo.
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    undone_by_process = models.CharField(_("undone by process"), max_length=40, blank=True)
    removed_count = models.PositiveIntegerField(_("customers removed by the undo"), default=0)
    restored_count = models.PositiveIntegerField(_("customers restored by the undo"), default=0)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["crm", "created_at"], name="import_batch_crm_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(segment__isnull=True) | Q(campaign__isnull=False),
                name="import_batch_segment_needs_campaign",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.CANCELLED, self.Status.FAILED)

    @property
    def percent(self) -> int:
        return round(100 * self.rows_done / self.rows_total) if self.rows_total else 100

    @property
    def rows_per_second(self) -> float | None:
        if not self.started_at or not self.rows_done:
            return None
        end = self.finished_at or timezone.now()
        seconds = (end - self.started_at).total_seconds()
        return self.rows_done / seconds if seconds > 0 else None


class ImportFileChunk(models.Model):
    """The uploaded file, in pieces of at most a megabyte, kept in the database so that every
    application server and worker can read it (they share nothing else) and so that rejected
    rows can be handed back in the file's own layout."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["batch", "position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="import_chunk_once"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}/{self.position}"


class ImportRowError(models.Model):
    """Why a row was rejected: its number in the file (the header is row 1 of a file with a
    header), the column at fault (empty for the whole row), the value and the reason."""

    batch = models.ForeignKey(
        ImportBatch, verbose_name=_("import"), on_delete=models.CASCADE, related_name="errors"
    )
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=HEADER_LENGTH, blank=True)
    value = models.CharField(_("value"), max_length=VALUE_LENGTH, blank=True)
    reason = models.CharField(_("reason"), max_length=REASON_LENGTH)

    class Meta:
        verbose_name = _("rejected row")
        verbose_name_plural = _("rejected rows")
        ordering = ["batch", "row", "id"]
        indexes = [models.Index(fields=["batch", "row"], name="import_error_batch_row")]

    def __str__(self) -> str:
        return f"{self.row}: {self.reason}"


class ImportMapping(models.Model):
    """The mapping a CRM's last import used, by column header, offered again next time."""

    crm = models.OneToOneField(
        "crm.CRM", verbose_name=_("CRM"), on_delete=models.CASCADE, related_name="import_mapping"
    )
    by_header = models.JSONField(_("target field by column header"), default=dict, blank=True)
    rest_field = models.CharField(_("unmapped columns go to"), max_length=60, blank=True)
    updated_at = models.DateTimeField(_("saved"), default=timezone.now)

    class Meta:
        verbose_name = _("remembered import mapping")
        verbose_name_plural = _("remembered import mappings")

    def __str__(self) -> str:
        return str(self.crm)
