"""Twilio (https://www.twilio.com/docs): SMS and calls over its REST API with the account SID
and auth token. Every callback is signed (``X-Twilio-Signature``): HMAC-SHA1 with the auth
token over the address Twilio called and the form's fields, sorted, each name followed by its
value.

A click-to-call rings the agent's phone (the parent call) with TwiML that dials the customer
(the child call, with the campaign's number as caller id, recorded from the answer). The
child's status callbacks tell ringing, answered and how it ended; the parent's end tells
that the agent's phone never answered; the recording's callback brings its address."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from django.conf import settings
from django.http import HttpRequest, HttpResponse

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
    form_value,
    post_form,
    seconds,
)

STATUSES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


# The customer's call (the child) as Twilio tells it, and how each state reads here.
CHILD = {
    "queued": ("ringing", ""),
    "initiated": ("ringing", ""),
    "ringing": ("ringing", ""),
    "in-progress": ("answered", ""),
    "answered": ("answered", ""),
    "completed": ("ended", "answered"),
    "busy": ("ended", "busy"),
    "no-answer": ("ended", "no_answer"),
    "failed": ("ended", "failed"),
    "canceled": ("ended", "failed"),
}


def signature(auth_token: str, url: str, fields: list[tuple[str, str]]) -> str:
    payload = url + "".join(name + value for name, value in sorted(fields))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class TwilioBackend(Backend):
    name = "twilio"

    def send_sms(self, sms: OutgoingSms) -> Accepted:
        fields = {"From": sms.sender, "To": sms.to, "Body": sms.text}
        if sms.status_url:
            fields["StatusCallback"] = sms.status_url
        sid = quote(self.account.username, safe="")
        _status, answer = post_form(
            f"{settings.TELEPHONY_API_URLS['twilio']}/Accounts/{sid}/Messages.json",
            fields,
            auth=(self.account.username, self.secret),
        )
        sid = answered_id(answer, "sid", "message id")
        return Accepted(sid, STATUSES.get(answer.get("status", ""), "queued"))

    def check_authentic(self, request: HttpRequest) -> None:
        given = request.headers.get("X-Twilio-Signature", "")
        url = f"{settings.PUBLIC_BASE_URL}{request.get_full_path()}"
        fields = [(k, v) for k in request.POST for v in request.POST.getlist(k)]
        expected = signature(self.secret, url, fields)
        if not given or not self.secret or not hmac.compare_digest(given, expected):
            raise NotAuthentic("no or wrong X-Twilio-Signature")
        if request.POST.get("AccountSid", "") != self.account.username:
            raise NotAuthentic("another account's callback")

    def sms_status(self, request: HttpRequest) -> StatusReport:
        status = STATUSES.get(form_value(request, "MessageStatus", 20))
        if status is None:
            raise ValueError("unknown status")
        code = form_value(request, "ErrorCode", 10)
        return StatusReport(
            form_value(request, "MessageSid", 64), status, f"Twilio {code}" if code else ""
        )

    def sms_inbound(self, request: HttpRequest) -> InboundSms:
        return InboundSms(
            provider_id=form_value(request, "MessageSid", 64),
            sender=form_value(request, "From", 40),
            to=form_value(request, "To", 40),
            text=form_value(request, "Body"),
        )

    def call_inbound(self, request: HttpRequest) -> InboundCall:
        return InboundCall(
            provider_id=form_value(request, "CallSid", 64),
            caller=form_value(request, "From", 40),
            to=form_value(request, "To", 40),
        )

    def call_inbound_answer(self, forward_to: str) -> HttpResponse:
        verb = f"<Dial>{escape(forward_to)}</Dial>" if forward_to else '<Reject reason="busy"/>'
        return HttpResponse(
            f'<?xml version="1.0" encoding="UTF-8"?><Response>{verb}</Response>'.encode(),
            content_type="text/xml",
        )

    def inbound_answer(self) -> HttpResponse:
        return HttpResponse(
            b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
            content_type="text/xml",
        )

    def start_call(self, call: OutgoingCall) -> Accepted:
        fields = {"From": call.caller, "To": call.agent_phone, "Timeout": "30"}
        number = escape(call.customer_phone)
        dial = f'callerId={quoteattr(call.caller)} timeout="30"'
        if call.progress_url:
            customer = quoteattr(f"{call.progress_url}&leg=customer")
            recording = quoteattr(f"{call.progress_url}&leg=recording")
            number = (
                f'<Number statusCallbackEvent="ringing answered completed" '
                f"statusCallback={customer}>{number}</Number>"
            )
            dial += f' record="record-from-answer" recordingStatusCallback={recording}'
            fields["StatusCallback"] = f"{call.progress_url}&leg=agent"
        fields["Twiml"] = f"<Response><Dial {dial}>{number}</Dial></Response>"
        sid = quote(self.account.username, safe="")
        _status, answer = post_form(
            f"{settings.TELEPHONY_API_URLS['twilio']}/Accounts/{sid}/Calls.json",
            fields,
            auth=(self.account.username, self.secret),
        )
        return Accepted(answered_id(answer, "sid", "call sid"), "ringing")

    def call_report(self, request: HttpRequest) -> CallReport:
        leg = request.GET.get("leg", "")
        if leg == "recording":
            if form_value(request, "RecordingStatus", 20) != "completed":
                return CallReport(form_value(request, "CallSid", 64), "")
            return CallReport(
                form_value(request, "CallSid", 64),
                "",
                recording_url=form_value(request, "RecordingUrl", 500),
            )
        status = form_value(request, "CallStatus", 20)
        if leg == "customer" and status in CHILD:
            ours, result = CHILD[status]
            duration = seconds(form_value(request, "CallDuration", 12)) if ours == "ended" else None
            return CallReport(
                form_value(request, "ParentCallSid", 64), ours, result=result, duration=duration
            )
        if leg == "agent" and status in CHILD:
            ours, _result = CHILD[status]
            # The parent's end: if the customer's call never reported one, the agent's phone
            # did not answer (or the call failed before the customer was dialled).
            return CallReport(
                form_value(request, "CallSid", 64),
                "ended" if ours == "ended" else "",
                "failed",
                fallback=True,
            )
        raise ValueError("unknown call event")
