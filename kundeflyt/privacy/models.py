"""What privacy work leaves behind: the log of data subjects' requests, and the keyed hashes
by which an erased person is still recognised (and never brought back)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kundeflyt.common.actors import ActorMixin
from kundeflyt.common.bounds import LONG_TEXT


class Right(models.TextChoices):
    """The data subject's rights that Kundeflyt acts on (GDPR)."""

    ACCESS = "access", _("Access (Art. 15)")
    ERASURE = "erasure", _("Erasure (Art. 17)")
    OBJECTION = "objection", _("Objection (Art. 21)")
    RETENTION = "retention", _("Retention period ran out")


class PrivacyRequest(ActorMixin):
    """One request of a data subject, or one privacy action taken on a person: who acted,
    when, under which right, and what was done. Kept after the person is erased, without
    anything that identifies them."""

    data_owner = models.ForeignKey(
        "crm.DataOwner",
        verbose_name=_("data owner"),
        on_delete=models.PROTECT,
        related_name="privacy_requests",
    )
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="privacy_requests",
    )
    right = models.CharField(_("right"), max_length=10, choices=Right.choices)
    at = models.DateTimeField(_("when"), default=timezone.now)
    reason = models.TextField(_("reason"), blank=True, max_length=LONG_TEXT)
    done = models.TextField(_("what was done"), max_length=LONG_TEXT)

    class Meta:
        verbose_name = _("privacy request")
        verbose_name_plural = _("privacy requests")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["data_owner", "at"], name="privacy_request_owner_time")]

    def __str__(self) -> str:
        return f"{self.get_right_display()} {self.at:%Y-%m-%d %H:%M}"


class ErasedKey(models.Model):
    """A customer id or phone number of an erased person, as a keyed hash (HMAC-SHA256 with
    ``PRIVACY_HASH_KEY``): enough to recognise the person when a file or a client brings them
    again, never enough to read the value back."""

    class Kind(models.TextChoices):
        CUSTOMER_ID = "customer_id", _("customer id")
        PHONE = "phone", _("phone")

    crm = models.ForeignKey(
        "crm.CRM", verbose_name=_("CRM"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    digest = models.CharField(_("keyed hash"), max_length=64)
    erased_at = models.DateTimeField(_("erased"))

    class Meta:
        verbose_name = _("erased person's key")
        verbose_name_plural = _("erased persons' keys")
        constraints = [
            models.UniqueConstraint(fields=["crm", "kind", "digest"], name="erased_key_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.digest[:12]}…"


class AccessLogEntry(models.Model):
    """One look at personal data: who saw which customer (or took which export), when, and
    where. Compact on purpose: one row per customer shown, kept ``ACCESS_LOG_DAYS``."""

    class Kind(models.TextChoices):
        DETAILS = "details", _("Customer details")
        SCREEN = "screen", _("Customer screen")
        SEARCH = "search", _("Search results")
        EXPORT = "export", _("Export")
        API = "api", _("API")
        PRIVACY = "privacy", _("Privacy pages")

    user = models.ForeignKey(
        "accounts.User", verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    kind = models.CharField(_("where"), max_length=10, choices=Kind.choices)
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    export = models.ForeignKey(
        "exports.Export",
        verbose_name=_("export"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["customer", "at"], name="access_log_customer"),
            models.Index(fields=["at"], name="access_log_time"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.customer_id or self.export_id}"


class ReservedNumber(models.Model):
    """A number in the Reservasjonsregisteret (the national do-not-call register for
    telemarketing), as last loaded. Each load replaces the whole list."""

    phone = models.CharField(_("phone"), max_length=20, unique=True)

    class Meta:
        verbose_name = _("reserved number")
        verbose_name_plural = _("Reservasjonsregisteret")

    def __str__(self) -> str:
        return self.phone


class RegisterLoad(ActorMixin):
    """One load of the Reservasjonsregisteret: when, by whom, from which file, and what it
    did. A consumer campaign calls only while the latest done load is less than a month old.
    An uploaded file waits under ``DATA_DIR / "register"`` for the background task."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        RUNNING = "running", _("Loading")
        DONE = "done", _("Loaded")
        FAILED = "failed", _("Failed")

    loaded_at = models.DateTimeField(_("loaded"), default=timezone.now, db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DONE
    )
    error = models.CharField(_("error"), max_length=300, blank=True)
    stored_name = models.CharField(_("stored file"), max_length=100, blank=True)
    file_name = models.CharField(_("file"), max_length=255)
    numbers = models.PositiveIntegerField(_("numbers"), default=0)
    rejected = models.PositiveIntegerField(_("lines not read"), default=0)
    reserved_customers = models.PositiveIntegerField(_("customers reserved"), default=0)

    class Meta:
        verbose_name = _("register load")
        verbose_name_plural = _("register loads")
        ordering = ["-loaded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.loaded_at:%Y-%m-%d})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
