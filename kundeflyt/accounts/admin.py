"""Users, teams and roles in the admin: who works, in which team, language and time zone, for
which data owners, and with which of the product's permissions.

A staff user who is no superuser sees the users and teams granted the data owners they
administer, and changes only those with no grant elsewhere (`accounts.visibility`). They give
only the data owners they administer and the permissions they hold themselves, and never make
anyone a superuser."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group, Permission
from django.db.models import Count, ManyToManyField, Model, Q, QuerySet
from django.db.models.fields import Field
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from kundeflyt.accounts.admin_scope import (
    OwnerScopedAdmin,
    OwnerScopedInline,
    scoped,
    staff_user,
)
from kundeflyt.accounts.models import Team, User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.accounts.visibility import data_owners_administered_by
from kundeflyt.common.errors import DomainError
from kundeflyt.common.phones import normalise_phone
from kundeflyt.crm.models import DataOwner


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


# --- Which data owners a user or team is granted ---------------------------------------------


class GrantsForm(forms.ModelForm):
    """A user's or team's data owners, chosen from those the staff user administers; grants of
    other data owners are neither shown nor changed. `grants_field` replaces the field for
    each request."""

    data_owners = forms.ModelMultipleChoiceField(
        queryset=DataOwner.objects.none(), required=False, label=_("data owners")
    )
    grant_relation = "users"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields.get("data_owners")
        if (
            self.instance.pk
            and isinstance(field, forms.ModelMultipleChoiceField)
            and field.queryset is not None
        ):
            granted = field.queryset.filter(**{self.grant_relation: self.instance})
            self.initial.setdefault("data_owners", list(granted.values_list("pk", flat=True)))


def grants_field(request: HttpRequest) -> forms.ModelMultipleChoiceField:
    """The data owners the staff user may give. Whoever is no superuser must give one at
    least: a user or team granted none of theirs would vanish from their sight."""
    user = staff_user(request)
    return forms.ModelMultipleChoiceField(
        queryset=data_owners_administered_by(user),
        required=not user.is_superuser,
        label=_("data owners"),
        widget=FilteredSelectMultiple(_("data owners"), is_stacked=False),
    )


def grants_save(request: HttpRequest, form: GrantsForm) -> None:
    """Grant exactly the chosen data owners among those the staff user administers."""
    if "data_owners" not in getattr(form, "cleaned_data", {}):
        return
    column = "user" if form.grant_relation == "users" else "team"
    through = getattr(DataOwner, form.grant_relation).through
    held = through.objects.filter(**{column: form.instance})
    chosen = {owner.pk for owner in form.cleaned_data["data_owners"]}
    administered = data_owners_administered_by(staff_user(request))
    held.filter(dataowner__in=administered).exclude(dataowner__in=chosen).delete()
    present = set(held.values_list("dataowner", flat=True))
    through.objects.bulk_create(
        [through(dataowner_id=pk, **{column: form.instance}) for pk in chosen - present]
    )


def without_grants(fieldsets: Any) -> list[Any]:
    """The fieldsets without the data owners: a page shown read only has no such field."""
    return [
        (name, {**options, "fields": [f for f in options["fields"] if f != "data_owners"]})
        for name, options in fieldsets
    ]


# --- Users ------------------------------------------------------------------------------------


class SuperuserLock:
    """Only a superuser makes or unmakes superusers: anyone else who posts a change is refused
    with the reason at the field."""

    superuser_locked = False
    cleaned_data: dict[str, Any]
    instance: Any

    def clean_is_superuser(self) -> bool:
        value = bool(self.cleaned_data.get("is_superuser"))
        if self.superuser_locked and value != bool(self.instance.is_superuser):
            status = User._meta.get_field("is_superuser").verbose_name
            raise forms.ValidationError(
                _("You do not have the permission “%(perm)s”.") % {"perm": status}
            )
        return value


class UserForm(SuperuserLock, GrantsForm, UserChangeForm):
    def clean_phone(self) -> str:
        """Stored as E.164, as every phone number (click-to-call dials it)."""
        try:
            return normalise_phone(self.cleaned_data.get("phone") or "", field="phone")
        except DomainError as error:
            raise forms.ValidationError(error.message) from None


class UserAddForm(SuperuserLock, GrantsForm, AdminUserCreationForm):
    pass


@admin.register(User)
class UserAdmin(OwnerScopedAdmin, BaseUserAdmin):
    form = UserForm
    add_form = UserAddForm
    fieldsets = (
        *BaseUserAdmin.fieldsets[:2],  # type: ignore[index]
        (
            _("Work"),
            {"fields": ("team", "language", "time_zone", "phone", "data_owners", "is_integration")},
        ),
        *BaseUserAdmin.fieldsets[2:],  # type: ignore[index]
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (
            _("Work"),
            {
                "classes": ("wide",),
                "fields": (
                    "first_name",
                    "last_name",
                    "email",
                    "team",
                    "language",
                    "time_zone",
                    "data_owners",
                    "is_integration",
                ),
            },
        ),
    )
    list_display = ("username", "first_name", "last_name", "email", "team", "is_active", "is_staff")
    list_filter = ("team", "is_active", "is_integration", "is_staff", "is_superuser", "groups")
    list_select_related = ("team",)
    search_fields = ("username", "first_name", "last_name", "email")
    ordering = ("first_name", "last_name", "username")
    # A team gives its members the team's data owners: only teams wholly the user's own.
    choices_to_change = ("team",)

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            return without_grants(fieldsets)
        return fieldsets

    def get_form(
        self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        fields = form.base_fields
        if "data_owners" in fields:
            fields["data_owners"] = grants_field(request)
        team = fields.get("team")
        team_id = getattr(obj, "team_id", None)
        if (
            isinstance(team, forms.ModelChoiceField)
            and team.queryset is not None
            and team_id is not None
        ):
            # The user's own team stays a choice, so that saving never drops it unasked.
            team.queryset = team.queryset | Team.objects.filter(pk=team_id)
        if not staff_user(request).is_superuser:
            form.superuser_locked = True  # type: ignore[attr-defined]
            superuser = fields.get("is_superuser")
            if superuser is not None:
                superuser.widget.attrs["disabled"] = True
        return form

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
            # The product's permissions; the scope leaves those the staff user may give.
            kwargs["queryset"] = product_permissions()
            kwargs["form_class"] = ProductPermissionField
            kwargs["help_text"] = _(
                "Kundeflyt's permissions for this user. Roles with more permissions are "
                "given through groups."
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Permissions and roles the form does not offer stay as they were (OwnerScopedAdmin).
        super().save_related(request, form, formsets, change)
        grants_save(request, form)


# --- Teams ------------------------------------------------------------------------------------


class TeamForm(GrantsForm):
    grant_relation = "teams"

    class Meta:
        model = Team
        fields = ("name",)


@admin.register(Team)
class TeamAdmin(OwnerScopedAdmin):
    form = TeamForm
    list_display = ("name", "member_count")
    search_fields = ("name",)
    fields = ("name", "data_owners", "member_list")
    readonly_fields = ("member_list",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        members = None
        if not staff_user(request).is_superuser:
            # Count and name only the members the user may see.
            members = Q(members__in=scoped(request, User.objects.all()))
        return super().get_queryset(request).annotate(member_count=Count("members", filter=members))

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fields = super().get_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            return [f for f in fields if f != "data_owners"]
        return fields

    def get_form(
        self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if "data_owners" in form.base_fields:
            form.base_fields["data_owners"] = grants_field(request)
        return form

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        team = super().get_object(request, object_id, from_field)
        # The page names only the members the user may see.
        team.visible_members = scoped(request, team.members.all())
        return team

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        grants_save(request, form)

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, team: Team) -> int:
        return getattr(team, "member_count", 0)

    @admin.display(description=_("members"))
    def member_list(self, team: Team) -> SafeString | str:
        if team.pk is None:
            return "—"
        members = getattr(team, "visible_members", team.members.none())
        members = members.order_by("first_name", "last_name", "username")
        if not members:
            return "—"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:accounts_user_change", args=[m.pk]), str(m)) for m in members),
        )


# --- Roles --------------------------------------------------------------------------------------


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(OwnerScopedAdmin, BaseGroupAdmin):
    """Roles are shared by data owners: a staff user sees those that give nothing they lack
    and are unused or held by a user they see; they change a role only when every holder is a
    user they may change, and give it only the permissions they hold."""


# --- Login lockouts and two-factor devices ------------------------------------------------------
#
# django-axes and django-otp register their own admins, after ours (they come later in
# INSTALLED_APPS). Importing their admin modules here registers them now, and they are replaced
# by scoped ones: an administrator unlocks, and resets the two-factor login of, only users they
# may change (a device's secret would open someone else's account).


def _replace(model: type[Model], scoped_admin: type[admin.ModelAdmin[Any]]) -> None:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
        admin.site.register(model, scoped_admin)


if apps.is_installed("axes"):
    from axes import admin as axes_admin
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    class AccessAttemptAdmin(OwnerScopedAdmin, axes_admin.AccessAttemptAdmin):
        def get_actions(self, request: HttpRequest) -> Any:
            actions = super().get_actions(request)
            if not staff_user(request).is_superuser:
                # It cleans up every user's expired attempts, whatever is selected.
                actions.pop("cleanup_expired_attempts", None)
            return actions

    class AccessLogAdmin(OwnerScopedAdmin, axes_admin.AccessLogAdmin):
        pass

    class AccessFailureLogAdmin(OwnerScopedAdmin, axes_admin.AccessFailureLogAdmin):
        pass

    _replace(AccessAttempt, AccessAttemptAdmin)
    _replace(AccessLog, AccessLogAdmin)
    _replace(AccessFailureLog, AccessFailureLogAdmin)


if apps.is_installed("django_otp.plugins.otp_totp"):
    from django_otp.plugins.otp_totp import admin as totp_admin
    from django_otp.plugins.otp_totp.models import TOTPDevice

    class TOTPDeviceAdmin(OwnerScopedAdmin, totp_admin.TOTPDeviceAdmin):
        choices_to_change = ("user",)

        def config_view(self, request: HttpRequest, pk: int) -> Any:
            self.get_object(request, str(pk))  # another's device does not exist
            return super().config_view(request, pk)

        def qrcode_view(self, request: HttpRequest, pk: int) -> Any:
            self.get_object(request, str(pk))
            return super().qrcode_view(request, pk)

    _replace(TOTPDevice, TOTPDeviceAdmin)


if apps.is_installed("django_otp.plugins.otp_static"):
    from django_otp.plugins.otp_static import admin as static_admin
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    class StaticTokenInline(OwnerScopedInline):
        model = StaticToken
        extra = 0

    class StaticDeviceAdmin(OwnerScopedAdmin, static_admin.StaticDeviceAdmin):
        choices_to_change = ("user",)
        inlines = [StaticTokenInline]

    _replace(StaticDevice, StaticDeviceAdmin)


# --- Background task results ------------------------------------------------------------------
#
# django-tasks-db registers an admin for its task results. They carry the arguments of imports
# and exports of every data owner and are followed on the product's own pages: no admin.
if apps.is_installed("django_tasks_db"):
    from django_tasks_db import admin as tasks_admin  # noqa: F401  (registers it now)
    from django_tasks_db.models import DBTaskResult

    if admin.site.is_registered(DBTaskResult):
        admin.site.unregister(DBTaskResult)
