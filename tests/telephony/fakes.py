"""Local stand-ins for 46elks and Twilio, written from their public API documentation, not
from Kundeflyt's backends: each is a real HTTP server on 127.0.0.1 that checks basic auth as
the provider does, answers as the provider does, remembers every request, and can be told
to misbehave (an error status, a late answer, a hung-up connection). Each can also call
Kundeflyt back over HTTP as the provider would: a delivery report, or a customer's SMS.

46elks (https://46elks.com/docs/send-sms, /docs/sms-delivery-reports, /docs/receive-sms):
``POST /a1/sms`` with the API username and password as basic auth; form ``from``, ``to``,
``message``, optional ``whendelivered``. Its callbacks are unsigned forms; credentials
written into the callback address (``https://user:pass@host/...``) are sent as basic auth.

Twilio (https://www.twilio.com/docs/messaging/api/message-resource,
/docs/usage/webhooks/webhooks-security): ``POST /2010-04-01/Accounts/{AccountSid}/
Messages.json`` with the AccountSid and AuthToken as basic auth; form ``To``, ``From``,
``Body``, optional ``StatusCallback``. Every callback carries ``X-Twilio-Signature``:
HMAC-SHA1, keyed with the AuthToken, over the full URL followed by the POST fields sorted by
name, each name followed by its value, in base64.

Calls (click-to-call, https://46elks.com/docs/make-call, /docs/call-actions,
/docs/voice-recordcall; https://www.twilio.com/docs/voice/api/call-resource,
/docs/voice/twiml/dial, /docs/voice/twiml/number): ``POST /a1/calls`` (form ``from``,
``to``, ``voice_start``, optional ``whenhangup`` and ``timeout``) and ``POST /2010-04-01/
Accounts/{AccountSid}/Calls.json`` (form ``To``, ``From``, ``Url`` or ``Twiml``, optional
``StatusCallback`` and ``Timeout``) ring the agent's phone. The fakes then play the call as
the provider would, one step per method: 46elks loads ``voice_start`` when the agent answers
and follows the actions Kundeflyt answers (``busy``, ``failed``, ``recordcall``), then posts
``whenhangup``; Twilio runs the TwiML it was given and posts the signed status callbacks of
the customer's leg (the ``<Number>``'s ``statusCallback``), of the agent's leg
(``StatusCallback``) and of the recording (the ``<Dial>``'s ``recordingStatusCallback``).

Use the fixtures ``elks`` and ``twilio``; import them into a test module with
``# noqa: F401``."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import math
import re
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import pytest

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# A text sender id: letters and digits, starting with a letter, at most 11 characters.
TEXT_SENDER = re.compile(r"[A-Za-z][A-Za-z0-9 ]{1,10}")

LOOPBACK = ("127.0.0.1", "localhost")  # the live server listens on "localhost"
FromUrl = Literal["from-url"]
FROM_URL: FromUrl = "from-url"


@dataclass(frozen=True)
class Request:
    """One request as it reached the fake."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    form: dict[str, str]

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        header = self.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user, password


@dataclass(frozen=True)
class Answer:
    """What the fake does with the next API request instead of its ordinary answer.

    ``status``: answer that status with the provider's error body, having done nothing (with
    ``acted``: having done as asked, as a gateway in front of the provider answers when the
    provider's answer comes too late for it).
    ``delay``: do as asked, then answer that many seconds late.
    ``hang_up``: do as asked, then close the connection without an answer.
    ``cut_short``: do as asked, then send the answer's first half and close the connection
    (its Content-Length promises more); ``cut_chunked``: the same in chunked encoding, the
    last chunk never coming."""

    status: int = 0
    acted: bool = False
    delay: float = 0.0
    hang_up: bool = False
    cut_short: bool = False
    cut_chunked: bool = False


