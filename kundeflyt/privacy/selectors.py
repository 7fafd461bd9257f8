"""What a privacy officer reads: people found across a data owner's CRMs, everything held
about one of them (GDPR Art. 15), and the log of requests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import Actor, data_owners_visible_to
from kundeflyt.common.bounds import bounded_text
from kundeflyt.common.models import AuditEntry
from kundeflyt.common.phones import display_phone, phone_search_variants
from kundeflyt.crm.models import BlockedNumber, Customer, DataOwner
from kundeflyt.handling.models import Event, Meeting, Placement, ProductLine
from kundeflyt.privacy.access_log import access_log_of
from kundeflyt.privacy.erased import erased_since
from kundeflyt.privacy.models import PrivacyRequest
from kundeflyt.telephony.models import Call, Sms

FOUND_MAX = 50
ACCESS_SHOWN = 1000  # the latest views of the person handed out (the log keeps ACCESS_LOG_DAYS)
QUERY_LENGTH = 200


def privacy_owners(actor: Actor) -> QuerySet[DataOwner]:
    """The data owners whose people the privacy officer handles."""
    require(actor, Perm.PRIVACY_OFFICER)
    return data_owners_visible_to(actor)


@dataclass
class PersonSearch:
    query: str
    customers: list[Customer] = field(default_factory=list)
    more: bool = False
    # When a person with this phone or customer id was erased, if one was: the answer to a
    # repeated request about someone already forgotten.
    erased_at: dt.datetime | None = None


def persons_find(actor: Actor, *, data_owner: DataOwner, query: str) -> PersonSearch:
    """Customers of the data owner's CRMs with this phone (any format), e-mail, customer id or
    name, anonymised ones excluded. A query too long or with control characters is refused
    naming the field ``q``."""
    query = bounded_text(query, field="q", max_length=QUERY_LENGTH, label=_("The search"))
    if not privacy_owners(actor).filter(pk=data_owner.pk).exists():
        return PersonSearch(query)
    if not query:
        return PersonSearch(query)
    phone = phone_search_variants(query)
    match = Q(email__iexact=query) | Q(customer_id__iexact=query) | Q(name__icontains=query)
    if phone:
        match |= Q(phone1=phone) | Q(phone2=phone) | Q(phone3=phone)
    found = list(
        Customer.objects.filter(match, crm__data_owner=data_owner, anonymised_at__isnull=True)
        .select_related("crm", "placement__campaign", "placement__state")
        .order_by("name", "pk")[: FOUND_MAX + 1]
    )
    erased = None
    if not found:
        crms = data_owner.crms.values_list("pk", flat=True)
        moments = [erased_since(crm, customer_id=query, phones=[phone or ""]) for crm in crms]
        erased = min((m for m in moments if m), default=None)
    return PersonSearch(query, found[:FOUND_MAX], len(found) > FOUND_MAX, erased)


def _actor(row: Any) -> str:
    return row.actor_display if (row.actor_user_id or row.actor_process) else ""


def _when(value: dt.datetime | None) -> dt.datetime | None:
    """In the user's zone: shown so on the page, written so (with its offset) in JSON."""
    return timezone.localtime(value) if value else None


