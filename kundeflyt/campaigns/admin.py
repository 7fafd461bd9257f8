"""Campaigns in the admin: basics, visibility, privacy facts, information, rules, add-ons,
and the segments, links, outcome options, extra fields and products that belong to them."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.db.models.fields import Field
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kundeflyt.accounts.admin_scope import OwnerScopedAdmin, scoped
from kundeflyt.campaigns.calling_hours import follows_consumer_rules, opens_at, when_words
from kundeflyt.campaigns.models import (
    Campaign,
    CampaignLink,
    ExtraField,
    OutcomeOption,
    Product,
    Segment,
)
from kundeflyt.common.admin import ChoicesField, CompactTabularInline, check_choices
from kundeflyt.common.errors import DomainError
from kundeflyt.crm.admin import CRMListFilter, crms_with_owner
from kundeflyt.flows.models import Outcome
from kundeflyt.privacy.register import register_latest, register_stale_since


class OutcomeWithFlowField(forms.ModelChoiceField):
    """Before the campaign has a flow, every flow's outcomes are offered, named with their flow."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.flow} · {obj}"


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = (
            "name",
            "crm",
            "flow",
            "visible_to_all",
            "users",
            "teams",
            "visible_from",
            "visible_until",
            "controller",
            "purpose",
            "legal_basis",
            "information",
            "presentation_mode",
            "max_attempts",
            "min_minutes_between_attempts",
            "calling_from",
            "calling_until",
            "consumer_rules",
            "calls_enabled",
            "sms_enabled",
            "currency",
        )
        widgets = {
            "information": forms.Textarea(attrs={"rows": 6, "cols": 80}),
            "purpose": forms.Textarea(attrs={"rows": 3, "cols": 80}),
            "currency": forms.TextInput(attrs={"size": 4}),
        }

    def clean_currency(self) -> str:
        currency = (self.cleaned_data.get("currency") or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise forms.ValidationError(_("Use a three-letter currency code, such as NOK."))
        return currency

    def clean_flow(self) -> Any:
        flow = self.cleaned_data.get("flow")
        if flow is not None and "flow" in self.changed_data:
            from kundeflyt.flows.services import flow_validate

            try:
                flow_validate(flow)
            except DomainError as error:
                raise forms.ValidationError(
                    _("This flow cannot be used yet: %(problem)s"),
                    params={"problem": error.message},
                ) from None
        return flow

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        start, end = cleaned.get("visible_from"), cleaned.get("visible_until")
        if start and end and start > end:
            self.add_error("visible_until", _("“Visible until” cannot be before “visible from”."))
        return cleaned


class FlowOutcomeFormSet(BaseInlineFormSet):
    """Outcome options and extra fields name outcomes of the campaign's own flow."""

    def clean(self) -> None:
        super().clean()
        flow_id = getattr(self.instance, "flow_id", None)
        if not flow_id:
            return
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            outcome = data.get("outcome")
            if data.get("DELETE") or outcome is None:
                continue
            if outcome.flow_id != flow_id:
                form.add_error(
                    "outcome",
                    _("Choose an outcome of the campaign's flow “%(flow)s”.")
                    % {"flow": self.instance.flow},
                )


class FlowOutcomeInline(CompactTabularInline):
    formset = FlowOutcomeFormSet
    extra = 0

    def get_formset(self, request: HttpRequest, obj: Campaign | None = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("outcome")
        if obj is not None and isinstance(field, forms.ModelChoiceField):
            field.queryset = scoped(request, Outcome.objects.filter(flow=obj.flow_id))
            # Outcomes are edited in their flow, not from a campaign.
            for attr in ("can_add_related", "can_change_related", "can_view_related"):
                if hasattr(field.widget, attr):
                    setattr(field.widget, attr, False)
        elif field is not None:
            formset.form.base_fields["outcome"] = OutcomeWithFlowField(
                queryset=scoped(
                    request,
                    Outcome.objects.select_related("flow").order_by("flow__name", "position", "id"),
                ),
                required=field.required,
                label=field.label,
                help_text=field.help_text,
            )
        return formset


class SegmentInline(CompactTabularInline):
    model = Segment
    fields = (
        "name",
        "priority",
        "rule_field",
        "rule_op",
        "rule_value",
        "rule_low",
        "rule_high",
        "customer_count",
    )
    readonly_fields = ("customer_count",)
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[Segment]:
        return super().get_queryset(request).annotate(customer_count=Count("placements"))

    @admin.display(description=_("customers"))
    def customer_count(self, segment: Segment) -> int:
        return getattr(segment, "customer_count", 0)


class CampaignLinkInline(CompactTabularInline):
    model = CampaignLink
    fields = ("position", "title", "url")
    extra = 0

    def formfield_for_dbfield(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if db_field.name == "url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class OutcomeOptionInline(FlowOutcomeInline):
    model = OutcomeOption
    fields = ("outcome", "position", "label")


class ExtraFieldForm(forms.ModelForm):
    choices = ChoicesField(label=_("choices"))

    class Meta:
        model = ExtraField
        fields = (
            "position",
            "applies_to",
            "outcome",
            "label",
            "key",
            "type",
            "required",
            "choices",
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        applies_to, outcome = cleaned.get("applies_to"), cleaned.get("outcome")
        if applies_to == ExtraField.AppliesTo.OUTCOME and outcome is None:
            self.add_error("outcome", _("Choose the outcome that asks for this field."))
        if applies_to == ExtraField.AppliesTo.PRODUCT and outcome is not None:
            self.add_error("outcome", _("A product line field belongs to no outcome."))
        check_choices(self)
        return cleaned


class ExtraFieldFormSet(FlowOutcomeFormSet):
    def clean(self) -> None:
        super().clean()
        seen: set[tuple[Any, ...]] = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if data.get("DELETE") or not data.get("key"):
                continue
            where = (data.get("applies_to"), data.get("outcome"), data["key"])
            if where in seen:
                form.add_error("key", _("Another field here has the same key."))
            seen.add(where)


class ExtraFieldInline(FlowOutcomeInline):
    model = ExtraField
    form = ExtraFieldForm
    formset = ExtraFieldFormSet
    prepopulated_fields = {"key": ("label",)}


class ProductInline(CompactTabularInline):
    model = Product
    fields = ("name", "code", "description", "price", "active")
    extra = 0

    def formfield_for_dbfield(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if db_field.name == "description":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 2, "cols": 30})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Campaign)
class CampaignAdmin(OwnerScopedAdmin):
    form = CampaignForm
    list_display = (
        "name",
        "crm",
        "flow",
        "presentation_mode",
        "visible_to_all",
        "visible_from",
        "visible_until",
        "segment_count",
    )
    list_filter = (("crm", CRMListFilter), "flow", "presentation_mode", "visible_to_all")
    list_select_related = ("crm__data_owner", "flow")
    search_fields = ("name", "crm__name", "crm__data_owner__name")
    filter_horizontal = ("users", "teams")
    fieldsets = (
        (None, {"fields": ("name", "crm", "flow")}),
        (
            _("Visibility"),
            {
                "fields": ("visible_to_all", "users", "teams", ("visible_from", "visible_until")),
                "description": _(
                    "Who may work the campaign, and when. Without dates it is always visible."
                ),
            },
        ),
        (
            _("Privacy"),
            {
                "fields": ("controller", "purpose", "legal_basis"),
                "description": _("Leave empty to use the data owner's controller and purpose."),
            },
        ),
        (_("Information for agents"), {"fields": ("information",)}),
        (
            _("Presentation and attempts"),
            {
                "fields": (
                    "presentation_mode",
                    "max_attempts",
                    "min_minutes_between_attempts",
                    ("calling_from", "calling_until"),
                    "consumer_rules",
                    "calls_now",
                ),
                "description": _(
                    "Follow-ups are suggested and moved within the calling hours, never on "
                    "weekends or public holidays."
                ),
            },
        ),
        (
            _("Add-on services"),
            {
                "fields": (("calls_enabled", "caller_number"), ("sms_enabled", "sms_sender")),
                "description": _(
                    "SMS go through the data owner's provider (Calls and SMS › providers); "
                    "without one they land in the SMS outbox. Templates are below."
                ),
            },
        ),
        (_("Money"), {"fields": ("currency",)}),
    )
    inlines = (
        SegmentInline,
        CampaignLinkInline,
        OutcomeOptionInline,
        ExtraFieldInline,
        ProductInline,
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        return super().get_queryset(request).annotate(segment_count=Count("segments"))

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None) -> Any:
        # Customers never cross CRMs, and the campaign's states, options and history belong
        # to its flow: both are chosen when the campaign is made.
        return ("crm", "flow", "calls_now") if obj is not None else ("calls_now",)

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        if db_field.name == "crm":
            kwargs["queryset"] = crms_with_owner()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("calls now"))
    def calls_now(self, campaign: Campaign) -> str:
        """DESIGN.md rule 11, as My work says it: whether the campaign may call now, and if
        not, why and since or until when."""
        if campaign.pk is None:
            return "–"
        if not follows_consumer_rules(campaign):
            return str(_("Open: the consumer rules do not bind this campaign."))
        now = timezone.now()
        latest = register_latest()
        stale = register_stale_since(now, latest)
        if latest is None:
            return str(_("Closed: the Reservasjonsregisteret has never been loaded"))
        if stale is not None:
            return str(
                _("Closed since %(since)s: the Reservasjonsregisteret is more than a month old")
                % {"since": timezone.localtime(stale).strftime("%d.%m.%Y")}
            )
        opens = opens_at(campaign, now)
        if opens is not None:
            return str(_("Opens %(when)s") % {"when": when_words(opens, now)})
        return str(_("Open for calls now."))

    @admin.display(description=_("segments"), ordering="segment_count")
    def segment_count(self, campaign: Campaign) -> int:
        return getattr(campaign, "segment_count", 0)