@dataclass(frozen=True)
class Hook:
    """What Kundeflyt answered to a callback."""

    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode())


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class FakeProvider:
    """The HTTP server and the bookkeeping both fakes share."""

    name = ""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.answers: list[Answer] = []
        self.messages: dict[str, dict[str, str]] = {}  # the provider's id → what it was asked
        self.calls: dict[str, dict[str, str]] = {}  # a call's id → what it was asked
        # Called with a new call's id before the API answers: the agent's phone answers
        # before the answer reaches Kundeflyt (run in the fake's own thread).
        self.on_placed: Callable[[str], object] | None = None
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # --- the server -------------------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()  # a delayed answer stops waiting
        self.server.shutdown()
        self.server.server_close()

    def answer_next(self, *answers: Answer) -> None:
        """The next API requests get these answers, in order; then the ordinary ones."""
        with self.lock:
            self.answers.extend(answers)

    def api(self, request: Request) -> Reply:
        """The ordinary answer to an API request (and its effect)."""
        raise NotImplementedError

    def placed(self, call_id: str, form: dict[str, str]) -> None:
        with self.lock:
            self.calls[call_id] = dict(form)
        if self.on_placed is not None:
            self.on_placed(call_id)

    def error(self, status: int, message: str) -> Reply:
        """The provider's answer with an error ``status``."""
        raise NotImplementedError

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                request = Request(
                    method="POST",
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    form=dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True)),
                )
                with fake.lock:
                    fake.requests.append(request)
                    told = fake.answers.pop(0) if fake.answers else Answer()
                reason = DEFAULT_REASONS.get(told.status, "Error")
                if not told.status:
                    reply = fake.api(request)
                elif told.acted:
                    fake.api(request)  # done; the gateway in front answers on its own
                    reply = gateway_page(told.status, reason)
                else:
                    reply = fake.error(told.status, reason)
                if told.delay:
                    fake.stopping.wait(told.delay)
                if told.hang_up:
                    self.close_connection = True
                    return
                try:
                    self.answer(reply, told)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client stopped waiting

            def answer(self, reply: Reply, told: Answer) -> None:
                body = reply.body
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if told.cut_chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    half = body[: len(body) // 2]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(half), half))
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(body)))
                if told.cut_short:
                    body = body[: len(body) // 2]
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    # --- calling Kundeflyt back -------------------------------------------------------------

    def call_back(
        self,
        url: str,
        fields: Mapping[str, str],
        *,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | FromUrl | None = FROM_URL,
    ) -> Hook:
        """POST a form to ``url`` as an HTTP client does: credentials written into the URL are
        taken out of it and sent as basic auth (``auth`` replaces them, None sends none)."""
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        assert host in LOOPBACK, f"a callback to {host}: the tests stay on this machine"
        netloc = f"{host}:{parts.port}" if parts.port else host
        target = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        if auth == FROM_URL:
            auth = None
            if parts.username is not None:
                user, password = parts.username, parts.password or ""
                auth = (urllib.parse.unquote(user), urllib.parse.unquote(password))
        sent = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": f"fake-{self.name}",
            **(headers or {}),
        }
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            sent["Authorization"] = f"Basic {token}"
        request = urllib.request.Request(
            target, data=urllib.parse.urlencode(fields).encode(), method="POST", headers=sent
        )
        # No proxy, whatever the environment says: the callback stays on this machine.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as answer:
                return Hook(answer.status, answer.headers.get("Content-Type", ""), answer.read())
        except urllib.error.HTTPError as refused:
            return Hook(refused.code, refused.headers.get("Content-Type", ""), refused.read())


