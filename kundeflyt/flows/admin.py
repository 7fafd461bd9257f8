"""Customer flows in the admin: states and outcomes, checked after every save.

A flow is built in steps (states first, then the outcomes between them), so an unfinished
flow is kept and its problem shown, rather than refused.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.db.models.fields import Field
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kundeflyt.accounts.admin_scope import OwnerScopedAdmin, scoped, staff_user
from kundeflyt.accounts.models import User
from kundeflyt.accounts.visibility import CHANGE
from kundeflyt.campaigns.models import Campaign
from kundeflyt.common.admin import CompactTabularInline
from kundeflyt.common.errors import DomainError
from kundeflyt.flows.models import Flow, Outcome, State


def flow_snapshot(flow_id: int | None) -> dict[str, Any] | None:
    """The flow as stored now, for the audit row's *before*."""
    from kundeflyt.flows.services import flow_export

    flow = Flow.objects.filter(pk=flow_id).first() if flow_id else None
    return flow_export(flow) if flow is not None else None


def flow_saved(request: HttpRequest, flow: Flow, before: dict[str, Any] | None) -> None:
    """Audit the edit and tell the administrator what still keeps the flow from working."""
    from kundeflyt.common.audit import audit
    from kundeflyt.flows.services import flow_export, flow_validate

    user = request.user
    assert isinstance(user, User)
    audit(user, "flow.save", flow, before=before, after=flow_export(flow))
    try:
        flow_validate(flow)
    except DomainError as error:
        messages.error(
            request,
            _("The flow “%(flow)s” cannot be used yet: %(problem)s")
            % {"flow": flow, "problem": error.message},
        )


class StateInline(CompactTabularInline):
    model = State
    fields = ("position", "name", "key", "kind")
    extra = 0
    ordering = ("position", "id")
    prepopulated_fields = {"key": ("name",)}


class OutcomeInline(CompactTabularInline):
    """Outcomes between the flow's saved states; the outcome page has every setting."""

    model = Outcome
    fields = (
        "position",
        "name",
        "key",
        "from_states",
        "to_state",
        "follow_up",
        "follow_up_default_minutes",
        "comment_required",
        "products",
        "books_meeting",
    )
    extra = 0
    ordering = ("position", "id")
    prepopulated_fields = {"key": ("name",)}
    show_change_link = True

    def formfield_for_dbfield(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if db_field.name == "from_states":
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_formset(self, request: HttpRequest, obj: Flow | None = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        # Only this flow's states; a new flow's states are chosen once they are saved.
        states: QuerySet[State] = (
            State.objects.filter(flow=obj) if obj is not None else State.objects.none()
        )
        states = scoped(request, states)
        for name in ("from_states", "to_state"):
            field = formset.form.base_fields.get(name)
            if isinstance(field, forms.ModelChoiceField):
                field.queryset = states
        return formset


class FlowForm(forms.ModelForm):
    class Meta:
        model = Flow
        fields = ("name", "description")

    before: dict[str, Any] | None = None


@admin.register(Flow)
class FlowAdmin(OwnerScopedAdmin):
    """Flows are shared by data owners: a staff user sees the unused ones and those their
    campaigns use, and changes a flow only when no other data owner's campaign uses it (a
    change would change that campaign's work)."""

    form = FlowForm
    list_display = ("name", "state_count", "outcome_count", "campaign_count")
    search_fields = ("name",)
    inlines = (StateInline, OutcomeInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Flow]:
        # Count only the campaigns the user may see: the others are not theirs to know of.
        theirs = None
        if not staff_user(request).is_superuser:
            theirs = Q(campaigns__in=scoped(request, Campaign.objects.all()))
        return (
            super()
            .get_queryset(request)
            .annotate(
                state_count=Count("states", distinct=True),
                outcome_count=Count("outcomes", distinct=True),
                campaign_count=Count("campaigns", filter=theirs, distinct=True),
            )
        )

    def save_model(self, request: HttpRequest, obj: Flow, form: Any, change: bool) -> None:
        form.before = flow_snapshot(obj.pk) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        flow_saved(request, form.instance, form.before)

    @admin.display(description=_("states"), ordering="state_count")
    def state_count(self, flow: Flow) -> int:
        return getattr(flow, "state_count", 0)

    @admin.display(description=_("outcomes"), ordering="outcome_count")
    def outcome_count(self, flow: Flow) -> int:
        return getattr(flow, "outcome_count", 0)

    @admin.display(description=_("campaigns"), ordering="campaign_count")
    def campaign_count(self, flow: Flow) -> int:
        return getattr(flow, "campaign_count", 0)


class OutcomeForm(forms.ModelForm):
    class Meta:
        model = Outcome
        fields = (
            "flow",
            "name",
            "key",
            "description",
            "position",
            "from_states",
            "to_state",
            "follow_up",
            "follow_up_default_minutes",
            "comment_required",
            "products",
            "books_meeting",
            "report_category",
        )

    before: dict[str, Any] | None = None

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        flow = cleaned.get("flow") or getattr(self.instance, "flow", None)
        if flow is None:
            return cleaned
        target = cleaned.get("to_state")
        if target is not None and target.flow_id != flow.pk:
            self.add_error("to_state", _("Choose a state of the flow “%(flow)s”.") % {"flow": flow})
        sources = cleaned.get("from_states") or []
        if any(state.flow_id != flow.pk for state in sources):
            self.add_error(
                "from_states", _("Choose states of the flow “%(flow)s”.") % {"flow": flow}
            )
        return cleaned


@admin.register(Outcome)
class OutcomeAdmin(OwnerScopedAdmin):
    """An outcome is part of its flow: seen and changed as the flow is."""

    form = OutcomeForm
    choices_to_change = ("flow",)
    list_display = (
        "name",
        "key",
        "flow",
        "to_state",
        "follow_up",
        "comment_required",
        "products",
        "books_meeting",
        "position",
    )
    list_filter = ("flow", "follow_up", "products")
    list_select_related = ("flow", "to_state")
    search_fields = ("name", "key", "flow__name")
    filter_horizontal = ("from_states",)
    prepopulated_fields = {"key": ("name",)}
    fieldsets = (
        (None, {"fields": ("flow", "name", "key", "description", "position")}),
        (_("Moves"), {"fields": ("from_states", "to_state")}),
        (
            _("When registered"),
            {
                "fields": (
                    ("follow_up", "follow_up_default_minutes"),
                    "comment_required",
                    "products",
                    "books_meeting",
                    "report_category",
                )
            },
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Outcome | None = None) -> Any:
        # An outcome stays in its flow: its states and the events made with it belong there.
        return ("flow",) if obj is not None else ()

    def get_form(
        self, request: HttpRequest, obj: Outcome | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        states: QuerySet[State] = State.objects.select_related("flow")
        if obj is not None:
            states = states.filter(flow=obj.flow_id)
        states = scoped(request, states, CHANGE)
        for name in ("from_states", "to_state"):
            field = form.base_fields.get(name)
            if isinstance(field, forms.ModelChoiceField):
                field.queryset = states
                if obj is None:
                    field.label_from_instance = _state_with_flow  # type: ignore[assignment, method-assign]
        return form

    def save_model(self, request: HttpRequest, obj: Outcome, form: Any, change: bool) -> None:
        form.before = flow_snapshot(obj.flow_id)
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        flow_saved(request, form.instance.flow, form.before)


def _state_with_flow(state: Any) -> str:
    return f"{state.flow} · {state}"
