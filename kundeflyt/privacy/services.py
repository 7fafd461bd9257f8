"""The data subject's rights as operations: access is recorded, objection blocks the person's
numbers for the data owner, erasure anonymises the person and keeps the statistics.

Erasure is the one sanctioned edit of events (DESIGN.md, "Block list"): comments and free-text
extra values of the person's registrations are cleared in place, and the edit is audited."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, has_perm, require
from kundeflyt.accounts.visibility import check_may_see_customer, data_owners_visible_to
from kundeflyt.campaigns.models import ExtraField
from kundeflyt.common.actors import Process, actor_fields
from kundeflyt.common.audit import audit
from kundeflyt.common.bounds import bounded_text
from kundeflyt.common.errors import Conflict, DomainError, NotFound
from kundeflyt.common.fields import FieldType
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import BlockedNumber, Customer, customers_with_phone
from kundeflyt.exports.models import Export
from kundeflyt.exports.services import export_files_purge
from kundeflyt.handling.models import CorrectionRequest, Event, Meeting, Placement, ProductLine
from kundeflyt.handling.services.placements import NO_HOLDER, locked_placement, placement_update
from kundeflyt.imports.models import ImportBatch, ImportFileChunk
from kundeflyt.privacy.erased import erased_keys
from kundeflyt.privacy.models import AccessLogEntry, ErasedKey, PrivacyRequest, Right
from kundeflyt.telephony.models import Call, Sms
from kundeflyt.webhooks.models import Delivery, EventType
from kundeflyt.webhooks.services import webhook_emit

if TYPE_CHECKING:
    from kundeflyt.crm.models import DataOwner

Actor = User | Process

ERASED = "[erased]"
# Extra values that only count or classify, and so stay after erasure; every other type
# (text, e-mail, phone, link, digits, organisation number) may hold something personal.
STATISTICAL_TYPES = frozenset(
    {FieldType.NUMBER, FieldType.DATE, FieldType.CHECKBOX, FieldType.CHOICE, FieldType.MULTICHOICE}
)
# Keys of audit before/after rows that hold what the person is: their values are cleared.
PERSONAL_KEYS = frozenset(
    {"customer_id", "name", "phone1", "phone2", "phone3", "email", "fields", "comment", "extra"}
)
REASON_LENGTH = 500


def privacy_customer(actor: Actor, customer_id: int) -> Customer:
    """A customer a privacy officer may act on: any customer of a data owner granted to them,
    whatever the campaigns' visibility. Others are refused as if it did not exist."""
    require(actor, Perm.PRIVACY_OFFICER)
    customer = (
        Customer.objects.select_related("crm__data_owner")
        .filter(pk=customer_id, crm__data_owner__in=data_owners_visible_to(actor))
        .first()
    )
    if customer is None:
        raise NotFound(_("No such customer."), field="customer")
    return customer


def _locked(customer_id: int, actor: Actor) -> tuple[Placement | None, Customer]:
    """The placement (if any) and the customer, locked in that order, as every writer of
    placements locks them: a registration that waits finds the selection gone (fencing), one
    that got in first is covered by what follows."""
    try:
        placement: Placement | None = locked_placement(customer_id, actor)
    except NotFound:
        placement = None
    customer = Customer.objects.select_for_update().select_related("crm__data_owner")
    return placement, customer.get(pk=customer_id)


def _reason(value: Any, *, required: bool) -> str:
    text = bounded_text(value, field="reason", max_length=REASON_LENGTH)
    if required and not text:
        raise DomainError(_("Say why, in a few words."), field="reason")
    return text


def _log(
    actor: Actor, owner: DataOwner, customer: Customer | None, right: Right, reason: str, done: str
) -> PrivacyRequest:
    return PrivacyRequest.objects.create(
        **actor_fields(actor),
        data_owner=owner,
        customer=customer,
        right=right,
        reason=reason,
        done=done,
    )


@transaction.atomic(durable=True)
def access_request_record(actor: Actor, *, customer_id: int, reason: str = "") -> PrivacyRequest:
    """Record that everything held about the person was handed out (GDPR Art. 15)."""
    customer = privacy_customer(actor, customer_id)
    return _log(
        actor,
        customer.crm.data_owner,
        customer,
        Right.ACCESS,
        _reason(reason, required=False),
        _("Everything held about the person was exported."),
    )