DEFAULT_REASONS = {
    400: "Bad request",
    401: "Unauthorized",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def gateway_page(status: int, reason: str) -> Reply:
    """What a load balancer in front of the provider answers on its own."""
    page = f"<html><body><h1>{status} {reason}</h1></body></html>"
    return Reply(status, {"Content-Type": "text/html"}, page.encode())


def parts_of(text: str) -> int:
    """SMS segments of a text (GSM 7-bit assumed; enough for a fake's bookkeeping)."""
    return 1 if len(text) <= 160 else math.ceil(len(text) / 153)


# --- 46elks ---------------------------------------------------------------------------------


class FakeElks(FakeProvider):
    """46elks' SMS API at ``{origin}/a1``: answers plain text on errors, JSON on success."""

    name = "46elks"

    def __init__(self) -> None:
        super().__init__()
        self.username = "u" + secrets.token_hex(16)
        self.password = secrets.token_hex(16).upper()
        self.number = "+46766861004"  # the account's virtual number, where replies arrive
        self.invalid_numbers: set[str] = set()  # E.164 in form, yet no such subscriber
        self.replies: list[tuple[str, bytes]] = []  # answers to inbound SMS: sent back as SMS
        self.actions: dict[str, dict[str, Any]] = {}  # a call's id → the action it follows

    @property
    def api_url(self) -> str:
        return f"{self.origin}/a1"

    def sms_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path == "/a1/sms"]

    def error(self, status: int, message: str) -> Reply:
        return Reply(status, {"Content-Type": "text/plain; charset=utf-8"}, message.encode())

    def api(self, request: Request) -> Reply:
        if request.basic_auth != (self.username, self.password):
            return self.error(401, "API access requires a valid API username and password")
        if request.path == "/a1/calls":
            return self.call_api(request)
        if request.path != "/a1/sms":
            return self.error(404, "Not found")
        form = request.form
        for key in ("from", "to", "message"):
            if not form.get(key):
                return self.error(400, f"Missing key {key}")
        if not E164.fullmatch(form["to"]) or form["to"] in self.invalid_numbers:
            return self.error(400, "Invalid to number")
        if not (E164.fullmatch(form["from"]) or TEXT_SENDER.fullmatch(form["from"])):
            return self.error(400, "Invalid from")
        if "whendelivered" in form and not form["whendelivered"].startswith(
            ("http://", "https://")
        ):
            return self.error(400, "Invalid whendelivered")
        sms_id = "s" + secrets.token_hex(16)
        with self.lock:
            self.messages[sms_id] = dict(form)
        created = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat()
        answer = {
            "status": "created",
            "direction": "outgoing",
            "from": form["from"],
            "to": form["to"],
            "message": form["message"],
            "parts": parts_of(form["message"]),
            "cost": 3500 * parts_of(form["message"]),
            "created": created,
            "id": sms_id,
        }
        return Reply(200, {"Content-Type": "application/json"}, json.dumps(answer).encode())

    def report(
        self,
        sms_id: str,
        status: str,
        *,
        url: str | None = None,
        auth: tuple[str, str] | FromUrl | None = FROM_URL,
    ) -> Hook:
        """A delivery report (``sent``, ``delivered`` or ``failed``) to the message's
        ``whendelivered`` address, as 46elks makes it."""
        target = url or self.messages[sms_id]["whendelivered"]
        fields = {"id": sms_id, "status": status}
        if status == "delivered":
            fields["delivered"] = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat()
        return self.call_back(target, fields, auth=auth)

    def text_in(
        self,
        *,
        url: str,
        sender: str,
        message: str,
        sms_id: str | None = None,
        auth: tuple[str, str] | FromUrl | None = FROM_URL,
    ) -> Hook:
        """A customer's SMS to the account's number, posted to the number's ``sms_url``. A
        non-empty answer would go back to the customer as a reply SMS."""
        fields = {
            "id": sms_id or "s" + secrets.token_hex(16),
            "direction": "incoming",
            "from": sender,
            "to": self.number,
            "message": message,
            "created": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(),
        }
        hook = self.call_back(url, fields, auth=auth)
        if 200 <= hook.status <= 204 and hook.body.strip():
            self.replies.append((sender, hook.body))
        return hook

    # --- calls ------------------------------------------------------------------------------

    def call_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path == "/a1/calls"]

    def call_api(self, request: Request) -> Reply:
        """``POST /a1/calls``: ring ``to``; ``voice_start`` (a URL, or a JSON action) is
        loaded when ``to`` answers."""
        form = request.form
        for key in ("from", "to", "voice_start"):
            if not form.get(key):
                return self.error(400, f"Missing key {key}")
        if not E164.fullmatch(form["to"]) or form["to"] in self.invalid_numbers:
            return self.error(400, "Invalid to number")
        if not E164.fullmatch(form["from"]):  # a call has no text sender id
            return self.error(400, "Invalid from number")
        if not is_url(form["voice_start"]) and not isinstance(
            json_or_none(form["voice_start"]), dict
        ):
            return self.error(400, "Invalid voice_start")
        if "whenhangup" in form and not is_url(form["whenhangup"]):
            return self.error(400, "Invalid whenhangup")
        timeout = form.get("timeout", "60")
        if not timeout.isdigit() or not 1 <= int(timeout) <= 600:
            return self.error(400, "Invalid timeout")
        call_id = "c" + secrets.token_hex(16)
        self.placed(call_id, form)
        answer = {
            "direction": "outgoing",
            "from": form["from"],
            "to": form["to"],
            "state": "ongoing",
            "timeout": int(timeout),
            "created": elks_now(),
            "id": call_id,
        }
        return Reply(200, {"Content-Type": "application/json"}, json.dumps(answer).encode())

    def call_fields(self, call_id: str, id_field: str = "callid") -> dict[str, str]:
        asked = self.calls[call_id]
        return {
            id_field: call_id,
            "direction": "outgoing",
            "from": asked["from"],
            "to": asked["to"],
            "created": elks_now(),
        }

    def agent_answers(
        self,
        call_id: str,
        *,
        url: str | None = None,
        auth: tuple[str, str] | FromUrl | None = FROM_URL,
        id_field: str = "callid",
        extra: Mapping[str, str] | None = None,
    ) -> Hook:
        """The agent's phone (``to``) answered: 46elks loads ``voice_start`` for the first
        action, which it then follows (kept in ``actions``). Any answer but 200-204 with a
        JSON action ends the call."""
        target = url or self.calls[call_id]["voice_start"]
        assert is_url(target), "voice_start is an action, not an address: nothing to call"
        fields = {**self.call_fields(call_id, id_field), **(extra or {})}
        hook = self.call_back(target, fields, auth=auth)
        if 200 <= hook.status <= 204 and isinstance(json_or_none(hook.body), dict):
            with self.lock:
                self.actions[call_id] = hook.json()
        return hook

    def customer_busy(self, call_id: str, **kwargs: Any) -> Hook:
        """The connected number was busy: 46elks loads the connect action's ``busy``."""
        return self._next_action(call_id, "busy", **kwargs)

    def customer_no_answer(self, call_id: str, **kwargs: Any) -> Hook:
        """The connected number did not answer in ``timeout`` (or could not be reached):
        46elks loads the connect action's ``failed``."""
        return self._next_action(call_id, "failed", **kwargs)

    def _next_action(
        self,
        call_id: str,
        step: str,
        *,
        url: str | None = None,
        auth: tuple[str, str] | FromUrl | None = FROM_URL,
        extra: Mapping[str, str] | None = None,
    ) -> Hook:
        target = url or self.actions[call_id][step]
        assert is_url(target), f"{step} is an action, not an address: nothing to call"
        fields = {**self.call_fields(call_id), "result": "failed", **(extra or {})}
        hook = self.call_back(target, fields, auth=auth)
        if 200 <= hook.status <= 204 and isinstance(json_or_none(hook.body), dict):
            with self.lock:
                self.actions[call_id] = hook.json()
        return hook

    def recorded(
        self,
        call_id: str,
        *,
        wav: str | None = None,
        url: str | None = None,
        auth: tuple[str, str] | FromUrl | None = FROM_URL,
        extra: Mapping[str, str] | None = None,
    ) -> Hook:
        """The call's recording is ready: posted to the action's ``recordcall`` address."""
        target = url or self.actions[call_id]["recordcall"]
        asked = self.calls[call_id]
        fields = {
            "callid": call_id,
            "created": elks_now(),
            "duration": "42",
            "wav": wav or f"https://api.46elks.com/a1/recordings/r{secrets.token_hex(16)}.wav",
            "from": asked["from"],
            "to": asked["to"],
            **(extra or {}),
        }
        return self.call_back(target, fields, auth=auth)

    def hang_up(
        self,
        call_id: str,
        *,
        state: str = "success",
        duration: int = 0,
        url: str | None = None,
        auth: tuple[str, str] | FromUrl | None = FROM_URL,
        extra: Mapping[str, str] | None = None,
    ) -> Hook:
        """The call ended (``state`` ``success``, ``failed`` or ``busy``, the agent's side):
        posted to ``whenhangup``."""
        target = url or self.calls[call_id]["whenhangup"]
        fields = {
            **self.call_fields(call_id, "id"),
            "state": state,
            "start": elks_now(),
            "duration": str(duration),
            "cost": str(duration * 100),
            "actions": json.dumps(
                [a for a in [self.actions.get(call_id)] if a is not None] + [{"hangup": "end"}]
            ),
            **(extra or {}),
        }
        return self.call_back(target, fields, auth=auth)


