"""Users and teams in the admin: who works, in which team, language and time zone, and with
which of the product's permissions."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Permission
from django.db.models import Count, ManyToManyField, Model, QuerySet
from django.db.models.fields import Field
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from kundeflyt.accounts.models import Team, User
from kundeflyt.accounts.permissions import Perm


def product_permissions() -> QuerySet[Permission]:
    """The product's own permissions (administrator, campaign setup, …), each on or off."""
    return Permission.objects.filter(
        content_type__app_label=User._meta.app_label,
        content_type__model=User._meta.model_name,
        codename__in=[perm.value for perm in Perm],
    ).select_related("content_type")


class ProductPermissionField(forms.ModelMultipleChoiceField):
    """Shows a permission by its product name, in the user's language."""

    def label_from_instance(self, obj: Model) -> str:
        assert isinstance(obj, Permission)
        return str(dict(User._meta.permissions).get(obj.codename, obj.name))


def time_zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(zoneinfo.available_timezones())]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets[:2],  # type: ignore[index]
        (_("Work"), {"fields": ("team", "language", "time_zone")}),
        *BaseUserAdmin.fieldsets[2:],  # type: ignore[index]
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (
            _("Work"),
            {
                "classes": ("wide",),
                "fields": ("first_name", "last_name", "email", "team", "language", "time_zone"),
            },
        ),
    )
    list_display = ("username", "first_name", "last_name", "email", "team", "is_active", "is_staff")
    list_filter = ("team", "is_active", "is_staff", "is_superuser", "groups")
    list_select_related = ("team",)
    search_fields = ("username", "first_name", "last_name", "email")
    ordering = ("first_name", "last_name", "username")

    def formfield_for_dbfield(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if db_field.name == "time_zone":
            # The middleware activates this zone on every request: only real zones are allowed.
            return forms.ChoiceField(
                label=capfirst(db_field.verbose_name),
                choices=time_zone_choices(),
                initial=db_field.get_default(),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelMultipleChoiceField | None:
        if db_field.name == "user_permissions":
            kwargs["queryset"] = product_permissions()
            kwargs["form_class"] = ProductPermissionField
            kwargs["help_text"] = _(
                "Kundeflyt's permissions for this user. Roles with more permissions are "
                "given through groups."
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Only a superuser makes superusers.
            readonly += ("is_superuser",)
        return readonly

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        user = form.instance
        # The form offers only the product's permissions; keep any other the user holds.
        kept = (
            list(user.user_permissions.exclude(pk__in=product_permissions().values("pk")))
            if change and "user_permissions" in form.fields
            else []
        )
        super().save_related(request, form, formsets, change)
        if kept:
            user.user_permissions.add(*kept)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "member_count")
    search_fields = ("name",)
    readonly_fields = ("member_list",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(member_count=Count("members"))

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, team: Team) -> int:
        return getattr(team, "member_count", 0)

    @admin.display(description=_("members"))
    def member_list(self, team: Team) -> SafeString | str:
        if team.pk is None:
            return "—"
        members = team.members.order_by("first_name", "last_name", "username")
        if not members:
            return "—"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:accounts_user_change", args=[m.pk]), str(m)) for m in members),
        )
