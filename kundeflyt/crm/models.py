from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kundeflyt.common.actors import ActorMixin
from kundeflyt.common.bounds import LONG_TEXT
from kundeflyt.common.configuration import ConfigManager
from kundeflyt.common.fields import FieldType
from kundeflyt.common.phones import display_phone

RETENTION_MONTHS_MAX = 240


class DataOwner(models.Model):
    """The company that owns customer data: the tenancy boundary and the default controller."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    org_number = models.CharField(_("organisation number"), max_length=20, blank=True)
    controller = models.CharField(
        _("controller"),
        max_length=200,
        blank=True,
        help_text=_("Who is responsible for the processing (GDPR). Empty means the data owner."),
    )
    purpose = models.TextField(_("purpose of processing"), blank=True, max_length=LONG_TEXT)
    legal_basis = models.CharField(
        _("legal basis"),
        max_length=500,
        blank=True,
        help_text=_(
            "For the record of processing, e.g. legitimate interest (GDPR Art. 6(1)(f)). "
            "Empty: the default for the CRM's kind."
        ),
    )
    users = models.ManyToManyField(
        "accounts.User", verbose_name=_("users with access"), blank=True, related_name="+"
    )
    teams = models.ManyToManyField(
        "accounts.Team", verbose_name=_("teams with access"), blank=True, related_name="+"
    )

    objects = ConfigManager()

    class Meta:
        verbose_name = _("data owner")
        verbose_name_plural = _("data owners")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def controller_name(self) -> str:
        return self.controller or self.name


class CRM(models.Model):
    """A data owner's customer register: one for businesses, one for consumers."""

    class Kind(models.TextChoices):
        B2B = "b2b", _("Businesses (B2B)")
        B2C = "b2c", _("Consumers (B2C)")

    data_owner = models.ForeignKey(
        DataOwner, verbose_name=_("data owner"), on_delete=models.PROTECT, related_name="crms"
    )
    kind = models.CharField(_("kind"), max_length=3, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    # Retention (GDPR Art. 5(1)(e)): customers with no activity for this many months are
    # erased by the nightly job, once a privacy officer has seen who the first run takes.
    retention_months = models.PositiveSmallIntegerField(
        _("keep inactive customers (months)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(RETENTION_MONTHS_MAX)],
        help_text=_("Empty: kept until a person asks to be erased."),
    )
    retention_confirmed_at = models.DateTimeField(
        _("retention confirmed"), null=True, blank=True, editable=False
    )

    objects = ConfigManager()

    class Meta:
        verbose_name = _("CRM")
        verbose_name_plural = _("CRMs")
        ordering = ["data_owner__name", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["data_owner", "kind"], name="crm_one_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.data_owner} · {self.name}"


class LookupService(models.TextChoices):
    PROFF = "proff", "Proff"
    BRREG = "brreg", _("Business register (Brønnøysund)")
    GULESIDER = "gulesider", "Gule Sider"
    GOOGLE = "google", "Google"
    MAPS = "maps", _("Map")


class FieldDefinition(models.Model):
    """One information field of a CRM's customers (the CRM setup)."""

    crm = models.ForeignKey(
        CRM, verbose_name=_("CRM"), on_delete=models.CASCADE, related_name="fields"
    )
    key = models.SlugField(_("key"), max_length=60)
    label = models.CharField(_("label"), max_length=120)
    type = models.CharField(_("type"), max_length=20, choices=FieldType.choices)
    required = models.BooleanField(_("required"), default=False)
    unique = models.BooleanField(
        _("unique"), default=False, help_text=_("Used to find duplicates.")
    )
    choices = models.JSONField(_("choices"), default=list, blank=True)
    lookups = models.JSONField(
        _("lookup services"),
        default=list,
        blank=True,
        help_text=_("Which lookup services the field can be searched in."),
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = ConfigManager()

    class Meta:
        verbose_name = _("information field")
        verbose_name_plural = _("information fields")
        ordering = ["crm", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["crm", "key"], name="field_key_unique_in_crm"),
        ]

    def __str__(self) -> str:
        return self.label


STANDARD_FIELD_KEYS = ("customer_id", "name", "phone1", "phone2", "phone3", "email")


class ContactBasis(models.TextChoices):
    """Why a customer whose number is in the Reservasjonsregisteret may still be called
    (markedsføringsloven § 12)."""

    CUSTOMER = "customer", _("Existing customer relationship")
    REQUEST = "request", _("Asked to be called")


class Customer(models.Model):
    """A person or company in one CRM. Where it is worked lives in its placement."""

    class Source(models.TextChoices):
        IMPORT = "import", _("Import")
        API = "api", _("API")
        MANUAL = "manual", _("Manual")

    crm = models.ForeignKey(
        CRM, verbose_name=_("CRM"), on_delete=models.PROTECT, related_name="customers"
    )
    customer_id = models.CharField(_("customer id"), max_length=64)
    name = models.CharField(_("name"), max_length=200, blank=True)
    phone1 = models.CharField(_("phone"), max_length=20, blank=True, db_index=True)
    phone2 = models.CharField(_("phone 2"), max_length=20, blank=True, db_index=True)
    phone3 = models.CharField(_("phone 3"), max_length=20, blank=True, db_index=True)
    email = models.EmailField(_("e-mail"), blank=True)
    fields = models.JSONField(_("information fields"), default=dict, blank=True)
    created_at = models.DateTimeField(_("in the system since"), default=timezone.now)
    # When its fields last changed, by any writer (card, import, undo, block list, API): a
    # sync asks for what changed since its last run.
    updated_at = models.DateTimeField(_("changed"), default=timezone.now)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    is_blocked = models.BooleanField(
        _("blocked"), default=False, help_text=_("One of its numbers is on the block list.")
    )
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)
    # GDPR Art. 21: the person asked not to be called. It blocks the customer whatever its
    # numbers become (the block list blocks the numbers it had then).
    objected_at = models.DateTimeField(_("asked not to be called"), null=True, blank=True)
    # DESIGN.md rule 11: one of its numbers is in the Reservasjonsregisteret as last loaded.
    # A campaign the marketing law binds calls it only with a recorded contact basis.
    is_reserved = models.BooleanField(
        _("in the Reservasjonsregisteret"), default=False, db_default=False
    )
    contact_basis = models.CharField(
        _("may be called despite the register"),
        max_length=10,
        choices=ContactBasis.choices,
        blank=True,
        default="",
        db_default="",
    )
    contact_basis_on = models.DateField(_("since"), null=True, blank=True)
    contact_basis_source = models.CharField(
        _("source"), max_length=200, blank=True, default="", db_default=""
    )
    # Prior consent to marketing by SMS or e-mail (markedsføringsloven § 15): when, and how.
    marketing_consent_on = models.DateField(_("consented to marketing"), null=True, blank=True)
    marketing_consent_source = models.CharField(
        _("consent given how"), max_length=200, blank=True, default="", db_default=""
    )
    # The import that created it, to select "the customers of that file" and give them out.
    # A string reference: the imports app builds on this one, never the reverse.
    import_batch = models.ForeignKey(
        "imports.ImportBatch",
        verbose_name=_("came in with import"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["crm", "customer_id"], name="customer_id_unique_in_crm"
            ),
        ]
        indexes = [models.Index(fields=["crm", "updated_at"], name="customer_crm_changed")]

    def __str__(self) -> str:
        return self.name or self.customer_id

    @property
    def phones(self) -> list[str]:
        return [p for p in (self.phone1, self.phone2, self.phone3) if p]

    @property
    def phones_display(self) -> list[str]:
        return [display_phone(p) for p in self.phones]


class BlockedNumber(ActorMixin):
    """A phone number that no campaign may call: of any data owner when ``data_owner`` is
    empty (the administrators' list), otherwise of that data owner only (a person's objection
    binds the controller it was made to, GDPR Art. 21)."""

    phone = models.CharField(_("phone"), max_length=20)
    data_owner = models.ForeignKey(
        DataOwner,
        verbose_name=_("data owner"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="blocked_numbers",
        help_text=_("Empty: no data owner's campaigns may call the number."),
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    added_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("blocked number")
        verbose_name_plural = _("block list")
        ordering = ["phone"]
        constraints = [
            models.UniqueConstraint(
                fields=["phone"], condition=Q(data_owner__isnull=True), name="blocked_once_for_all"
            ),
            models.UniqueConstraint(
                fields=["phone", "data_owner"],
                condition=Q(data_owner__isnull=False),
                name="blocked_once_per_owner",
            ),
        ]
        indexes = [models.Index(fields=["phone"], name="blocked_number_phone")]

    def __str__(self) -> str:
        return display_phone(self.phone)


def customers_with_phone(phone: str) -> Q:
    return Q(phone1=phone) | Q(phone2=phone) | Q(phone3=phone)


def blocked_numbers_of(data_owner_id: int) -> models.QuerySet[BlockedNumber]:
    """The numbers no campaign of the data owner may call: everyone's and its own."""
    return BlockedNumber.objects.filter(Q(data_owner__isnull=True) | Q(data_owner=data_owner_id))


def has_blocked_number(data_owner_id: int, phones: list[str]) -> bool:
    return blocked_numbers_of(data_owner_id).filter(phone__in=[p for p in phones if p]).exists()
