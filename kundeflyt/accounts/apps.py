from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "kundeflyt.accounts"
    verbose_name = _("Users and teams")

    def ready(self) -> None:
        from kundeflyt.accounts import signals  # noqa: F401  (connects the receivers)
        from kundeflyt.accounts.two_factor import required_permissions

        # A misspelt permission in OTP_REQUIRED_FOR would leave its holders without two-factor
        # login: refuse to start instead.
        required_permissions()