@transaction.atomic(durable=True)
def customer_object(actor: Actor, *, customer_id: int, reason: str) -> PrivacyRequest:
    """ "Don't call me again" (GDPR Art. 21): the person's numbers go on the data owner's block
    list, so that no campaign of that data owner places or presents anyone with them again.
    An agent records it for the customer they see; a privacy officer for any customer of a
    data owner granted to them."""
    if isinstance(actor, User) and has_perm(actor, Perm.PRIVACY_OFFICER):
        privacy_customer(actor, customer_id)
    else:
        require(actor, Perm.CUSTOMER_HANDLING)
        check_may_see_customer(actor, customer_id)
    why = _reason(reason, required=True)
    placement, customer = _locked(customer_id, actor)
    if customer.anonymised_at is not None:
        raise Conflict(_("The customer has been anonymised."), field="customer")
    if not customer.phones:
        raise DomainError(
            _("The customer has no phone number to block. Erase the customer instead."),
            field="customer",
        )
    owner = customer.crm.data_owner
    now = timezone.now()
    for phone in customer.phones:
        entry, created = BlockedNumber.objects.get_or_create(
            phone=phone, data_owner=owner, defaults={"reason": why[:200], **actor_fields(actor)}
        )
        if created:
            audit(actor, "blocklist.add", entry, after={"phone": phone, "data_owner": owner.pk})
    same_numbers = Q()
    for phone in customer.phones:
        same_numbers |= customers_with_phone(phone)
    blocked = list(
        Customer.objects.filter(same_numbers, crm__data_owner=owner, is_blocked=False).values_list(
            "pk", "customer_id", "crm_id"
        )
    )
    Customer.objects.filter(pk__in=[pk for pk, _id, _crm in blocked]).update(
        is_blocked=True, updated_at=now
    )
    Customer.objects.filter(pk=customer.pk).update(objected_at=now, is_blocked=True)
    if placement is not None:
        # Nobody will call the person again: no follow-up waits for them, nobody holds them.
        placement_update(
            actor,
            placement,
            "customer.object",
            {**NO_HOLDER, "follow_up_at": None, "follow_up_user": None},
            details={"reason": why},
        )
    else:
        audit(actor, "customer.object", customer, after={"reason": why}, customer_id=customer.pk)
    for pk, key, crm_id in blocked:
        webhook_emit(crm_id, (EventType.CUSTOMER_BLOCKED, {"customer": pk, "customer_id": key}))
    done = _("The person's numbers were put on the block list of %(owner)s.") % {"owner": owner}
    return _log(actor, owner, customer, Right.OBJECTION, why, done)


@transaction.atomic(durable=True)
def customer_anonymise(
    actor: Actor, *, customer_id: int, reason: str, right: Right = Right.ERASURE
) -> PrivacyRequest:
    """Erase the person by anonymisation (GDPR Art. 17), keeping the statistics: the events
    stay, so every report counts the same after. Cleared: the personal fields; comments and
    free-text extra values of the person's registrations and product lines; meeting places
    and names; personal values in the audit rows about them; their id in logged webhook
    payloads; the stored files of the imports that brought them and of the exports that may
    hold them; the access log's rows about them. The customer id and phones stay only as keyed
    hashes, so that a re-import does not bring the person back."""
    customer = privacy_customer(actor, customer_id)
    why = _reason(reason, required=right != Right.RETENTION)
    placement, customer = _locked(customer_id, actor)
    if customer.anonymised_at is not None:
        raise Conflict(_("The customer has already been anonymised."), field="customer")
    now = timezone.now()
    owner = customer.crm.data_owner
    original_id = customer.customer_id
    ErasedKey.objects.bulk_create(
        erased_keys(customer.crm_id, customer_id=original_id, phones=customer.phones, at=now),
        ignore_conflicts=True,
    )
    cleared = {
        "registrations": _events_clear(customer),
        "audit_rows": _audit_clear(customer.pk),
        "webhook_messages": _payloads_clear(customer.pk),
        # Who looked at a person is about the person too: it goes with them.
        "access_log_rows": AccessLogEntry.objects.filter(customer=customer.pk).delete()[0],
        "import_files": _import_files_delete(customer),
        "calls_and_sms": _contacts_clear(customer.pk),
        "export_files": _export_files_expire(owner, now),
    }
    Customer.objects.filter(pk=customer.pk).update(
        customer_id=f"erased-{customer.pk}",
        name="",
        phone1="",
        phone2="",
        phone3="",
        email="",
        fields={},
        anonymised_at=now,
        updated_at=now,
    )
    if placement is not None:
        CorrectionRequest.objects.filter(
            event__customer=customer_id, status=CorrectionRequest.Status.OPEN
        ).update(status=CorrectionRequest.Status.CANCELLED)
        placement_update(
            actor,
            placement,
            "customer.anonymise",
            {**NO_HOLDER, "follow_up_at": None, "follow_up_user": None, "correction": None},
        )
    audit(actor, "customer.anonymise", customer, after=cleared, customer_id=customer.pk, at=now)
    webhook_emit(
        customer.crm_id,
        (EventType.CUSTOMER_ANONYMISED, {"customer": customer.pk, "customer_id": original_id}),
    )
    done = (
        _(
            "Anonymised. Cleared in registrations: %(registrations)s; in recorded changes: "
            "%(audit_rows)s. Deleted import files: %(import_files)s; export files: "
            "%(export_files)s."
        )
        % cleared
    )
    return _log(actor, owner, customer, right, why, done)


