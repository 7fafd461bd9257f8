"""Consent to marketing by SMS and e-mail (markedsføringsloven § 15): a consumer gets marketing
by electronic mail only with prior consent. Recorded per customer, with when and how it was
given; withdrawn by clearing it (and by a reply of STOPP, which blocks the number)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import check_may_see_customer
from kundeflyt.common.actors import Process
from kundeflyt.common.bounds import bounded_text
from kundeflyt.common.errors import DomainError
from kundeflyt.crm.models import Customer
from kundeflyt.privacy.register import customer_facts_write, past_day

Actor = Any  # a User or a Process

SOURCE_LENGTH = 200


def consent_values(on: Any, source: Any) -> dict[str, Any]:
    """The consent's two columns, checked: both or (withdrawn) neither."""
    if on in (None, ""):
        return {"marketing_consent_on": None, "marketing_consent_source": ""}
    day = past_day(on, field="marketing_consent_on")
    text = bounded_text(source, field="marketing_consent_source", max_length=SOURCE_LENGTH)
    if not text:
        raise DomainError(
            _("Say how the consent was given, e.g. the web form or the call."),
            field="marketing_consent_source",
        )
    return {"marketing_consent_on": day, "marketing_consent_source": text}


@transaction.atomic(durable=True)
def marketing_consent_set(
    actor: Actor | Process, *, customer_id: int, on: Any = None, source: Any = ""
) -> Customer:
    """Record the customer's consent to marketing (its day and how it was given), or withdraw
    it with an empty day."""
    require(actor, Perm.CUSTOMER_HANDLING)
    check_may_see_customer(actor, customer_id)
    after = consent_values(on, source)
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    if customer.anonymised_at is not None:
        raise DomainError(_("The customer has been anonymised."), field="customer")
    return customer_facts_write(actor, customer, after, "customer.marketing_consent")
