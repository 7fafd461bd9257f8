"""Data owners, their CRMs and information fields, customers (read only) and the block list."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Exists, Model, OuterRef, Q, QuerySet
from django.db.models.fields import Field
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from kundeflyt.accounts.admin_scope import (
    OwnerScopedAdmin,
    ScopedRelatedFieldListFilter,
    scoped,
    staff_user,
)
from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, has_perm
from kundeflyt.accounts.visibility import data_owners_administered_by, users_administered_by
from kundeflyt.common.admin import (
    ChoicesField,
    CompactTabularInline,
    ReadOnlyAdmin,
    check_choices,
)
from kundeflyt.common.errors import DomainError
from kundeflyt.common.fields import is_valid_org_number
from kundeflyt.common.phones import normalise_phone, phone_search_variants
from kundeflyt.crm.models import (
    CRM,
    STANDARD_FIELD_KEYS,
    BlockedNumber,
    Customer,
    DataOwner,
    FieldDefinition,
    LookupService,
)

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as StrPromise


class CRMListFilter(ScopedRelatedFieldListFilter):
    """Filter by the CRMs the user may see, naming each by its data owner without a query per
    CRM."""

    def field_choices(
        self, field: Field[Any, Any], request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str | StrPromise]]:
        return [(str(crm.pk), str(crm)) for crm in scoped(request, crms_with_owner())]


def crms_with_owner() -> QuerySet[CRM]:
    return CRM.objects.select_related("data_owner")


# --- Data owners and CRMs -------------------------------------------------------------------


class DataOwnerForm(forms.ModelForm):
    class Meta:
        model = DataOwner
        fields = ("name", "org_number", "controller", "purpose", "legal_basis", "users", "teams")

    def clean_org_number(self) -> str:
        digits = re.sub(r"\s", "", self.cleaned_data.get("org_number") or "")
        if digits and not is_valid_org_number(digits):
            raise forms.ValidationError(_("Not a valid organisation number (nine digits)."))
        return digits


class CRMInline(CompactTabularInline):
    model = CRM
    fields = ("kind", "name")
    extra = 0
    max_num = len(CRM.Kind.choices)
    show_change_link = True


@admin.register(DataOwner)
class DataOwnerAdmin(OwnerScopedAdmin):
    form = DataOwnerForm
    list_display = ("name", "org_number", "controller_name", "crm_count")
    search_fields = ("name", "org_number")
    filter_horizontal = ("users", "teams")
    fieldsets = (
        (None, {"fields": ("name", "org_number")}),
        (_("Privacy"), {"fields": ("controller", "purpose", "legal_basis")}),
        (_("Access"), {"fields": ("users", "teams")}),
    )
    inlines = (CRMInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[DataOwner]:
        return super().get_queryset(request).annotate(crm_count=Count("crms"))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        user = staff_user(request)
        owner = form.instance
        if not change and not data_owners_administered_by(user).filter(pk=owner.pk).exists():
            # Whoever sets up a data owner administers it, or it would vanish from their sight.
            owner.users.add(user)

    @admin.display(description=_("controller"), ordering="controller")
    def controller_name(self, owner: DataOwner) -> str:
        return owner.controller_name

    @admin.display(description=_("CRMs"), ordering="crm_count")
    def crm_count(self, owner: DataOwner) -> int:
        return getattr(owner, "crm_count", 0)


class FieldDefinitionForm(forms.ModelForm):
    choices = ChoicesField(label=_("choices"))
    lookups = forms.MultipleChoiceField(
        label=_("lookup services"),
        choices=LookupService.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = FieldDefinition
        fields = ("position", "label", "key", "type", "required", "unique", "choices", "lookups")

    def clean_key(self) -> str:
        key: str = self.cleaned_data["key"]
        if key in STANDARD_FIELD_KEYS:
            raise forms.ValidationError(
                _("“%(key)s” is a standard customer field; choose another key."),
                params={"key": key},
            )
        return key

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        check_choices(self)
        return cleaned


class FieldDefinitionInline(CompactTabularInline):
    model = FieldDefinition
    form = FieldDefinitionForm
    extra = 0
    ordering = ("position", "id")
    prepopulated_fields = {"key": ("label",)}


@admin.register(CRM)
class CRMAdmin(OwnerScopedAdmin):
    list_display = ("name", "data_owner", "kind", "field_count")
    list_filter = ("kind", "data_owner")
    list_select_related = ("data_owner",)
    search_fields = ("name", "data_owner__name")
    fields = ("data_owner", "kind", "name")
    inlines = (FieldDefinitionInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CRM]:
        return super().get_queryset(request).annotate(field_count=Count("fields"))

    def get_readonly_fields(self, request: HttpRequest, obj: CRM | None = None) -> Any:
        # Customers never cross data owners: a CRM stays with the owner it was made for.
        return ("data_owner",) if obj is not None else ()

    @admin.display(description=_("information fields"), ordering="field_count")
    def field_count(self, crm: CRM) -> int:
        return getattr(crm, "field_count", 0)


# --- Customers (changed only through the services) ------------------------------------------


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = (
        "customer_id",
        "name",
        "phones",
        "crm",
        "campaign",
        "state",
        "created_at",
        "is_blocked",
    )
    list_filter = (("crm", CRMListFilter), "source", "is_blocked")
    list_select_related = ("crm__data_owner", "placement__campaign", "placement__state")
    search_fields = ("customer_id", "name", "phone1", "email")
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("crm", "customer_id", "name", "phones", "email")}),
        (_("Information fields"), {"fields": ("information_fields",)}),
        (_("Where the customer is worked"), {"fields": ("placement_summary", "events")}),
        (None, {"fields": ("created_at", "source", "is_blocked", "anonymised_at")}),
    )
    readonly_fields = (
        "crm",
        "customer_id",
        "name",
        "phones",
        "email",
        "information_fields",
        "placement_summary",
        "events",
        "created_at",
        "source",
        "is_blocked",
        "anonymised_at",
    )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str
    ) -> tuple[QuerySet[Customer], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # Phones are stored in E.164: "912 34 567" finds +4791234567 in any of the three.
        e164 = phone_search_variants(search_term) if search_term else None
        if e164:
            found |= queryset.filter(Q(phone1=e164) | Q(phone2=e164) | Q(phone3=e164))
        return found, may_have_duplicates

    @admin.display(description=_("phone"))
    def phones(self, customer: Customer) -> SafeString:
        return format_html_join(
            mark_safe("<br>"),
            '<span style="white-space: nowrap">{}</span>',
            ((phone,) for phone in customer.phones_display),
        )

    @admin.display(description=_("campaign"), ordering="placement__campaign__name")
    def campaign(self, customer: Customer) -> str:
        placement = _placement(customer)
        return str(placement.campaign) if placement else "—"

    @admin.display(description=_("state"), ordering="placement__state__name")
    def state(self, customer: Customer) -> str:
        placement = _placement(customer)
        return str(placement.state) if placement else "—"

    @admin.display(description=_("information fields"))
    def information_fields(self, customer: Customer) -> SafeString | str:
        definitions = list(customer.crm.fields.order_by("position", "id"))
        if not definitions:
            return "—"
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td></tr>",
            ((d.label, _value_text(customer.fields.get(d.key))) for d in definitions),
        )
        return format_html("<table>{}</table>", rows)

    @admin.display(description=_("placement"))
    def placement_summary(self, customer: Customer) -> str:
        placement = _placement(customer)
        if placement is None:
            return str(_("In no campaign."))
        parts = [str(placement.campaign), str(placement.segment or _("unsegmented"))]
        parts.append(str(placement.state))
        return " · ".join(parts)

    @admin.display(description=_("events"))
    def events(self, customer: Customer) -> SafeString:
        url = reverse("admin:handling_event_changelist") + f"?customer__id__exact={customer.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Show the customer's events"))


def _placement(customer: Customer) -> Any:
    """The customer's placement, or None when it is in no campaign."""
    try:
        return customer.placement
    except ObjectDoesNotExist:
        return None


