"""Logging in is for people (``PeopleBackend``: integration users never log in to the
pages). The product's permissions open Django's admin: *administrator* to everything of
Kundeflyt, including login lockouts (to unlock a user), two-factor devices (to reset a lost
phone), API tokens (to revoke one) and SMS providers; *campaign setup* to data owners, CRMs,
flows and campaigns (with their SMS templates). Users still need staff status."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend, ModelBackend

from kundeflyt.common.configuration import cached, config_version, version_subquery

GRANTS = {
    "administrator": {
        *("accounts", "auth", "crm", "flows", "campaigns", "handling", "common"),
        *("axes", "otp_totp", "otp_static", "api", "telephony"),
    },
    "campaign_setup": {"crm", "flows", "campaigns"},
}


class PeopleBackend(ModelBackend):
    """Django's username and password login, for people only: an integration user never
    logs in to the pages (its requests come with API tokens).

    Each request's user comes with the configuration version, and the user's permissions are
    read once per process and version (``kundeflyt.common.configuration``), not twice per
    request."""

    def user_can_authenticate(self, user: Any) -> bool:
        return not getattr(user, "is_integration", False) and super().user_can_authenticate(user)

    def get_user(self, user_id: Any) -> Any:
        from kundeflyt.accounts.models import User

        user = (
            User._default_manager.annotate(config_version=version_subquery())
            .filter(pk=user_id)
            .first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = cached(
                ("permissions", user_obj.pk),
                config_version(user_obj),
                lambda: frozenset(super(PeopleBackend, self).get_all_permissions(user_obj)),
            )
        return user_obj._perm_cache


_model_backend = PeopleBackend()


class ProductPermissionBackend(BaseBackend):
    def _apps(self, user: Any) -> set[str]:
        if not user.is_active or user.is_anonymous:
            return set()
        cache = "_kundeflyt_admin_apps"
        if not hasattr(user, cache):
            apps: set[str] = set()
            for perm, granted in GRANTS.items():
                if _model_backend.has_perm(user, f"accounts.{perm}"):
                    apps |= granted
            setattr(user, cache, apps)
        return getattr(user, cache)

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return perm.split(".", 1)[0] in self._apps(user_obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return app_label in self._apps(user_obj)
