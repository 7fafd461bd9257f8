from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HandlingConfig(AppConfig):
    name = "kundeflyt.handling"
    verbose_name = _("Customer handling")
