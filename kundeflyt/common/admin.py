"""The admin site's look, the shared admin building blocks, and the audit trail (read only).

Every model admin and inline is scoped to the data owners the staff user administers
(`kundeflyt.accounts.admin_scope`); the building blocks here derive from its classes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.db.models.fields import Field
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from kundeflyt.accounts.admin_scope import OwnerScopedAdmin, OwnerScopedInline
from kundeflyt.common.models import AuditEntry

admin.site.site_header = _("Kundeflyt administration")
admin.site.site_title = _("Kundeflyt")
admin.site.index_title = _("Set-up")


class ReadOnlyAdmin(OwnerScopedAdmin):
    """Rows that change only through the services (customers, placements, events…): the admin
    shows them and never adds, changes or deletes them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class CompactTabularInline(OwnerScopedInline):
    """A tabular inline whose rows fit the page: short text inputs and narrow numbers."""

    short_fields: tuple[str, ...] = ("name", "key", "label", "title", "code")
    narrow_fields: tuple[str, ...] = ("position", "priority", "follow_up_default_minutes")

    def formfield_for_dbfield(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if db_field.name in self.short_fields:
            kwargs["widget"] = forms.TextInput(attrs={"size": 16})
        elif db_field.name in self.narrow_fields:
            kwargs["widget"] = forms.NumberInput(attrs={"style": "width: 4.5em"})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class ChoicesField(forms.CharField):
    """The choices of a single or multiple choice field, one per line, stored as a JSON list."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 18})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _("One choice per line."))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list | tuple):
            lines: Iterable[Any] = value
        else:
            lines = str(value or "").splitlines()
        choices: list[str] = []
        for line in lines:
            choice = str(line).strip()
            if choice and choice not in choices:
                choices.append(choice)
        return choices

    def has_changed(self, initial: Any, data: Any) -> bool:
        return self.to_python(initial) != self.to_python(data)


CHOICE_TYPES = ("choice", "multichoice")


def check_choices(form: forms.ModelForm[Any], type_field: str = "type") -> None:
    """Single and multiple choice fields need choices; other types have none."""
    field_type = form.cleaned_data.get(type_field)
    choices = form.cleaned_data.get("choices") or []
    if field_type in CHOICE_TYPES and not choices:
        form.add_error("choices", _("A choice field needs at least one choice."))
    elif field_type and field_type not in CHOICE_TYPES and choices:
        form.add_error("choices", _("Only single and multiple choice fields have choices."))


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "action", "object_type", "object_id", "customer", "actor")
    list_filter = ("action", "object_type")
    date_hierarchy = "at"
    list_select_related = ("actor_user", "customer")
    search_fields = ("object_id", "customer__customer_id", "customer__name", "actor_process")
    show_full_result_count = False
    fields = (
        "at",
        "action",
        "object_type",
        "object_id",
        "customer",
        "actor",
        "changes",
    )
    readonly_fields = fields

    @admin.display(description=_("by"), ordering="actor_user")
    def actor(self, entry: AuditEntry) -> str:
        return entry.actor_display

    @admin.display(description=_("changes"))
    def changes(self, entry: AuditEntry) -> SafeString:
        if not isinstance(entry.before or {}, dict) or not isinstance(entry.after or {}, dict):
            return format_html(
                "<pre>{}\n{}</pre>", _json_text(entry.before or ""), _json_text(entry.after or "")
            )
        before: dict[str, Any] = entry.before or {}
        after: dict[str, Any] = entry.after or {}
        keys = list(dict.fromkeys([*before, *after]))
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            (
                (key, _json_text(before.get(key, "")), _json_text(after.get(key, "")))
                for key in keys
            ),
        )
        return format_html(
            "<table><thead><tr><th></th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("before"),
            _("after"),
            rows,
        )
