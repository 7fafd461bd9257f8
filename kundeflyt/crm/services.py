"""Writes for customers and the block list. Every write is checked and audited here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.permissions import Perm, has_perm, require
from kundeflyt.accounts.visibility import check_may_see_customer, data_owners_visible_to
from kundeflyt.common.actors import Process
from kundeflyt.common.audit import audit
from kundeflyt.common.bounds import bounded_text
from kundeflyt.common.errors import Conflict, DomainError, NotAllowed, Stale
from kundeflyt.common.fields import FieldType, clean_field_value
from kundeflyt.common.phones import normalise_phone
from kundeflyt.crm.models import (
    CRM,
    BlockedNumber,
    Customer,
    FieldDefinition,
    customers_with_phone,
    has_blocked_number,
)
from kundeflyt.privacy.erased import erased_since
from kundeflyt.privacy.register import is_reserved
from kundeflyt.webhooks.models import EventType
from kundeflyt.webhooks.services import webhook_emit

if TYPE_CHECKING:
    from kundeflyt.accounts.models import User

PHONE_FIELDS = ("phone1", "phone2", "phone3")
STANDARD_FIELDS = ("customer_id", "name", *PHONE_FIELDS, "email")


def _check_crm_access(actor: User | Process, crm: CRM) -> None:
    if not data_owners_visible_to(actor).filter(pk=crm.data_owner_id).exists():
        raise NotAllowed(
            _("You do not have access to the data owner “%(owner)s”.") % {"owner": crm.data_owner},
            field="crm",
        )


# The longest value each standard field holds (the model's max_length).
STANDARD_LENGTHS = {"customer_id": 64, "name": 200, "email": 254}


def _clean_standard(key: str, value: Any) -> Any:
    if key in PHONE_FIELDS:
        raw = bounded_text(value, field=key, max_length=40)
        return normalise_phone(raw, field=key)
    text = bounded_text(value, field=key, max_length=STANDARD_LENGTHS[key])
    if key == "email":
        return clean_field_value(FieldType.EMAIL, text, field="email") or ""
    if key == "customer_id" and not text:
        raise DomainError(_("Customer id is required."), field="customer_id")
    return text


def _clean_own_fields(
    definitions: Sequence[FieldDefinition], values: Mapping[str, Any], *, partial: bool
) -> dict[str, Any]:
    """Check the CRM's own fields by type; unknown keys are refused."""
    by_key = {d.key: d for d in definitions}
    unknown = sorted(set(values) - set(by_key))
    if unknown:
        key = unknown[0][:60]
        raise DomainError(_("“%(key)s” is not a field of this CRM.") % {"key": key}, field=key)
    cleaned: dict[str, Any] = {}
    for definition in definitions:
        if partial and definition.key not in values:
            continue
        cleaned[definition.key] = clean_field_value(
            definition.type,
            values.get(definition.key),
            field=definition.key,
            label=definition.label,
            required=definition.required,
            choices=definition.choices,
        )
    return cleaned


def _check_unique(crm: CRM, data: Mapping[str, Any], *, exclude_pk: int | None) -> None:
    others = Customer.objects.filter(crm=crm)
    if exclude_pk:
        others = others.exclude(pk=exclude_pk)
    if "customer_id" in data and others.filter(customer_id=data["customer_id"]).exists():
        raise Conflict(
            _("Another customer in this CRM has the customer id “%(id)s”.")
            % {"id": data["customer_id"]},
            field="customer_id",
            code="duplicate",
        )
    for definition in crm.fields.filter(unique=True):
        value = data.get("fields", {}).get(definition.key)
        if (
            value not in (None, "", [])
            and others.filter(**{f"fields__{definition.key}": value}).exists()
        ):
            raise Conflict(
                _("Another customer has the same %(label)s (“%(value)s”).")
                % {"label": definition.label, "value": value},
                field=definition.key,
                code="duplicate",
            )


