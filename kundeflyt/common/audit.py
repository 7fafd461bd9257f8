"""Write the audit row that accompanies every change, in the caller's transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from kundeflyt.common.actors import Process, actor_fields
from kundeflyt.common.models import AuditEntry

if TYPE_CHECKING:
    import datetime as dt

    from kundeflyt.accounts.models import User


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))


def audit(
    actor: User | Process,
    action: str,
    obj: models.Model,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    customer_id: int | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        **actor_fields(actor),
        at=at or timezone.now(),
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        customer_id=customer_id,
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
    )