def _value_text(value: Any) -> str:
    if value is None or value == []:
        return "—"
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


# --- Block list -----------------------------------------------------------------------------


class BlockedNumberForm(forms.ModelForm):
    class Meta:
        model = BlockedNumber
        fields = ("phone", "reason")

    def clean_phone(self) -> str:
        try:
            phone = normalise_phone(self.cleaned_data.get("phone") or "")
        except DomainError as error:
            raise forms.ValidationError(error.message) from None
        if not phone:
            raise forms.ValidationError(_("A phone number is required."))
        if BlockedNumber.objects.filter(phone=phone, data_owner=None).exists():
            raise forms.ValidationError(_("The number is on the block list already."))
        return phone


@admin.register(BlockedNumber)
class BlockedNumberAdmin(OwnerScopedAdmin):
    """Numbers are added and removed through the block list services, which flag and unflag
    the customers that have them; an entry is never edited.

    The list is one for every data owner (rule 11). *Administrator* adds to it, as the
    services require: a block only ever stops calls. Removing a number opens it again to every
    data owner's campaigns, so only a superuser does that. Who added a number is named only to
    those who may see that user.

    The admin keeps the list for everyone. A data owner's own entries, the objections of
    people who asked not to be called, are kept on the privacy pages."""

    form = BlockedNumberForm
    list_display = ("number", "reason", "added_at", "added_by")
    list_select_related = ("actor_user",)
    search_fields = ("phone", "reason")
    date_hierarchy = "added_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[BlockedNumber]:
        entries = super().get_queryset(request).filter(data_owner__isnull=True)
        if staff_user(request).is_superuser:
            return entries
        seen = users_administered_by(staff_user(request)).filter(pk=OuterRef("actor_user"))
        return entries.annotate(adder_seen=Exists(seen))

    def get_fields(self, request: HttpRequest, obj: BlockedNumber | None = None) -> Any:
        if obj is None:
            return ("phone", "reason")
        return ("number", "reason", "added_at", "added_by")

    def get_readonly_fields(self, request: HttpRequest, obj: BlockedNumber | None = None) -> Any:
        return () if obj is None else ("number", "reason", "added_at", "added_by")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[BlockedNumber], search_term: str
    ) -> tuple[QuerySet[BlockedNumber], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        e164 = phone_search_variants(search_term) if search_term else None
        if e164:
            found |= queryset.filter(phone=e164)
        return found, may_have_duplicates

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and _is_administrator(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) and staff_user(request).is_superuser

    def save_model(self, request: HttpRequest, obj: BlockedNumber, form: Any, change: bool) -> None:
        from kundeflyt.crm.services import blocked_number_add

        assert not change, "block list entries are never edited"
        entry = blocked_number_add(staff_user(request), phone=obj.phone, reason=obj.reason)
        obj.pk = entry.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: BlockedNumber) -> None:
        from kundeflyt.crm.services import blocked_number_remove

        blocked_number_remove(staff_user(request), phone=obj.phone)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[BlockedNumber]) -> None:
        from django.db import transaction

        from kundeflyt.crm.services import blocked_number_remove

        with transaction.atomic():
            for entry in queryset:
                blocked_number_remove(staff_user(request), phone=entry.phone)

    @admin.display(description=_("phone"), ordering="phone")
    def number(self, entry: BlockedNumber) -> str:
        return str(entry)

    @admin.display(description=_("added by"), ordering="actor_user")
    def added_by(self, entry: BlockedNumber) -> str:
        if entry.actor_user_id and not getattr(entry, "adder_seen", True):
            return "—"
        return entry.actor_display


def _is_administrator(request: HttpRequest) -> bool:
    """The block list services require the product permission *administrator*."""
    user = request.user
    return isinstance(user, User) and has_perm(user, Perm.ADMINISTRATOR)