def elks_now() -> str:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat()


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def json_or_none(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


@pytest.fixture
def elks() -> Iterator[FakeElks]:
    fake = FakeElks()
    fake.start()
    yield fake
    fake.stop()


# --- Twilio ---------------------------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, fields: Iterable[tuple[str, str]]) -> str:
    """``X-Twilio-Signature`` as Twilio documents it: the full URL, then each POST field's name
    and value, sorted by name, concatenated; HMAC-SHA1 keyed with the auth token; base64."""
    data = url
    for name, value in sorted(fields):
        data += name + value
    mac = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


class FakeTwilio(FakeProvider):
    """Twilio's 2010-04-01 REST API at ``{origin}/2010-04-01``: JSON answers, errors as
    ``{"code", "message", "more_info", "status"}``."""

    name = "twilio"

    def __init__(self) -> None:
        super().__init__()
        self.account_sid = "AC" + secrets.token_hex(16)
        self.auth_token = secrets.token_hex(16)
        self.number = "+4759440000"  # the account's Twilio number, where replies arrive
        self.invalid_numbers: set[str] = set()  # E.164 in form, yet no valid phone number
        self.children: dict[str, str] = {}  # a call's SID → its <Dial>'s child call's SID
        self.sequences: dict[str, int] = {}  # a call's SID → its last SequenceNumber

    @property
    def api_url(self) -> str:
        return f"{self.origin}/2010-04-01"

    @property
    def messages_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def sms_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/Messages.json")]

    @property
    def calls_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/Calls.json"

    def call_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/Calls.json")]

    def error(self, status: int, message: str, code: int | None = None) -> Reply:
        code = code or 20000 + status
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        headers = {"Content-Type": "application/json"}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        return Reply(status, headers, json.dumps(body).encode())

    def api(self, request: Request) -> Reply:
        if request.basic_auth != (self.account_sid, self.auth_token):
            return self.error(401, "Authenticate", 20003)
        if request.path == self.calls_path:
            return self.call_api(request)
        if request.path != self.messages_path:
            return self.error(404, f"The requested resource {request.path} was not found", 20404)
        form = request.form
        to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            return self.error(400, "A 'To' phone number is required.", 21604)
        if not sender:
            return self.error(400, "A 'From' phone number is required.", 21603)
        if not body:
            return self.error(400, "Message body is required.", 21602)
        if not E164.fullmatch(to) or to in self.invalid_numbers:
            return self.error(400, f"The 'To' number {to} is not a valid phone number.", 21211)
        sid = "SM" + secrets.token_hex(16)
        with self.lock:
            self.messages[sid] = dict(form)
        now = format_datetime(dt.datetime.now(dt.UTC), usegmt=True)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        answer = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": str(parts_of(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": to,
            "uri": uri,
        }
        return Reply(201, {"Content-Type": "application/json"}, json.dumps(answer).encode())

    def signed_post(
        self,
        url: str,
        fields: Mapping[str, str],
        *,
        token: str | None = None,
        signature: str | None = None,
        tamper: Mapping[str, str] | None = None,
    ) -> Hook:
        """POST ``fields`` to ``url`` signed as Twilio signs (with ``token``, by default the
        account's auth token); ``signature`` replaces the signature ("" sends none);
        ``tamper`` changes fields after signing, as a man in the middle would."""
        if signature is None:
            signature = twilio_signature(token or self.auth_token, url, fields.items())
        headers = {"X-Twilio-Signature": signature} if signature else {}
        headers["I-Twilio-Idempotency-Token"] = secrets.token_hex(16)
        return self.call_back(url, {**fields, **(tamper or {})}, headers=headers, auth=None)

    def report(
        self,
        sid: str,
        status: str,
        *,
        error_code: str = "",
        url: str | None = None,
        account_sid: str | None = None,
        token: str | None = None,
        signature: str | None = None,
        tamper: Mapping[str, str] | None = None,
    ) -> Hook:
        """A status callback (``sent``, ``delivered``, ``undelivered``, ``failed``) to the
        message's ``StatusCallback``, as Twilio makes it."""
        message = self.messages.get(sid, {})
        fields = {
            "AccountSid": account_sid or self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": message.get("From", ""),
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message.get("To", ""),
        }
        if error_code:
            fields["ErrorCode"] = error_code
        target = url or message["StatusCallback"]
        return self.signed_post(target, fields, token=token, signature=signature, tamper=tamper)

    def text_in(
        self,
        *,
        url: str,
        sender: str,
        body: str,
        sid: str | None = None,
        token: str | None = None,
        signature: str | None = None,
    ) -> Hook:
        """A customer's SMS to the account's number, posted to the number's messaging
        webhook; Twilio expects TwiML back."""
        sid = sid or "SM" + secrets.token_hex(16)
        fields = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "Body": body,
            "From": sender,
            "FromCountry": "NO",
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": self.number,
            "ToCountry": "NO",
        }
        return self.signed_post(url, fields, token=token, signature=signature)

    # --- calls ------------------------------------------------------------------------------

    def call_api(self, request: Request) -> Reply:
        """``POST .../Calls.json``: ring ``To`` from ``From``; when it answers, run the TwiML
        (``Twiml``, or what ``Url`` answers). Twilio parses ``Twiml`` when the call is made."""
        form = request.form
        to, sender = form.get("To", ""), form.get("From", "")
        if not to:
            return self.error(400, 'Required parameter "To" missing.', 21201)
        if not sender:
            return self.error(400, 'Required parameter "From" missing.', 21213)
        if not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
            return self.error(400, "Either Url, Twiml or ApplicationSid is required.", 21205)
        if not E164.fullmatch(to) or to in self.invalid_numbers:
            return self.error(400, f"Invalid 'To' Phone Number: {to}", 21211)
        if not E164.fullmatch(sender):
            return self.error(400, f"Invalid 'From' Phone Number: {sender}", 21212)
        if "Twiml" in form:
            try:
                root = ET.fromstring(form["Twiml"])
            except ET.ParseError as broken:
                return self.error(400, f"Document parse failure: {broken}", 12100)
            if root.tag != "Response":
                return self.error(400, "The root element must be Response.", 12100)
        for name in ("Url", "StatusCallback"):
            if name in form and not is_url(form[name]):
                return self.error(400, f"{name} is not a valid URL: {form[name]}", 21205)
        timeout = form.get("Timeout", "60")
        if not timeout.isdigit() or not 1 <= int(timeout) <= 600:
            return self.error(400, "Timeout must be between 1 and 600.", 21216)
        sid = "CA" + secrets.token_hex(16)
        with self.lock:
            self.children[sid] = "CA" + secrets.token_hex(16)
        self.placed(sid, form)
        now = format_datetime(dt.datetime.now(dt.UTC), usegmt=True)
        answer: dict[str, Any] = {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": "2010-04-01",
            "caller_name": None,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": sender,
            "from_formatted": sender,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "start_time": None,
            "status": "queued",
            "subresource_uris": {},
            "to": to,
            "to_formatted": to,
            "trunk_sid": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
            "queue_time": "0",
        }
        return Reply(201, {"Content-Type": "application/json"}, json.dumps(answer).encode())

    def twiml(self, sid: str) -> ET.Element:
        return ET.fromstring(self.calls[sid]["Twiml"])

    def dial(self, sid: str) -> ET.Element:
        dial = self.twiml(sid).find("Dial")
        assert dial is not None, "no <Dial> in the TwiML"
        return dial

    def dialled(self, sid: str) -> ET.Element:
        number = self.dial(sid).find("Number")
        assert number is not None, "no <Number> in the <Dial>"
        return number

    def customer_leg(
        self,
        sid: str,
        status: str,
        *,
        duration: int | None = None,
        url: str | None = None,
        extra: Mapping[str, str] | None = None,
        **signing: Any,
    ) -> Hook:
        """A status callback of the customer's call (the ``<Dial>``'s child call):
        ``ringing``, ``in-progress`` (answered), then ``completed``, ``busy``, ``no-answer``,
        ``failed`` or ``canceled``, to the ``<Number>``'s ``statusCallback``."""
        dial, number = self.dial(sid), self.dialled(sid)
        target = url or number.get("statusCallback") or ""
        events = (number.get("statusCallbackEvent") or "completed").split()
        event = {"in-progress": "answered", "initiated": "initiated", "ringing": "ringing"}
        assert url or event.get(status, "completed") in events, f"{status} was not asked for"
        customer = (number.text or "").strip()
        fields = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": self.children[sid],
            "ParentCallSid": sid,
            "CallStatus": status,
            "Direction": "outbound-dial",
            "From": dial.get("callerId", ""),
            "Caller": dial.get("callerId", ""),
            "To": customer,
            "Called": customer,
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self._sequence(sid)),
            "Timestamp": format_datetime(dt.datetime.now(dt.UTC), usegmt=True),
        }
        if status in ("completed", "busy", "no-answer", "failed", "canceled"):
            fields["CallDuration"] = str(duration or 0)
            fields["Duration"] = str(math.ceil((duration or 0) / 60))
        return self.signed_post(target, {**fields, **(extra or {})}, **signing)

    def agent_leg(
        self,
        sid: str,
        status: str = "completed",
        *,
        duration: int = 0,
        url: str | None = None,
        extra: Mapping[str, str] | None = None,
        **signing: Any,
    ) -> Hook:
        """The status callback of the call to the agent (the parent call) when it ends, to its
        ``StatusCallback`` (by default Twilio reports only ``completed`` and the failures)."""
        asked = self.calls[sid]
        target = url or asked["StatusCallback"]
        fields = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": sid,
            "CallStatus": status,
            "Direction": "outbound-api",
            "From": asked["From"],
            "Caller": asked["From"],
            "To": asked["To"],
            "Called": asked["To"],
            "CallDuration": str(duration),
            "Duration": str(math.ceil(duration / 60)),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self._sequence(sid)),
            "Timestamp": format_datetime(dt.datetime.now(dt.UTC), usegmt=True),
        }
        return self.signed_post(target, {**fields, **(extra or {})}, **signing)

    def recording(
        self,
        sid: str,
        *,
        status: str = "completed",
        recording_url: str | None = None,
        url: str | None = None,
        extra: Mapping[str, str] | None = None,
        **signing: Any,
    ) -> Hook:
        """The ``<Dial>``'s recording (of the parent call) is ready: to its
        ``recordingStatusCallback``."""
        target = url or self.dial(sid).get("recordingStatusCallback") or ""
        recording_sid = "RE" + secrets.token_hex(16)
        base = f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}/Recordings"
        fields = {
            "AccountSid": self.account_sid,
            "CallSid": sid,
            "RecordingSid": recording_sid,
            "RecordingUrl": recording_url or f"{base}/{recording_sid}",
            "RecordingStatus": status,
            "RecordingDuration": "42",
            "RecordingChannels": "1",
            "RecordingSource": "DialVerb",
            "RecordingStartTime": format_datetime(dt.datetime.now(dt.UTC), usegmt=True),
            "ErrorCode": "0",
        }
        return self.signed_post(target, {**fields, **(extra or {})}, **signing)

    def _sequence(self, sid: str) -> int:
        with self.lock:
            self.sequences[sid] = self.sequences.get(sid, -1) + 1
            return self.sequences[sid]


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    fake.start()
    yield fake
    fake.stop()


def closed_port_url() -> str:
    """``http://127.0.0.1:<port>`` of a port just released: a connection there is refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
