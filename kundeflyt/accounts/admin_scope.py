"""The admin obeys rule 9 as the screens do: a staff user sees, finds, offers and changes only
what `kundeflyt.accounts.visibility.administered` grants them (only a superuser sees everything).

Every model admin derives from `OwnerScopedAdmin` and every inline from `OwnerScopedInline`
(tests/test_admin_scope.py checks both). They scope, as NetBox's ``.restrict(user, action)``
does, every place the admin reads rows:

- the list, its search, its actions and the autocomplete views (``get_queryset``);
- the change, delete, history and password pages: a row outside the scope answers 404, as if
  it did not exist (``get_object``); a row the user may see but not change is read only;
- every choice of a related row, in forms and inlines (``formfield_for_foreignkey`` and
  ``formfield_for_manytomany``), so a posted id outside the scope is refused as an invalid
  choice, with a form error and no change;
- every list filter by a related row (``get_list_filter``).

Related rows that the form cannot offer (they are outside the scope) stay linked when the form
is saved: a staff user never removes what they cannot see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest

from kundeflyt.accounts.models import User
from kundeflyt.accounts.visibility import CHANGE, VIEW, administered

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as StrPromise

    _AdminBase = admin.options.BaseModelAdmin[Any]
else:
    _AdminBase = object

M = TypeVar("M", bound=Model)


def staff_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User), "the admin serves logged-in users only"
    return user


def scoped(request: HttpRequest, rows: QuerySet[M], action: str = VIEW) -> QuerySet[M]:
    """The rows the request's user may see (``VIEW``) or change (``CHANGE``) in the admin."""
    return administered(staff_user(request), rows, action)


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A list filter by a related row offers only the rows the user may see."""

    def field_choices(
        self, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str | StrPromise]]:
        ordering = self.field_admin_ordering(field, request, model_admin)
        related: type[Model] = field.related_model
        allowed = scoped(request, related._default_manager.all())
        choices = field.get_choices(
            include_blank=False, ordering=ordering, limit_choices_to=Q(pk__in=allowed.values("pk"))
        )
        return cast(list[tuple[str, "str | StrPromise"]], list(choices))


class ScopedChoices(_AdminBase):
    """What model admins and inlines share: scoped rows and scoped choices."""

    # Fields whose choices must be rows the user may change, not only see: choosing one gives
    # the edited row what the chosen one grants (a user's team) or changes it (an outcome's flow).
    choices_to_change: tuple[str, ...] = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return scoped(request, super().get_queryset(request))

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return self.scope_choices(request, db_field.name, field)

    def formfield_for_manytomany(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelMultipleChoiceField | None:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        return self.scope_choices(request, db_field.name, field)

    def scope_choices(self, request: HttpRequest, name: str, field: Any) -> Any:
        if isinstance(field, forms.ModelChoiceField) and field.queryset is not None:
            action = CHANGE if name in self.choices_to_change else VIEW
            field.queryset = scoped(request, field.queryset, action)
        return field


class OwnerScopedAdmin(ScopedChoices, admin.ModelAdmin):
    """A model admin limited to the data owners the staff user administers."""

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        """Outside the scope, or not there at all: the same 404, so a URL reveals nothing."""
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj

    def may(self, request: HttpRequest, action: str, obj: Model) -> bool:
        """Whether the user may see (``VIEW``) or change and delete (``CHANGE``) this row.
        Asked once a request for each row."""
        if staff_user(request).is_superuser:
            return True
        answers: dict[tuple[str, str, Any], bool] = request.__dict__.setdefault(
            "_kundeflyt_admin_scope", {}
        )
        key = (action, obj._meta.label_lower, obj.pk)
        if key not in answers:
            rows = type(obj)._default_manager.filter(pk=obj.pk)
            answers[key] = scoped(request, rows, action).exists()
        return answers[key]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Rows come through get_queryset; this guards views that fetch a row themselves.
        allowed = super().has_view_permission(request, obj)
        return allowed and (obj is None or self.may(request, VIEW, obj))

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self.may(request, CHANGE, obj))

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or self.may(request, CHANGE, obj))

    def get_list_filter(self, request: HttpRequest) -> Any:
        """Filters by a related row list only the rows the user may see."""
        filters: list[Any] = []
        for entry in super().get_list_filter(request):
            if isinstance(entry, str) and self._is_relation(entry):
                entry = (entry, ScopedRelatedFieldListFilter)
            filters.append(entry)
        return filters

    def _is_relation(self, path: str) -> bool:
        try:
            return bool(get_fields_from_path(self.model, path)[-1].is_relation)
        except FieldDoesNotExist:
            return False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        hidden = self._unoffered_links(form) if change else {}
        super().save_related(request, form, formsets, change)
        for name, rows in hidden.items():
            getattr(form.instance, name).add(*rows)

    def _unoffered_links(self, form: Any) -> dict[str, list[Model]]:
        """Rows a many-to-many field links but could not offer: the form would drop them."""
        hidden: dict[str, list[Model]] = {}
        for name, field in form.fields.items():
            if not isinstance(field, forms.ModelMultipleChoiceField) or field.queryset is None:
                continue
            try:
                model_field = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if not model_field.many_to_many or model_field.auto_created:
                continue
            linked = getattr(form.instance, name).exclude(pk__in=field.queryset.values("pk"))
            rows = list(linked)
            if rows:
                hidden[name] = rows
        return hidden


class OwnerScopedInline(ScopedChoices, admin.TabularInline):
    """An inline limited the same way; its parent row is already in the scope."""
