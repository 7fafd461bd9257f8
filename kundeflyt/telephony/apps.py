from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelephonyConfig(AppConfig):
    name = "kundeflyt.telephony"
    label = "telephony"
    verbose_name = _("Calls and SMS")

    def ready(self) -> None:
        from kundeflyt.telephony import calls  # noqa: F401 (links calls to registrations)
