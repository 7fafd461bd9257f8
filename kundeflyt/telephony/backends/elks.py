"""46elks (https://46elks.com/docs): SMS over its REST API with basic auth. Its callbacks
carry no signature, so they go to an address with basic-auth credentials of our own in it,
as 46elks advises, and are refused without them."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest

from kundeflyt.telephony.backends.base import (
    Accepted,
    Backend,
    InboundSms,
    NotAuthentic,
    OutgoingSms,
    ProviderError,
    StatusReport,
    basic_auth_matches,
    form_value,
    post_form,
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
        if not isinstance(answer, dict) or not answer.get("id"):
            # Its words may hold the number and the text: they stay out of the error shown.
            raise ProviderError("unexpected answer: no message id in it", retry=False)
        return Accepted(str(answer["id"])[:64], STATUSES.get(answer.get("status", ""), "queued"))

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