def customer_numbers_screen(customer: Customer, data_owner_id: int) -> None:
    """Set what a customer's numbers decide (rule 11), after they changed: blocked while one
    is on the block list for its data owner or the person objected, and reserved while one is
    in the Reservasjonsregisteret. Every writer of phones calls this; the caller saves."""
    customer.is_blocked = customer.objected_at is not None or has_blocked_number(
        data_owner_id, customer.phones
    )
    customer.is_reserved = is_reserved(customer.phones)


def customer_value_clean(key: str, value: Any, definition: FieldDefinition | None = None) -> Any:
    """One value of a customer, checked and normalised as the card and ``customer_create`` do:
    a standard field (customer id, name, a phone in E.164, e-mail) when ``definition`` is
    None, otherwise the CRM's own field by its type. Raises a ``DomainError`` naming the
    field. For writers that check many customers value by value (imports)."""
    if definition is None:
        return _clean_standard(key, value)
    return clean_field_value(
        definition.type,
        value,
        field=definition.key,
        label=definition.label,
        required=definition.required,
        choices=definition.choices,
    )


def customer_snapshot(customer: Customer) -> dict[str, Any]:
    return {key: getattr(customer, key) for key in STANDARD_FIELDS} | {"fields": customer.fields}


def customer_version(customer: Customer) -> str:
    """What the customer holds, as a digest: a writer that read this version may write only
    while it is still the customer's (optimistic concurrency). A digest of the values rather
    than a counter, so that every writer (card, import, API) makes it stale without being
    told to."""
    snapshot = json.dumps(customer_snapshot(customer), sort_keys=True, cls=DjangoJSONEncoder)
    return hashlib.sha256(snapshot.encode()).hexdigest()[:24]


@transaction.atomic
def customer_create(
    actor: User | Process,
    *,
    crm: CRM,
    customer_id: str,
    name: str = "",
    phone1: str = "",
    phone2: str = "",
    phone3: str = "",
    email: str = "",
    fields: Mapping[str, Any] | None = None,
    source: str = Customer.Source.MANUAL,
) -> Customer:
    """Create a customer in ``crm``: customer id unique in the CRM, phones in E.164, the CRM's
    own fields checked by type. ``handling.services.customer_add`` also places it in a
    campaign."""
    require(actor, Perm.CUSTOMER_HANDLING)
    _check_crm_access(actor, crm)
    raw = {
        "customer_id": customer_id,
        "name": name,
        "phone1": phone1,
        "phone2": phone2,
        "phone3": phone3,
        "email": email,
    }
    data: dict[str, Any] = {key: _clean_standard(key, value) for key, value in raw.items()}
    data["fields"] = _clean_own_fields(list(crm.fields.all()), fields or {}, partial=False)
    _check_unique(crm, data, exclude_pk=None)
    erased_at = erased_since(
        crm.pk, customer_id=data["customer_id"], phones=[data[k] for k in PHONE_FIELDS]
    )
    if erased_at is not None:
        raise Conflict(
            _(
                "A person with this customer id or phone number was erased at their own request "
                "on %(date)s, and is not registered again."
            )
            % {"date": timezone.localtime(erased_at).strftime("%d.%m.%Y")},
            field="customer_id",
            code="erased",
        )
    customer = Customer(crm=crm, source=source, **data)
    customer_numbers_screen(customer, crm.data_owner_id)
    try:
        with transaction.atomic():
            customer.save(force_insert=True)
    except IntegrityError:
        # Two creators raced past the check above; the unique constraint decided.
        raise Conflict(
            _("Another customer in this CRM has the customer id “%(id)s”.")
            % {"id": data["customer_id"]},
            field="customer_id",
            code="duplicate",
        ) from None
    audit(
        actor,
        "customer.create",
        customer,
        after=customer_snapshot(customer),
        customer_id=customer.pk,
    )
    webhook_emit(
        crm.pk,
        (
            EventType.CUSTOMER_CREATED,
            {"customer": customer.pk, "customer_id": customer.customer_id, "crm": crm.pk},
        ),
    )
    return customer


