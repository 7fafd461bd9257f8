"""The console provider: nothing leaves the server. Messages land in the outbox page,
delivered at once, and a customer's reply can be written there by hand (the demo)."""

from __future__ import annotations

from django.http import HttpRequest

from kundeflyt.telephony.backends.base import (
    Accepted,
    Backend,
    InboundSms,
    NotAuthentic,
    OutgoingSms,
    StatusReport,
)


class ConsoleBackend(Backend):
    name = "console"

    def send_sms(self, sms: OutgoingSms) -> Accepted:
        return Accepted(provider_id=f"console-{sms.key}", status="delivered")

    def check_authentic(self, request: HttpRequest) -> None:
        raise NotAuthentic("the console provider makes no callbacks")

    def sms_status(self, request: HttpRequest) -> StatusReport:
        raise NotAuthentic("the console provider makes no callbacks")

    def sms_inbound(self, request: HttpRequest) -> InboundSms:
        raise NotAuthentic("the console provider makes no callbacks")
