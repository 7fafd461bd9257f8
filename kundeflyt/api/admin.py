"""Administrators list anyone's API tokens (of the users they administer) and revoke them.
Tokens are made on the account page only: their text is shown to the user who makes one."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kundeflyt.accounts.admin_scope import OwnerScopedAdmin, staff_user
from kundeflyt.api import services
from kundeflyt.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(OwnerScopedAdmin):
    list_display = (
        "name",
        "user",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = (*list_display, "revoked_by")
    fields = readonly_fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a revoked token stays on record

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # read only; the action revokes

    @admin.action(description=_("Revoke the chosen tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        actor = staff_user(request)
        for token in queryset.filter(revoked_at__isnull=True):
            services.token_revoke(actor, token_id=token.pk)
        messages.success(request, _("The chosen tokens are revoked."))
