"""``Idempotency-Key``: a client that retries a write (a timeout, a lost answer) sends the
same key again and gets the first answer back, and the write is made once.

The answer is kept under the key in the write's own transaction. A retry that runs while the
first is still running fails when the first commits (on the key's unique index, or on the
uniqueness the write itself checks, such as the customer id) and rolls back; it then finds
the first one's answer and gives it. When the first fails, nothing was kept and the retry
runs as if it came first."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from django.conf import settings
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
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


class Keeper:
    """One request's ``Idempotency-Key``: the answer kept for it, or room to keep one."""

    def __init__(self, request: HttpRequest, user: User, key: str) -> None:
        if not KEY.fullmatch(key):
            raise KeyRefused(
                _("An Idempotency-Key is 1 to 200 printable ASCII characters."),
                field="Idempotency-Key",
            )
        self.user, self.key = user, key
        self.fingerprint = hashlib.sha256(
            f"{request.method} {request.path}\n".encode() + request.body
        ).hexdigest()

    def kept(self) -> Answer | None:
        """The answer of an earlier request with this key; refused if it was another."""
        earlier = IdempotencyKey.objects.filter(user=self.user, key=self.key).first()
        if earlier is None:
            return None
        if earlier.fingerprint != self.fingerprint or earlier.status is None:
            raise KeyRefused(
                _("This Idempotency-Key was sent with another request."),
                field="Idempotency-Key",
            )
        return Answer(
            earlier.status, earlier.body or {}, earlier.headers | {"Idempotent-Replayed": "true"}
        )

    def keep(self, answer: Answer) -> None:
        """Keep the answer, in the write's own transaction: a retry that raced it fails here
        on the key's unique index, its write rolls back, and it answers as this one did."""
        IdempotencyKey.objects.create(
            user=self.user,
            key=self.key,
            fingerprint=self.fingerprint,
            status=answer.status,
            body=answer.body,
            headers=answer.headers,
        )


Keep = Callable[[Answer], None]


def once(
    request: HttpRequest, user: User, key: str | None, write: Callable[[Keep], Answer]
) -> Answer:
    """``write``'s answer, made at most once for ``user`` and ``key``. ``write`` is given
    ``keep`` and calls it with its answer inside its own transaction (a service that must
    start the transaction itself, ``durable``, calls it through its hook)."""
    if key is None:
        return write(lambda answer: None)
    keeper = Keeper(request, user, key)
    if (earlier := keeper.kept()) is not None:
        return earlier
    try:
        return write(keeper.keep)
    except (IntegrityError, DomainError):
        if (earlier := keeper.kept()) is not None:
            return earlier  # a retry that raced the first: the first one's answer
        raise


def idempotency_keys_purge(now: dt.datetime | None = None) -> int:
    """Forget the keys older than ``IDEMPOTENCY_KEY_HOURS``: a retry comes within minutes, and
    a key kept forever would keep its answer (which may name customers) forever. Returns how
    many were forgotten."""
    cutoff = (now or timezone.now()) - dt.timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    deleted, _per_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
