"""The console provider: nothing leaves the server. Messages land in the outbox page,
delivered at once, and a customer's reply can be written there by hand (the demo). A call
rings at once; the agent plays the customer's side with the screen's console buttons
(answered, no answer, busy, hang up), which report through the same path as a provider."""

from __future__ import annotations

from django.http import HttpRequest

from kundeflyt.telephony.backends.base import (
    Accepted,
    Backend,
    CallReport,
    InboundSms,
    NotAuthentic,
    OutgoingCall,
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

    def start_call(self, call: OutgoingCall) -> Accepted:
        return Accepted(provider_id=f"console-{call.key}", status="ringing")

    def call_report(self, request: HttpRequest) -> CallReport:
        raise NotAuthentic("the console provider makes no callbacks")
