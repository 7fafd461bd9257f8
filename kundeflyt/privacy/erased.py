"""Recognising an erased person by the keyed hashes of their customer id and phones, so that
an import, the API or the card never brings them back (GDPR Art. 17)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.utils.crypto import salted_hmac

from kundeflyt.privacy.models import ErasedKey


def digest(value: str) -> str:
    return salted_hmac(
        "kundeflyt.privacy.erased", value, secret=settings.PRIVACY_HASH_KEY, algorithm="sha256"
    ).hexdigest()


def erased_keys(
    crm_id: int, *, customer_id: str, phones: Iterable[str], at: dt.datetime
) -> list[ErasedKey]:
    """The rows that keep a person recognisable after erasure."""
    keys = [(ErasedKey.Kind.CUSTOMER_ID, customer_id), *((ErasedKey.Kind.PHONE, p) for p in phones)]
    return [
        ErasedKey(crm_id=crm_id, kind=kind, digest=digest(value), erased_at=at)
        for kind, value in keys
        if value
    ]


def erased_among(
    crm_id: int, *, customer_ids: Iterable[str] = (), phones: Iterable[str] = ()
) -> set[tuple[str, str]]:
    """Which of these customer ids and phones belonged to a person erased from the CRM, as
    (kind, value) pairs."""
    wanted = {
        digest(value): (kind, value)
        for kind, values in (
            (ErasedKey.Kind.CUSTOMER_ID, customer_ids),
            (ErasedKey.Kind.PHONE, phones),
        )
        for value in values
        if value
    }
    if not wanted:
        return set()
    found = ErasedKey.objects.filter(crm_id=crm_id, digest__in=list(wanted)).values_list(
        "kind", "digest"
    )
    return {wanted[d] for kind, d in found if wanted[d][0] == kind}


def erased_since(
    crm_id: int, *, customer_id: str = "", phones: Iterable[str] = ()
) -> dt.datetime | None:
    """When a person with this customer id or one of these phones was erased, if ever."""
    digests = [digest(v) for v in (customer_id, *phones) if v]
    return (
        ErasedKey.objects.filter(crm_id=crm_id, digest__in=digests)
        .order_by("erased_at")
        .values_list("erased_at", flat=True)
        .first()
    )
