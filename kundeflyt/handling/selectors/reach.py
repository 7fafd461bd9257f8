"""Rule 10, no customer is lost: which placements no one will ever be presented, and which are
reachable only in name."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet

from kundeflyt.flows.models import StateKind
from kundeflyt.handling.models import CorrectionRequest, Placement

# Placements the rule is about: still to be worked, and allowed to be.
WORKABLE = Q(is_final=False, customer__is_blocked=False, customer__anonymised_at__isnull=True)

# Lost: in a state worked only through a follow-up, without one and not waiting for a
# correction; or pointing at a correction nobody will register (it was withdrawn or done).
LOST = WORKABLE & (
    Q(
        follow_up_at__isnull=True,
        correction__isnull=True,
        state__kind__in=[StateKind.FOLLOW_UP, StateKind.IN_PROGRESS],
    )
    | (Q(correction__isnull=False) & ~Q(correction__status=CorrectionRequest.Status.OPEN))
)

# Reachable only in name: a personal follow-up of an archived user (presented to no one
# else), a correction only an archived user may register, or an available customer whose
# campaign's attempts are used up.
ARCHIVED_RESPONSIBLE = WORKABLE & Q(follow_up_user__isnull=False, follow_up_user__is_active=False)
ARCHIVED_CORRECTOR = WORKABLE & Q(
    correction__status=CorrectionRequest.Status.OPEN, correction__to_user__is_active=False
)
ATTEMPTS_USED = WORKABLE & Q(
    follow_up_at__isnull=True,
    correction__isnull=True,
    state__kind=StateKind.AVAILABLE,
    campaign__max_attempts__isnull=False,
    attempts__gte=F("campaign__max_attempts"),
)

REACH = {
    "lost": LOST,
    "archived_responsible": ARCHIVED_RESPONSIBLE,
    "archived_corrector": ARCHIVED_CORRECTOR,
    "attempts_used": ATTEMPTS_USED,
}


def placements_out_of_reach(
    kind: str, placements: QuerySet[Placement] | None = None
) -> QuerySet[Placement]:
    """Placements of ``kind`` (a key of ``REACH``), among ``placements`` (all by default)."""
    base = Placement.objects.all() if placements is None else placements
    return base.filter(REACH[kind])
