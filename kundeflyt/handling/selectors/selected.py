"""Who has which customer open right now."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from kundeflyt.accounts.models import User
from kundeflyt.accounts.visibility import campaigns_visible_to
from kundeflyt.handling.models import Placement


def selected_customers(user: User) -> QuerySet[Placement]:
    """Who holds which customer right now, in the campaigns the user may see."""
    return (
        Placement.objects.filter(
            holder__isnull=False,
            lease_expires_at__gt=timezone.now(),
            campaign__in=campaigns_visible_to(user),
        )
        .select_related("customer", "campaign", "segment", "state", "holder")
        .order_by("selected_at")
    )
