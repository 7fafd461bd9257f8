from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


class CommonConfig(AppConfig):
    name = "kundeflyt.common"
    verbose_name = _("Common")

    def ready(self) -> None:
        from kundeflyt.common.configuration import connect_signals
        from kundeflyt.common.timestamps import use_fast_timestamps

        connect_signals()

        connection_created.connect(use_fast_timestamps, dispatch_uid="fast-timestamps")
