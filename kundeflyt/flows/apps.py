from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FlowsConfig(AppConfig):
    name = "kundeflyt.flows"
    verbose_name = _("Customer flows")
