"""46elks (https://46elks.com/docs): SMS and calls over its REST API with basic auth. Its
callbacks carry no signature, so they go to an address with basic-auth credentials of our own
in it, as 46elks advises, and are refused without them.

A click-to-call rings the agent (``to``); when the agent answers, 46elks asks our
``voice_start`` address for the first action, and we answer "connect the customer", with
next actions for busy and failed. ``whenhangup`` tells the end, with the call's state and
length. 46elks reports no moment the customer answers: the screen goes from ringing to
ended, with the talk time."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from kundeflyt.telephony.backends.base import (
    Accepted,
    Backend,
    CallReport,
    InboundCall,
    InboundSms,
    NotAuthentic,
    OutgoingCall,
    OutgoingSms,
    StatusReport,
    answered_id,
    basic_auth_matches,
    form_value,
    post_form,
    seconds,
)

CALLBACK_USER = "kundeflyt"
STATUSES = {"created": "queued", "sent": "sent", "delivered": "delivered", "failed": "failed"}


class ElksBackend(Backend):
    name = "46elks"

    def callback_url(self, kind: str) -> str:
        url = super().callback_url(kind)
        if not url:
            return ""
        parts = urlsplit(url)
        netloc = f"{CALLBACK_USER}:{self.account.callback_secret}@{parts.netloc}"
        return urlunsplit(parts._replace(netloc=netloc))

    def send_sms(self, sms: OutgoingSms) -> Accepted:
        fields = {"from": sms.sender, "to": sms.to, "message": sms.text}
        if sms.status_url:
            fields["whendelivered"] = sms.status_url
        _status, answer = post_form(
            f"{settings.TELEPHONY_API_URLS['46elks']}/sms",
            fields,
            auth=(self.account.username, self.secret),
        )
        sms_id = answered_id(answer, "id", "message id")
        return Accepted(sms_id, STATUSES.get(answer.get("status", ""), "queued"))

    def check_authentic(self, request: HttpRequest) -> None:
        if not basic_auth_matches(request, CALLBACK_USER, self.account.callback_secret):
            raise NotAuthentic("no or wrong basic-auth credentials")

    def sms_status(self, request: HttpRequest) -> StatusReport:
        status = STATUSES.get(form_value(request, "status", 20))
        if status is None:
            raise ValueError("unknown status")
        return StatusReport(form_value(request, "id", 64), status)

    def sms_inbound(self, request: HttpRequest) -> InboundSms:
        return InboundSms(
            provider_id=form_value(request, "id", 64),
            sender=form_value(request, "from", 40),
            to=form_value(request, "to", 40),
            text=form_value(request, "message"),
        )

    def start_call(self, call: OutgoingCall) -> Accepted:
        fields = {"from": call.caller, "to": call.agent_phone, "timeout": "30"}
        if call.progress_url:
            fields["voice_start"] = _event(call.progress_url, "connect")
            fields["whenhangup"] = _event(call.progress_url, "hangup")
        else:  # no callbacks: connect at once, and learn nothing of how it went
            fields["voice_start"] = json.dumps(
                {"connect": call.customer_phone, "callerid": call.caller}
            )
        _status, answer = post_form(
            f"{settings.TELEPHONY_API_URLS['46elks']}/calls",
            fields,
            auth=(self.account.username, self.secret),
        )
        return Accepted(answered_id(answer, "id", "call id"), "ringing")

    def call_report(self, request: HttpRequest) -> CallReport:
        call_id = form_value(request, "callid", 64) or form_value(request, "id", 64)
        match request.GET.get("event", ""):
            case "connect":  # the agent answered: the customer's phone rings now
                return CallReport(call_id, "ringing")
            # The customer never answered: no talk time, whatever the agent's leg lasts (its
            # hangup report comes later with that length).
            case "busy":
                return CallReport(call_id, "ended", result="busy", duration=0)
            case "failed":
                return CallReport(call_id, "ended", result="no_answer", duration=0)
            case "hangup":
                duration = seconds(form_value(request, "duration", 12))
                talked = form_value(request, "state", 20) == "success" and bool(duration)
                return CallReport(
                    call_id,
                    "ended",
                    result="answered" if talked else "failed",
                    duration=duration if talked else 0,
                )
            case "recording":
                return CallReport(call_id, "", recording_url=form_value(request, "wav", 500))
        raise ValueError("unknown call event")

    def call_answer(self, request: HttpRequest, call: Any) -> HttpResponse:
        """The next action 46elks asks for: connect the customer once the agent answered,
        with the recording asked for; hang up after busy or failed."""
        event = request.GET.get("event", "")
        if event == "connect" and call is not None and call.is_over:
            return JsonResponse({"hangup": "reject"})  # ended meanwhile: connect no one
        if event == "connect" and call is not None:
            base = self.callback_url("call")
            return JsonResponse(
                {
                    "connect": call.customer_phone,
                    "callerid": call.caller,
                    "timeout": 30,
                    "recordcall": _event(f"{base}?call={call.key}", "recording"),
                    "busy": _event(f"{base}?call={call.key}", "busy"),
                    "failed": _event(f"{base}?call={call.key}", "failed"),
                }
            )
        if event in ("busy", "failed"):
            return JsonResponse({"hangup": "busy" if event == "busy" else "reject"})
        return HttpResponse(b"", content_type="text/plain")

    def call_inbound(self, request: HttpRequest) -> InboundCall:
        return InboundCall(
            provider_id=form_value(request, "callid", 64) or form_value(request, "id", 64),
            caller=form_value(request, "from", 40),
            to=form_value(request, "to", 40),
        )

    def call_inbound_answer(self, forward_to: str) -> HttpResponse:
        if forward_to:
            return JsonResponse({"connect": forward_to})
        return JsonResponse({"hangup": "busy"})


def _event(url: str, event: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}event={event}"