@transaction.atomic
def customer_update(
    actor: User | Process,
    *,
    customer: Customer,
    changes: Mapping[str, Any],
    version: str | None = None,
) -> Customer:
    """Change standard or CRM fields of a customer; each value is checked by its type and the
    change is audited with the values before and after. With ``version`` (from
    ``customer_version``) the change is made only if nobody changed the customer since."""
    require(actor, Perm.CUSTOMER_HANDLING)
    check_may_see_customer(actor, customer.pk)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if version is not None and version != customer_version(customer):
        raise Stale(_("The customer was changed since you read it. Read it again."))
    before = customer_snapshot(customer)
    standard = {k: _clean_standard(k, v) for k, v in changes.items() if k in STANDARD_FIELDS}
    if standard.get("customer_id", customer.customer_id) != customer.customer_id and not has_perm(
        actor, Perm.CAMPAIGN_SETUP
    ):
        # The key the client's CRM knows the customer by: changed by imports and setup only.
        raise NotAllowed(_("Only campaign setup may change the customer id."), field="customer_id")
    own = {k: v for k, v in changes.items() if k not in STANDARD_FIELDS}
    cleaned_own = _clean_own_fields(list(customer.crm.fields.all()), own, partial=True)
    _check_unique(customer.crm, standard | {"fields": cleaned_own}, exclude_pk=customer.pk)
    for key, value in standard.items():
        setattr(customer, key, value)
    customer.fields = {**customer.fields, **cleaned_own}
    customer_numbers_screen(customer, customer.crm.data_owner_id)
    after = customer_snapshot(customer)
    changed = {k for k in before if before[k] != after[k]}
    if not changed:
        return customer
    customer.updated_at = timezone.now()
    customer.save()
    audit(
        actor,
        "customer.update",
        customer,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
        customer_id=customer.pk,
    )
    about = {"customer": customer.pk, "customer_id": customer.customer_id}
    webhook_emit(
        customer.crm_id, (EventType.CUSTOMER_UPDATED, about | {"changed": sorted(changed)})
    )
    return customer


@transaction.atomic
def blocked_number_add(actor: User | Process, *, phone: str, reason: str = "") -> BlockedNumber:
    """Put a number on everyone's block list; customers with that number can no longer be
    taken in any data owner's campaigns. A person's objection blocks the number for one data
    owner: ``privacy.services.customer_object``."""
    require(actor, Perm.ADMINISTRATOR)
    e164 = normalise_phone(phone, field="phone")
    if not e164:
        raise DomainError(_("A phone number is required."), field="phone")
    entry, created = BlockedNumber.objects.get_or_create(
        phone=e164,
        data_owner=None,
        defaults={
            "reason": reason,
            "actor_user": None if isinstance(actor, Process) else actor,
            "actor_process": actor.name if isinstance(actor, Process) else "",
        },
    )
    if created:
        Customer.objects.filter(customers_with_phone(e164)).update(
            is_blocked=True, updated_at=timezone.now()
        )
        audit(actor, "blocklist.add", entry, after={"phone": e164, "reason": reason})
    return entry


@transaction.atomic
def blocked_number_remove(actor: User | Process, *, phone: str) -> None:
    require(actor, Perm.ADMINISTRATOR)
    e164 = normalise_phone(phone, field="phone")
    entry = BlockedNumber.objects.filter(phone=e164, data_owner=None).first()
    if entry is None:
        raise DomainError(_("The number is not on the block list."), field="phone")
    audit(actor, "blocklist.remove", entry, before={"phone": e164, "reason": entry.reason})
    entry.delete()
    customers_unblock_where_free(Customer.objects.filter(customers_with_phone(e164)))


def customers_unblock_where_free(customers: QuerySet[Customer]) -> None:
    """Clear the block of those ``customers`` none of whose numbers is still blocked for their
    data owner, and who never objected."""
    blocked = BlockedNumber.objects.filter(
        Q(data_owner__isnull=True) | Q(data_owner=OuterRef("crm__data_owner")),
        phone__in=[OuterRef("phone1"), OuterRef("phone2"), OuterRef("phone3")],
    )
    customers.filter(is_blocked=True, objected_at__isnull=True).exclude(Exists(blocked)).update(
        is_blocked=False, updated_at=timezone.now()
    )
