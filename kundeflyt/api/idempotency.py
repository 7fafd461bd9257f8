"""``Idempotency-Key``: a client that retries a write (a timeout, a lost answer) sends the
same key again and gets the first answer back, and the write is made once.

The key is claimed in the write's own transaction. A retry that arrives while the first is
still running waits on the key's unique index (PostgreSQL) or the database lock (SQLite);
when the first commits, the retry finds its answer; when the first fails, nothing was kept
and the retry runs as if it came first."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Header, Status

from kundeflyt.accounts.models import User
from kundeflyt.api.models import IdempotencyKey
from kundeflyt.common.errors import DomainError

# The header, as operations declare it (constraints given to Header would land outside it,
# where ninja no longer sees a header; ``once`` checks the key instead).
Key = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Up to 200 printable ASCII characters (a UUID fits). Send the same key "
        "to retry a write safely.",
    ),
]
KEY = re.compile(r"[\x21-\x7e]{1,200}")


class KeyRefused(DomainError):
    status = 422  # as the IETF draft on the header has it
    code = "idempotency_key"


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def give(self, response: HttpResponse) -> Status[dict[str, Any]]:
        """As an operation returns it, with the headers set on ninja's response."""
        for name, value in self.headers.items():
            response[name] = value
        return Status(self.status, self.body)


def once(request: HttpRequest, user: User, key: str | None, write: Callable[[], Answer]) -> Answer:
    """``write``'s answer, made at most once for ``user`` and ``key``."""
    if key is None:
        return write()
    if not KEY.fullmatch(key):
        raise KeyRefused(
            _("An Idempotency-Key is 1 to 200 printable ASCII characters."),
            field="Idempotency-Key",
        )
    fingerprint = hashlib.sha256(
        f"{request.method} {request.path}\n".encode() + request.body
    ).hexdigest()
    with transaction.atomic():
        try:
            with transaction.atomic():
                claimed = IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
        except IntegrityError:
            earlier = IdempotencyKey.objects.get(user=user, key=key)
            if earlier.fingerprint != fingerprint or earlier.status is None:
                raise KeyRefused(
                    _("This Idempotency-Key was sent with another request."),
                    field="Idempotency-Key",
                ) from None
            return Answer(
                earlier.status,
                earlier.body or {},
                earlier.headers | {"Idempotent-Replayed": "true"},
            )
        answer = write()
        claimed.status, claimed.body, claimed.headers = answer.status, answer.body, answer.headers
        claimed.save(update_fields=["status", "body", "headers"])
    return answer
