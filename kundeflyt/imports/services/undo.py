"""Undoing an import, while none of its customers has a registration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kundeflyt.accounts.models import User
from kundeflyt.common.actors import Process
from kundeflyt.common.audit import audit
from kundeflyt.common.errors import Conflict
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import Customer
from kundeflyt.crm.services import customer_numbers_screen
from kundeflyt.handling.models import Event, Placement
from kundeflyt.imports.cells import CONSENT, PHONES
from kundeflyt.imports.models import ImportBatch
from kundeflyt.imports.services.common import Actor, check_may_import
from kundeflyt.telephony.models import Call, Sms

PIECE = 1000
UNDOABLE = (ImportBatch.Status.DONE, ImportBatch.Status.CANCELLED, ImportBatch.Status.FAILED)


def _entries(batch: ImportBatch, action: str) -> Any:
    return AuditEntry.objects.filter(
        action=action, object_type=ImportBatch._meta.label_lower, object_id=str(batch.pk)
    ).order_by("pk")


def created_by(batch: ImportBatch) -> Iterator[list[int]]:
    """The primary keys of the customers the import created, a piece at a time (the audit
    row of each piece lists them)."""
    for after in _entries(batch, "customer.import").values_list("after", flat=True).iterator():
        pks = [pk for pk in (after or {}).get("created", []) if isinstance(pk, int)]
        for start in range(0, len(pks), PIECE):
            yield pks[start : start + PIECE]


def import_undo(actor: Actor, *, batch: ImportBatch) -> ImportBatch:
    """Undo a finished (or cancelled) import while none of its customers has a registration:
    remove the customers it created, unless someone has one of them open (then nothing is
    undone), and put back the fields it updated where nobody changed them since. The batch
    keeps the record of what the import did and of the undo."""
    with transaction.atomic(durable=True):
        batch = ImportBatch.objects.select_for_update().select_related("crm").get(pk=batch.pk)
        check_may_import(actor, batch.crm)
        if batch.status == ImportBatch.Status.UNDONE:
            raise Conflict(_("This import has already been undone."), field="batch")
        if batch.status not in UNDOABLE:
            raise Conflict(
                _("The import has not finished. Cancel it first, then undo it."), field="batch"
            )
        now = timezone.now()
        removed: list[int] = []
        for pks in created_by(batch):
            _refuse_if_worked(pks, now)
            existing = list(Customer.objects.filter(pk__in=pks).values_list("pk", flat=True))
            Customer.objects.filter(pk__in=existing).delete()
            removed += existing
        restored = _restore(actor, batch, now)
        audit(
            actor,
            "import.undo",
            batch,
            after={"removed": removed, "restored": restored},
            at=now,
        )
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.UNDONE,
            undone_at=now,
            undone_by=actor if isinstance(actor, User) else None,
            undone_by_process=actor.name if isinstance(actor, Process) else "",
            removed_count=len(removed),
            restored_count=len(restored),
        )
    batch.refresh_from_db()
    return batch


def _refuse_if_worked(pks: list[int], now: Any) -> None:
    worked = Event.objects.filter(customer_id__in=pks).values("customer").distinct().count()
    if worked:
        raise Conflict(
            ngettext(
                "%(n)s of the imported customers has a registration: the import can no longer "
                "be undone.",
                "%(n)s of the imported customers have registrations: the import can no longer "
                "be undone.",
                worked,
            )
            % {"n": worked},
            field="batch",
        )
    contacted = len(
        set(Call.objects.filter(customer_id__in=pks).values_list("customer_id", flat=True))
        | set(Sms.objects.filter(customer_id__in=pks).values_list("customer_id", flat=True))
    )
    if contacted:
        raise Conflict(
            ngettext(
                "%(n)s of the imported customers has been called or texted: the import can no "
                "longer be undone.",
                "%(n)s of the imported customers have been called or texted: the import can no "
                "longer be undone.",
                contacted,
            )
            % {"n": contacted},
            field="batch",
        )
    held = (
        Placement.objects.filter(
            customer_id__in=pks, holder__isnull=False, lease_expires_at__gt=now
        )
        .select_related("holder", "customer")
        .order_by("pk")
        .first()
    )
    if held is not None:
        raise Conflict(
            _("%(user)s has %(customer)s open. Undo the import when it is released.")
            % {"user": held.holder, "customer": held.customer},
            field="batch",
        )


def _restore(actor: Actor, batch: ImportBatch, now: Any) -> list[int]:
    """Put back what the import changed in existing customers, field by field, where the
    value is still the one the import wrote; audited like every change of a customer."""
    restored: list[int] = []
    for entry in _entries(batch, "customer.import_update").iterator():
        if entry.customer_id is None:
            continue
        customer = Customer.objects.select_for_update().filter(pk=entry.customer_id).first()
        if customer is None:
            continue
        before_import, written = entry.before or {}, entry.after or {}
        undo_before: dict[str, Any] = {}
        undo_after: dict[str, Any] = {}
        for key, value in written.items():
            if key == "fields":
                continue
            current = getattr(customer, key)
            if isinstance(current, dt.date):  # the audit row holds dates as ISO text
                current = current.isoformat()
            if current == value:
                earlier = before_import.get(key)
                if key == "marketing_consent_on":
                    earlier = dt.date.fromisoformat(earlier) if earlier else None
                else:
                    earlier = earlier or ""
                undo_before[key], undo_after[key] = value, earlier
                setattr(customer, key, earlier)
        fields_written = written.get("fields") or {}
        if fields_written:
            merged = dict(customer.fields)
            old_fields, new_fields = {}, {}
            for key, value in fields_written.items():
                if merged.get(key) == value:
                    old_fields[key] = value
                    new_fields[key] = (before_import.get("fields") or {}).get(key)
                    merged[key] = new_fields[key]
            if new_fields or old_fields:
                customer.fields = merged
                undo_before["fields"], undo_after["fields"] = old_fields, new_fields
        if not undo_after:
            continue
        if set(undo_after) & set(PHONES):
            customer_numbers_screen(customer, batch.crm.data_owner_id)
        customer.updated_at = timezone.now()
        customer.save(
            update_fields=[
                "name",
                *PHONES,
                "email",
                *CONSENT,
                "fields",
                "is_blocked",
                "is_reserved",
                "updated_at",
            ]
        )
        audit(
            actor,
            "customer.import_undo",
            batch,
            before=undo_before,
            after=undo_after,
            customer_id=customer.pk,
            at=now,
        )
        restored.append(customer.pk)
    return restored
