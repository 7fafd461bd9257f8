"""The one interface every calls-and-SMS provider is reached through."""

from __future__ import annotations

import base64
import hmac
import http.client
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from kundeflyt.telephony.models import ProviderAccount


class ProviderError(Exception):
    """The provider did not take the message. ``retry``: nothing can have been sent, so it is
    safe to try again later (the provider was unreachable or said it was overloaded)."""

    def __init__(self, message: str, *, retry: bool):
        super().__init__(message[:300])
        self.message = message[:300]
        self.retry = retry


class NotAuthentic(Exception):
    """A callback that does not prove it comes from the provider."""


@dataclass(frozen=True)
class OutgoingSms:
    key: str  # our idempotency key
    sender: str
    to: str  # E.164
    text: str
    status_url: str  # where the provider reports delivery; empty: don't ask


@dataclass(frozen=True)
class Accepted:
    provider_id: str
    status: str  # an Sms.Status value


@dataclass(frozen=True)
class StatusReport:
    provider_id: str
    status: str  # an Sms.Status value
    error: str = ""


@dataclass(frozen=True)
class InboundSms:
    provider_id: str
    sender: str
    to: str
    text: str


@dataclass(frozen=True)
class OutgoingCall:
    """Click-to-call: ring the agent's phone, then connect the customer (call bridging)."""

    key: str
    caller: str  # the number the customer sees
    agent_phone: str
    customer_phone: str
    progress_url: str  # where the provider reports progress; empty: don't ask


@dataclass(frozen=True)
class CallReport:
    """How far a call got: ``status`` is a Call.Status value; ``result`` (a Call.Result
    value) and ``duration`` come with its end."""

    provider_id: str
    status: str
    result: str = ""
    duration: int | None = None
    recording_url: str = ""
    # A result inferred, not told (Twilio: the agent's leg ended with no word of the
    # customer's): it applies only to a call never answered.
    fallback: bool = False


@dataclass(frozen=True)
class InboundCall:
    provider_id: str
    caller: str
    to: str


class Backend(ABC):
    name: str

    def __init__(self, account: ProviderAccount, secret: str | Callable[[], str]):
        """``secret``: the API secret, or how to read it, read only when first needed: a
        callback that needs none (46elks') is not refused for a secret that can't be read."""
        self.account = account
        self._secret = secret

    @property
    def secret(self) -> str:
        if callable(self._secret):
            self._secret = self._secret()
        return self._secret

    def callback_url(self, kind: str) -> str:
        """The address the provider calls back about ``kind``; empty without PUBLIC_BASE_URL."""
        if not settings.PUBLIC_BASE_URL:
            return ""
        return f"{settings.PUBLIC_BASE_URL}/telephony/hooks/{self.account.pk}/{kind}/"

    @abstractmethod
    def send_sms(self, sms: OutgoingSms) -> Accepted: ...

    @abstractmethod
    def check_authentic(self, request: HttpRequest) -> None:
        """Raise NotAuthentic unless the callback proves it comes from the provider."""

    @abstractmethod
    def sms_status(self, request: HttpRequest) -> StatusReport: ...

    @abstractmethod
    def sms_inbound(self, request: HttpRequest) -> InboundSms: ...

    @abstractmethod
    def start_call(self, call: OutgoingCall) -> Accepted: ...

    @abstractmethod
    def call_report(self, request: HttpRequest) -> CallReport:
        """What a progress callback tells; ValueError when it tells nothing we know."""

    def call_answer(self, request: HttpRequest, call: Any) -> HttpResponse:
        """What the provider expects back from a progress callback (46elks asks for the next
        action when the agent answers)."""
        return HttpResponse(b"", content_type="text/plain")

    def call_inbound(self, request: HttpRequest) -> InboundCall:
        raise NotAuthentic("this provider takes no incoming calls")

    def call_inbound_answer(self, forward_to: str) -> HttpResponse:
        """What to do with an incoming call: connect it to ``forward_to``, or say busy."""
        return HttpResponse(b"", content_type="text/plain")

    def inbound_answer(self) -> HttpResponse:
        """What the provider expects back from an inbound callback: nothing, to send no reply."""
        return HttpResponse(b"", content_type="text/plain")


def basic_auth_matches(request: HttpRequest, user: str, password: str) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic ") or not password:
        return False
    try:
        given = base64.b64decode(header[6:], validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return False
    return hmac.compare_digest(given.encode(), f"{user}:{password}".encode())


def answered_id(answer: Any, key: str, what: str) -> str:
    """The provider's id of what it took, from its JSON answer. An answer without one is a
    final failure; its words may hold the number and the text, so they stay out of it."""
    if not isinstance(answer, dict) or not answer.get(key):
        raise ProviderError(f"unexpected answer: no {what} in it", retry=False)
    return str(answer[key])[:64]


def seconds(text: str) -> int | None:
    """A length of call in whole seconds, as a provider's form gives it; None if it is none."""
    try:
        value = int(float(text))
    except (ValueError, OverflowError):
        return None
    return value if 0 <= value < 24 * 3600 else None


def form_value(request: HttpRequest, name: str, max_length: int = 2000) -> str:
    value = request.POST.get(name, "")
    return value.replace("\x00", "")[:max_length]


def post_form(
    url: str,
    fields: dict[str, str],
    *,
    auth: tuple[str, str],
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """POST a form to a provider's API with basic auth; its status and decoded JSON (or text).
    Raises ProviderError: with ``retry`` only where the request cannot have been acted on."""
    body = urllib.parse.urlencode(fields).encode()
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Authorization": f"Basic {token}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": "Kundeflyt/1",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.TELEPHONY_TIMEOUT_SECONDS) as answer:
            return answer.status, _decoded(answer.read(64 * 1024))
    except urllib.error.HTTPError as refused:
        status = refused.code
        try:
            text = _decoded(refused.read(64 * 1024))
        except (OSError, http.client.HTTPException):  # the status alone tells enough
            text = ""
        # Overloaded or unavailable: nothing was acted on. Not 502 or 504: a gateway says so
        # after it passed the request on, and the provider may have sent the message.
        retry = status in (429, 503)
        raise ProviderError(f"{status}: {_message(text)}", retry=retry) from None
    except urllib.error.URLError as unreachable:
        reason = unreachable.reason
        # No connection was made: nothing was sent.
        retry = isinstance(reason, ConnectionRefusedError | socket.gaierror)
        raise ProviderError(_unreachable_message(reason), retry=retry) from None
    except (TimeoutError, OSError, http.client.HTTPException) as lost:
        # The request went out and the answer never came, or broke off (a chunked answer cut
        # short raises IncompleteRead, no OSError): it may have been sent.
        raise ProviderError(_unreachable_message(lost), retry=False) from None


def _unreachable_message(reason: object) -> str:
    if isinstance(reason, TimeoutError | socket.timeout):
        return "no answer in time: it may have been sent"
    if isinstance(reason, http.client.IncompleteRead):
        return "the answer broke off: it may have been sent"
    return str(reason) or reason.__class__.__name__


def _decoded(raw: bytes) -> Any:
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _message(answer: Any) -> str:
    if isinstance(answer, dict):
        return str(answer.get("message") or answer.get("error") or answer)[:250]
    return str(answer).strip()[:250] or "-"