def person_access(actor: Actor, customer: Customer) -> dict[str, Any]:
    """Everything held about the person, as plain data: what the JSON export holds and the
    printable page shows. ``customer`` comes from ``privacy_customer``. The number of queries
    does not grow with the person's history."""
    require(actor, Perm.PRIVACY_OFFICER)
    crm = customer.crm
    owner = crm.data_owner
    labels = {f.key: f.label for f in crm.fields.all()}
    placement = (
        Placement.objects.select_related("campaign", "segment", "state", "follow_up_user")
        .filter(pk=customer.pk)
        .first()
    )
    events = (
        Event.objects.filter(customer=customer)
        .select_related("campaign", "outcome", "option", "from_state", "to_state", "actor_user")
        .prefetch_related(
            Prefetch("product_lines", ProductLine.objects.select_related("product")),
            Prefetch("meetings", Meeting.objects.filter(deleted_at__isnull=True)),
        )
        .order_by("registered_at", "pk")
    )
    audits = (
        AuditEntry.objects.filter(customer_id=customer.pk)
        .select_related("actor_user")
        .order_by("at", "pk")
    )
    blocks = BlockedNumber.objects.filter(
        Q(data_owner__isnull=True) | Q(data_owner=owner), phone__in=customer.phones or [""]
    ).select_related("data_owner")
    requests = PrivacyRequest.objects.filter(customer=customer).select_related("actor_user")
    views = access_log_of(customer.pk)[:ACCESS_SHOWN]
    return {
        "generated_at": _when(timezone.now()),
        "controller": {
            "data_owner": owner.name,
            "controller": owner.controller_name,
            "purpose": owner.purpose,
        },
        "customer": {
            "crm": crm.name,
            "kind": crm.get_kind_display(),
            "customer_id": customer.customer_id,
            "name": customer.name,
            "phones": [display_phone(p) for p in customer.phones],
            "email": customer.email,
            "fields": {labels.get(k, k): v for k, v in customer.fields.items()},
            "in_the_system_since": _when(customer.created_at),
            "source": customer.get_source_display(),
            "changed": _when(customer.updated_at),
            "blocked": customer.is_blocked,
            "anonymised": _when(customer.anonymised_at),
        },
        "placement": None
        if placement is None
        else {
            "campaign": placement.campaign.name,
            "segment": placement.segment.name if placement.segment else None,
            "state": placement.state.name,
            "since": _when(placement.state_since),
            "follow_up": _when(placement.follow_up_at),
            "follow_up_by": str(placement.follow_up_user or "") or None,
            "attempts": placement.attempts,
        },
        "registrations": [
            {
                "registered_at": _when(e.registered_at),
                "campaign": e.campaign.name,
                "outcome": e.outcome.name,
                "option": e.option.label if e.option else None,
                "from_state": e.from_state.name,
                "to_state": e.to_state.name,
                "by": _actor(e),
                "comment": e.comment,
                "extra_fields": e.extra_values,
                "follow_up": _when(e.follow_up_at),
                "corrected": e.is_corrected,
                "products": [
                    {
                        "product": line.product.name,
                        "status": line.get_status_display(),
                        "quantity": line.quantity,
                        "unit_price": str(line.unit_price),
                        "currency": line.currency,
                        "extra_fields": line.extra_values,
                    }
                    for line in e.product_lines.all()
                ],
                "meetings": [
                    {
                        "starts_at": _when(m.starts_at),
                        "minutes": m.duration_minutes,
                        "place": m.place,
                        "with": m.with_whom,
                    }
                    for m in e.meetings.all()
                ],
            }
            for e in events
        ],
        "changes": [
            {
                "at": _when(a.at),
                "by": _actor(a),
                "action": a.action,
                "before": a.before,
                "after": a.after,
            }
            for a in audits
        ],
        "block_list": [
            {
                "phone": display_phone(b.phone),
                "for": b.data_owner.name if b.data_owner else None,
                "reason": b.reason,
                "added": _when(b.added_at),
            }
            for b in blocks
        ],
        "requests": [
            {"at": _when(r.at), "right": r.get_right_display(), "by": _actor(r), "done": r.done}
            for r in requests
        ],
        "viewed_by": [
            {"at": _when(v.at), "by": str(v.user), "where": v.get_kind_display()} for v in views
        ],
        "sms": [
            {
                "at": _when(m.created_at),
                "direction": m.get_direction_display(),
                "from": display_phone(m.sender) if m.sender.startswith("+") else m.sender,
                "to": display_phone(m.to),
                "text": m.text,
                "status": m.get_status_display(),
            }
            for m in Sms.objects.filter(customer=customer).order_by("created_at", "pk")
        ],
        "calls": [
            {
                "at": _when(c.created_at),
                "direction": c.get_direction_display(),
                "number": display_phone(c.customer_phone),
                "result": c.get_result_display() or c.get_status_display(),
                "seconds": c.duration_seconds,
                "recording": c.recording_url,
            }
            for c in Call.objects.filter(customer=customer).order_by("created_at", "pk")
        ],
    }


def privacy_requests(actor: Actor) -> QuerySet[PrivacyRequest]:
    """The request log of the data owners the privacy officer handles, newest first."""
    return (
        PrivacyRequest.objects.filter(data_owner__in=privacy_owners(actor))
        .select_related("data_owner", "customer", "actor_user")
        .order_by("-at", "-pk")
    )