def _extra_clear(values: dict[str, Any], statistical: set[str]) -> dict[str, Any]:
    return {k: (v if k in statistical else "") for k, v in values.items()}


def _events_clear(customer: Customer) -> int:
    """Comments and free-text extra values of the person's registrations and product lines;
    the places and names of their meetings. Returns the registrations changed."""
    campaigns = Event.objects.filter(customer=customer).values("campaign")
    statistical: dict[int, set[str]] = {}
    for campaign_id, key, type_ in ExtraField.objects.filter(campaign__in=campaigns).values_list(
        "campaign_id", "key", "type"
    ):
        if type_ in STATISTICAL_TYPES:
            statistical.setdefault(campaign_id, set()).add(key)
    events = [
        e
        for e in Event.objects.filter(customer=customer).only(
            "pk", "campaign", "comment", "extra_values"
        )
        if e.comment or any(k not in statistical.get(e.campaign_id, set()) for k in e.extra_values)
    ]
    for event in events:
        event.comment = ""
        event.extra_values = _extra_clear(
            event.extra_values, statistical.get(event.campaign_id, set())
        )
    Event.objects.bulk_update(events, ["comment", "extra_values"], batch_size=500)
    lines = list(ProductLine.objects.filter(customer=customer).exclude(extra_values={}))
    for line in lines:
        line.extra_values = _extra_clear(
            line.extra_values, statistical.get(line.campaign_id, set())
        )
    ProductLine.objects.bulk_update(lines, ["extra_values"], batch_size=500)
    Meeting.objects.filter(customer=customer).update(place="", with_whom="")
    return len(events)


def _redact(values: Any) -> Any:
    if not isinstance(values, dict):
        return values
    return {
        k: (ERASED if k in PERSONAL_KEYS and v not in (None, "") else v) for k, v in values.items()
    }


def _audit_clear(customer_id: int) -> int:
    rows = list(AuditEntry.objects.filter(customer_id=customer_id).only("pk", "before", "after"))
    changed = []
    for row in rows:
        before, after = _redact(row.before), _redact(row.after)
        if (before, after) != (row.before, row.after):
            row.before, row.after = before, after
            changed.append(row)
    AuditEntry.objects.bulk_update(changed, ["before", "after"], batch_size=500)
    return len(changed)


def _contacts_clear(customer_id: int) -> int:
    """The person's numbers and words in their SMS, and their number and recordings in
    their calls (the rows stay, so that the calls report counts the same). Recordings kept
    at the provider are not deleted there: the privacy officer does that at the provider."""
    texts = Sms.objects.filter(customer_id=customer_id).update(to="", sender="", text="")
    calls = Call.objects.filter(customer_id=customer_id).update(
        customer_phone="", caller="", recording_url=""
    )
    return texts + calls


def _payloads_clear(customer_id: int) -> int:
    deliveries = list(Delivery.objects.filter(payload__data__customer=customer_id))
    for delivery in deliveries:
        delivery.payload = {**delivery.payload, "data": _redact(delivery.payload.get("data"))}
    Delivery.objects.bulk_update(deliveries, ["payload"], batch_size=500)
    return len(deliveries)


def _import_files_delete(customer: Customer) -> int:
    """The stored files of the imports that created or updated the person (the file is kept
    to hand back rejected rows; the import's counts and log stay)."""
    batches = set(
        AuditEntry.objects.filter(
            customer_id=customer.pk, object_type=ImportBatch._meta.label_lower
        ).values_list("object_id", flat=True)
    )
    if customer.import_batch_id:
        batches.add(str(customer.import_batch_id))
    ids = [int(b) for b in batches if b.isdigit()]
    deleted, _per_model = ImportFileChunk.objects.filter(batch__in=ids).delete()
    return len(ids) if deleted else 0


def _export_files_expire(owner: DataOwner, now: dt.datetime) -> int:
    """Ready export files that users with access to the data owner made before now may hold
    the person: they expire now, and are deleted once the erasure commits (no file is touched
    under the locks). The record of each export stays; its maker exports again."""
    with_access = Q(user__is_superuser=True) | Q(user__in=owner.users.all())
    with_access |= Q(user__team__in=owner.teams.all())
    expiring = Export.objects.filter(with_access, status=Export.Status.DONE, created_at__lte=now)
    count = expiring.update(expires_at=now)
    if count:
        transaction.on_commit(lambda: export_files_purge(now))
    return count
