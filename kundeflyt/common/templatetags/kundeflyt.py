from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get(mapping: Any, key: str) -> Any:
    """``form|get:"extra_x"``: a value by a computed key, empty when missing."""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""
