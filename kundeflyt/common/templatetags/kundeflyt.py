from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()


@register.filter
def get(mapping: Any, key: str) -> Any:
    """``form|get:"extra_x"``: a value by a computed key, empty when missing."""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


AUDIT_ACTIONS = {
    "customer.create": _("Customer created"),
    "customer.update": _("Fields changed"),
    "placement.create": _("Placed in campaign"),
    "customer.select": _("Taken"),
    "customer.present": _("Presented"),
    "customer.release": _("Released"),
    "customer.move": _("Moved"),
    "followup.change": _("Follow-up time changed"),
    "followup.reassign": _("Follow-up given to another user"),
    "followup.clear": _("Follow-up removed"),
    "placement.repair": _("Brought back within reach"),
    "correction.send": _("Sent for correction"),
    "correction.start": _("Correction started"),
    "correction.cancel": _("Correction withdrawn"),
    "event.report_facts": _("Report appearance changed"),
    "blocklist.add": _("Number blocked"),
    "blocklist.remove": _("Number unblocked"),
    "customer.object": _("Asked not to be called again"),
    "customer.anonymise": _("Erased (anonymised)"),
    "customer.import_update": _("Fields changed by an import"),
}


@register.filter
def audit_action(code: str) -> str:
    """The audit trail's action code in words."""
    return str(AUDIT_ACTIONS.get(code, code))


@register.filter
def phone(e164: str) -> str:
    """A stored E.164 number as people read it: national format for Norwegian numbers."""
    from kundeflyt.common.phones import display_phone

    return display_phone(e164) if isinstance(e164, str) and e164.startswith("+") else e164


@register.filter
def talk_time(seconds: int | None) -> str:
    """A call's length as minutes and seconds (h:mm:ss past an hour)."""
    if seconds is None:
        return ""
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes}:{rest:02d}"
