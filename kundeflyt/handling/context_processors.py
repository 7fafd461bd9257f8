from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def current_customer(request: HttpRequest) -> dict[str, Any]:
    """Whether the user has a current customer (for the menu), read only if a page asks."""

    def lookup() -> int | None:
        from kundeflyt.handling.selectors import current_selection

        if hasattr(request, "current_placement"):
            known = request.current_placement
            return known.pk if known else None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        placement = current_selection(user)
        return placement.pk if placement else None

    return {"current_customer_id": SimpleLazyObject(lookup)}
