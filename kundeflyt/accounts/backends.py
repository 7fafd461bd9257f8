"""Logging in is for people (``PeopleBackend``: integration users never log in to the
pages). The product's permissions open Django's admin: *administrator* to everything of
Kundeflyt, including login lockouts (to unlock a user), two-factor devices (to reset a lost
phone) and API tokens (to revoke one); *campaign setup* to data owners, CRMs, flows and
campaigns. Users still need staff status."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend, ModelBackend

GRANTS = {
    "administrator": {
        *("accounts", "auth", "crm", "flows", "campaigns", "handling", "common"),
        *("axes", "otp_totp", "otp_static", "api"),
    },
    "campaign_setup": {"crm", "flows", "campaigns"},
}

_model_backend = ModelBackend()


class PeopleBackend(ModelBackend):
    """Django's username and password login, for people only: an integration user never
    logs in to the pages (its requests come with API tokens)."""

    def user_can_authenticate(self, user: Any) -> bool:
        return not getattr(user, "is_integration", False) and super().user_can_authenticate(user)


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
