"""Twilio (https://www.twilio.com/docs): SMS over its REST API with the account SID and auth
token. Every callback is signed (``X-Twilio-Signature``): HMAC-SHA1 with the auth token over
the address Twilio called and the form's fields, sorted, each name followed by its value."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from kundeflyt.telephony.backends.base import (
    Accepted,
    Backend,
    InboundSms,
    NotAuthentic,
    OutgoingSms,
    ProviderError,
    StatusReport,
    form_value,
    post_form,
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
        if not isinstance(answer, dict) or not answer.get("sid"):
            # Its words may hold the number and the text: they stay out of the error shown.
            raise ProviderError("unexpected answer: no message id in it", retry=False)
        return Accepted(str(answer["sid"])[:64], STATUSES.get(answer.get("status", ""), "queued"))

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

    def inbound_answer(self) -> HttpResponse:
        return HttpResponse(
            b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
            content_type="text/xml",
        )
